"""Writing the full-text index: one row per resource, in the caller's transaction.

The application normalises every field with `normalise_text` before either database sees
it, so SQLite's FTS5 and PostgreSQL's tsvector hold the same words. A created or changed
resource is refreshed (`index_resource`) and a renamed member's resources rewritten
(`reindex_authored_by`), as consequences of their events (`exchange.consequences`); the
extraction job calls `store_extraction`. The index row is then committed with the change
it describes (`exchange search reindex` rewrites rows in bulk, see `exchange.search.rebuild`).
Deleting a resource needs no call: its search document goes with it (a foreign-key
cascade, and on SQLite a trigger that drops the FTS5 row).
"""

from __future__ import annotations

import typing
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange.i18n import LazyText, _, lazy_gettext
from exchange.kernel.text import normalise_text
from exchange.models import Member, Resource, ResourceAuthor, SearchDocument, SearchText
from exchange.search.schemas import ExtractionState, TextExtraction
from exchange.text.extraction import Extraction

if typing.TYPE_CHECKING:
    from exchange.events import MemberRenamed, ResourceCreated, ResourceUpdated
    from exchange.unit_of_work import UnitOfWork

PENDING: ExtractionState = "pending"

# Resources refreshed per query round (an IN list of this many ids).
REFRESH_BATCH = 500

# PostgreSQL refuses a tsvector whose distinct words take more than 1 MiB together
# ("string is too long for tsvector"); stay well below it.
_TSVECTOR_WORD_BYTES = 900_000


@dataclass(frozen=True)
class IndexedText:
    """The three weighted parts of a resource's index row, normalised."""

    title: str
    meta: str
    body: str


def indexed_text(
    *,
    title: str,
    subject: str | None,
    description: str | None,
    author_names: Iterable[str],
    body: str,
) -> IndexedText:
    """Title (ranked highest), then subject, authors and description, then the body."""
    meta = " ".join(
        part for part in (subject or "", *author_names, description or "") if part.strip()
    )
    return IndexedText(
        title=normalise_text(title), meta=normalise_text(meta), body=normalise_text(body)
    )


def within_tsvector_limit(normalised: str, budget: int = _TSVECTOR_WORD_BYTES) -> str:
    """`normalised` cut where its distinct words reach `budget` bytes.

    Only a document of hundreds of pages gets there; what follows the cut stays
    searchable on SQLite and is left out on PostgreSQL.
    """
    if len(normalised) <= budget // 4:  # at most 4 bytes a character: cannot exceed it
        return normalised
    seen: set[str] = set()
    used = 0
    position = 0
    for word in normalised.split(" "):
        if word not in seen:
            seen.add(word)
            used += len(word.encode("utf-8"))
            if used > budget:
                return normalised[: max(0, position - 1)]
        position += len(word) + 1
    return normalised


def stored_body(text: str) -> str:
    """Extracted text as kept for snippets: composed (NFC), so a letter and its accent
    typed as two characters are found as one."""
    return unicodedata.normalize("NFC", text)


# Built once, columns only: a resource's page and metadata read it on every request.
_EXTRACTION_OF = select(
    SearchDocument.extraction_status,
    SearchDocument.extraction_reason,
    SearchDocument.extracted_version,
    SearchDocument.text_truncated,
).where(SearchDocument.resource_id == bindparam("resource_id"))


def text_extraction_in(db: Session, resource_id: UUID) -> TextExtraction:
    """How far the text of the resource's current file is searchable, for its page."""
    document = db.execute(_EXTRACTION_OF, {"resource_id": resource_id}).first()
    return extraction_of(*document) if document is not None else extraction_of(None)


def extraction_of(
    status: str | None,
    reason: str | None = None,
    version: int | None = None,
    truncated: bool = False,
) -> TextExtraction:
    """`TextExtraction` from a search document's columns (`status` None: no document)."""
    if status is None:
        return TextExtraction(status=PENDING, label=str(EXTRACTION_LABELS[PENDING]))
    state = typing.cast(ExtractionState, status)
    return TextExtraction(
        status=state,
        # The reason is stored in English (`extraction.Reasons`) and shown translated.
        reason=_(reason) if reason else None,
        version=version,
        truncated=truncated,
        label=str(EXTRACTION_LABELS.get(state, state)),
    )


# What each extraction state means to a teacher looking at the resource.
EXTRACTION_LABELS: dict[str, LazyText] = {
    "pending": lazy_gettext("The text inside the file is being read for search."),
    "done": lazy_gettext("The text inside the file can be searched."),
    "no_text": lazy_gettext("The file has no text that can be searched."),
    "unsupported": lazy_gettext(
        "The text inside this kind of file is not read for search; its title and "
        "description can be searched."
    ),
    "failed": lazy_gettext(
        "The text inside the file could not be read; its title and description can be searched."
    ),
}


class SearchIndex:
    """Keeps the index rows of resources in step with them, inside the session's
    transaction (the caller commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def document(self, resource_id: UUID) -> SearchDocument:
        """The resource's search document, created (pending, no text yet) if missing."""
        document = await self.session.scalar(
            select(SearchDocument).where(SearchDocument.resource_id == resource_id)
        )
        if document is None:
            document = SearchDocument(resource_id=resource_id)
            self.session.add(document)
            await self.session.flush()
        return document

    async def refresh(self, resource_id: UUID) -> None:
        """Rewrites the resource's index row from its current metadata, authors and
        extracted text. Call it after any change to them, before committing."""
        await self.refresh_many([resource_id])

    async def refresh_many(self, resource_ids: Sequence[UUID]) -> int:
        """`refresh` for several resources at once, reading them in a few queries (the
        ids are not checked for access: callers pass resources they may change). Returns
        how many of them exist."""
        await self.session.flush()
        if not resource_ids:
            return 0
        resources = (
            await self.session.execute(
                select(
                    Resource.id,
                    Resource.title,
                    Resource.subject,
                    Resource.description,
                    Resource.co_authors,
                ).where(Resource.id.in_(resource_ids))
            )
        ).all()
        if not resources:
            return 0
        ids = [resource.id for resource in resources]
        documents = await self._documents(ids)
        names = await self._author_names({r.id: r.co_authors for r in resources})
        for resource in resources:
            documents[resource.id].authors_text = normalise_text(" ".join(names[resource.id]))
        await self.session.flush()
        # In the order of the documents' ids, the order the flush above updated (and
        # locked) them in: writers of several rows all lock them in that order, so none
        # waits on another in a circle.
        for resource in sorted(resources, key=lambda r: documents[r.id].id):
            document = documents[resource.id]
            # One text at a time: an extracted text can run to megabytes.
            body = await self.session.scalar(
                select(SearchText.body).where(SearchText.document_id == document.id)
            )
            await self._write(
                document.id,
                indexed_text(
                    title=resource.title,
                    subject=resource.subject,
                    description=resource.description,
                    author_names=names[resource.id],
                    body=body or "",
                ),
            )
        return len(resources)

    async def refresh_authored_by(self, member_id: UUID) -> int:
        """Rewrites the index rows of every resource the member is an author of (their
        name is indexed with them). Returns how many there were."""
        authored = list(
            await self.session.scalars(
                select(ResourceAuthor.resource_id)
                .outerjoin(SearchDocument, SearchDocument.resource_id == ResourceAuthor.resource_id)
                .where(ResourceAuthor.member_id == member_id)
                .order_by(SearchDocument.id)  # the order they are written (and locked) in
            )
        )
        for start in range(0, len(authored), REFRESH_BATCH):
            await self.refresh_many(authored[start : start + REFRESH_BATCH])
        return len(authored)

    async def mark_pending(self, resource_id: UUID) -> None:
        """A new version arrived: its text is on its way. The previous version's text
        stays searchable until the new one replaces it."""
        document = await self.document(resource_id)
        document.extraction_status = PENDING
        document.extraction_reason = None
        await self.session.flush()

    async def store_extraction(
        self, resource_id: UUID, version_number: int, extraction: Extraction, now: datetime
    ) -> None:
        """Keeps what extraction found for this version and reindexes the resource."""
        document = await self.document(resource_id)
        document.extraction_status = extraction.status
        document.extraction_reason = extraction.reason
        document.extracted_version = version_number
        document.extracted_at = now
        document.text_truncated = extraction.truncated
        text = await self.session.scalar(
            select(SearchText).where(SearchText.document_id == document.id)
        )
        if text is None:
            self.session.add(SearchText(document_id=document.id, body=stored_body(extraction.text)))
        else:
            text.body = stored_body(extraction.text)
        await self.refresh(resource_id)

    async def _documents(self, resource_ids: Sequence[UUID]) -> dict[UUID, SearchDocument]:
        """The search documents of these resources, creating the missing ones."""
        documents = {
            document.resource_id: document
            for document in await self.session.scalars(
                select(SearchDocument).where(SearchDocument.resource_id.in_(resource_ids))
            )
        }
        missing = [SearchDocument(resource_id=rid) for rid in resource_ids if rid not in documents]
        if missing:
            self.session.add_all(missing)
            await self.session.flush()
            documents.update((document.resource_id, document) for document in missing)
        return documents

    async def _author_names(
        self, co_authors: Mapping[UUID, Sequence[str] | None]
    ) -> dict[UUID, list[str]]:
        """Each resource's member authors (in the order they were added), then its
        free-text co-authors."""
        names: dict[UUID, list[str]] = {resource_id: [] for resource_id in co_authors}
        for resource_id, full_name in await self.session.execute(
            select(ResourceAuthor.resource_id, Member.full_name)
            .join(Member, Member.id == ResourceAuthor.member_id)
            .where(ResourceAuthor.resource_id.in_(list(names)))
            .order_by(ResourceAuthor.resource_id, ResourceAuthor.created_at, Member.full_name)
        ):
            names[resource_id].append(full_name)
        for resource_id, free_text in co_authors.items():
            names[resource_id].extend(name for name in free_text or () if name)
        return names

    async def _write(self, row_id: int, indexed: IndexedText) -> None:
        if self._dialect == "postgresql":
            await self.session.execute(
                text(
                    "UPDATE search_documents SET "
                    "head_vector = setweight(to_tsvector('simple', :title), 'A') "
                    "|| setweight(to_tsvector('simple', :meta), 'B'), "
                    "search_vector = setweight(to_tsvector('simple', :title), 'A') "
                    "|| setweight(to_tsvector('simple', :meta), 'B') "
                    "|| setweight(to_tsvector('simple', :body), 'C'), "
                    "owner_school_id = (SELECT owner_school_id FROM resources "
                    "WHERE resources.id = search_documents.resource_id) "
                    "WHERE id = :id"
                ),
                {
                    "id": row_id,
                    "title": indexed.title,
                    "meta": indexed.meta,
                    "body": within_tsvector_limit(indexed.body),
                },
            )
            return
        await self.session.execute(
            text("DELETE FROM search_index WHERE rowid = :id"), {"id": row_id}
        )
        await self.session.execute(
            text(
                "INSERT INTO search_index (rowid, title, meta, body) "
                "VALUES (:id, :title, :meta, :body)"
            ),
            {"id": row_id, "title": indexed.title, "meta": indexed.meta, "body": indexed.body},
        )


async def index_resource(uow: UnitOfWork, event: ResourceCreated | ResourceUpdated) -> None:
    """A new or changed resource's index row, committed with the change."""
    await SearchIndex(uow.session).refresh(event.resource.id)


async def reindex_authored_by(uow: UnitOfWork, event: MemberRenamed) -> None:
    """Authors' names are indexed with their resources: a search by the new name finds
    them, by the old one no longer, from the rename's commit on."""
    await SearchIndex(uow.session).refresh_authored_by(event.member.id)
