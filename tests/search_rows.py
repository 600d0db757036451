"""Resources and partnerships written straight into the database, for search tests.

The index is written the way services write it (`SearchIndex.refresh`, and
`store_extraction` with the outcome of real text extraction from a generated file), so
what the tests search is what production indexes.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import magic

from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.models import Partnership, Resource, ResourceAuthor, ResourceShare, ResourceVersion
from exchange.search.index import SearchIndex
from exchange.text.extraction import Extraction, extract_text
from tests.clock import ManualClock

_numbers = itertools.count(1)


class Shelf:
    """Puts resources of any school on the exchange, and partnerships between schools."""

    def __init__(self, settings: Settings, clock: ManualClock) -> None:
        self.settings = settings
        self.clock = clock

    async def add(
        self,
        school_id: UUID,
        *,
        title: str,
        author_id: UUID | None = None,
        body: str | None = None,
        file: Path | None = None,
        kind: str = "lesson_plan",
        subject: str | None = None,
        grades: Sequence[int] = (),
        language: str | None = None,
        licence: str = "all_rights_reserved",
        visibility: str = "partners",
        shared_with: Sequence[UUID] = (),
        description: str = "",
        co_authors: Sequence[str] = (),
        extraction: Extraction | None = None,
    ) -> UUID:
        """A resource with one version. Its text is `body`, or what extraction finds in
        `file`, or `extraction` as given; the clock moves a second past it, so resources
        added one after another are created in that order."""
        if file is not None:
            media_type = magic.from_file(str(file), mime=True)
            extraction = extract_text(file, media_type)
            assert extraction.status == "done", extraction
        else:
            media_type = "text/plain"
            if body is not None:
                extraction = Extraction("done", body, False, None)
        engine = create_engine(self.settings)
        try:
            async with create_session_factory(
                engine, consequences=build_consequences()
            )() as session:
                now = self.clock.now()
                resource = Resource(
                    owner_school_id=school_id,
                    created_by_id=author_id,
                    kind=kind,
                    title=title,
                    description=description,
                    subject=subject,
                    grades=list(grades),
                    language=language,
                    licence=licence,
                    visibility=visibility,
                    co_authors=list(co_authors),
                    current_version_number=1,
                    created_at=now,
                    updated_at=now,
                )
                session.add(resource)
                await session.flush()
                number = next(_numbers)
                session.add(
                    ResourceVersion(
                        resource_id=resource.id,
                        number=1,
                        blob_key=f"{number:02x}/00/{uuid.uuid4().hex}",
                        original_name=file.name if file is not None else "notes.txt",
                        media_type=media_type,
                        size=file.stat().st_size if file is not None else len(body or ""),
                        sha256="0" * 64,
                        uploaded_by_id=author_id,
                    )
                )
                if author_id is not None:
                    session.add(ResourceAuthor(resource_id=resource.id, member_id=author_id))
                for partner in shared_with:
                    session.add(ResourceShare(resource_id=resource.id, school_id=partner))
                index = SearchIndex(session)
                await index.refresh(resource.id)
                if extraction is not None:
                    await index.store_extraction(resource.id, 1, extraction, now)
                await session.commit()
                resource_id = resource.id
        finally:
            await engine.dispose()
        self.clock.advance(timedelta(seconds=1))
        return resource_id

    async def partnership(self, school_a: UUID, school_b: UUID, *, status: str = "active") -> UUID:
        engine = create_engine(self.settings)
        try:
            async with create_session_factory(
                engine, consequences=build_consequences()
            )() as session:
                partnership = Partnership(
                    inviting_school_id=school_a,
                    invited_school_id=school_b,
                    status=status,
                    open_pair=":".join(sorted((str(school_a), str(school_b))))
                    if status in {"invited", "active"}
                    else None,
                    language="ky",
                    inviter_conduct_version=1,
                    invited_at=self.clock.now(),
                )
                session.add(partnership)
                await session.commit()
                return partnership.id
        finally:
            await engine.dispose()

    async def set_partnership_status(self, partnership_id: UUID, status: str) -> None:
        """The partnership's status changed as by its schools (ended, suspended, ...)."""
        engine = create_engine(self.settings)
        try:
            async with create_session_factory(engine)() as session:
                partnership = await session.get_one(Partnership, partnership_id)
                partnership.status = status
                if status not in {"invited", "active"}:
                    partnership.open_pair = None
                await session.commit()
        finally:
            await engine.dispose()
