"""`exchange search reindex`: rebuilding index rows from what the database holds now.

The services keep the index in step as they change resources; this repairs it when that
could not happen (a restored backup, an index row edited by hand, a change of
`normalise_text`) and re-queues text extraction that failed or never ran. Resources are
walked by id in batches, each batch rewritten and committed on its own, so a hundred
thousand resources need neither much memory nor one long transaction, and a run that
stops half way is simply run again: rewriting a row from the same data gives the same row.

The text already extracted is reused: files are not read again unless `extract` asks
for their extraction to be queued.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.errors import NotFound
from exchange.i18n import _
from exchange.models import Job, Resource, School, SearchDocument
from exchange.search.index import SearchIndex
from exchange.text.extraction_job import (
    EXTRACT_TEXT,
    extraction_dedupe_key,
    queue_text_extraction,
)

DEFAULT_BATCH = 200

SessionFactory = Callable[[], Any]


@dataclass
class ReindexReport:
    reindexed: int = 0
    batches: int = 0
    # Index rows (SQLite) of search documents that no longer exist; a full run only.
    stale_rows_removed: int = 0
    # Current versions whose text extraction failed or never finished, no job waiting.
    text_missing: int = 0
    # Of those, queued again (with `extract`).
    extraction_queued: int = 0
    # Current versions whose extraction job is queued or running already.
    extraction_waiting: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "reindexed": self.reindexed,
            "batches": self.batches,
            "stale_rows_removed": self.stale_rows_removed,
            "text_missing": self.text_missing,
            "extraction_queued": self.extraction_queued,
            "extraction_waiting": self.extraction_waiting,
        }


async def reindex(
    sessions: SessionFactory,
    clock: Clock,
    *,
    school_id: UUID | None = None,
    resource_id: UUID | None = None,
    extract: bool = False,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[ReindexReport], None] | None = None,
) -> ReindexReport:
    """Rewrites the index rows of every resource (or one school's, or one), a batch
    per transaction; with `extract`, queues text extraction for current versions whose
    extraction failed or is missing."""
    report = ReindexReport()
    session: AsyncSession
    async with sessions() as session:
        await _check_exists(session, school_id, resource_id)
    after: UUID | None = None
    while True:
        async with sessions() as session:
            await _lock_for_writing(session)
            query = select(Resource.id).order_by(Resource.id).limit(batch_size)
            if after is not None:
                query = query.where(Resource.id > after)
            if school_id is not None:
                query = query.where(Resource.owner_school_id == school_id)
            if resource_id is not None:
                query = query.where(Resource.id == resource_id)
            ids = list(await session.scalars(query))
            if not ids:
                await session.rollback()
                break
            await _lock_documents(session, ids)
            report.reindexed += await SearchIndex(session).refresh_many(ids)
            await _requeue_extraction(session, clock, ids, extract, report)
            await session.commit()
        report.batches += 1
        after = ids[-1]
        if on_batch is not None:
            on_batch(report)
        if len(ids) < batch_size:
            break
    if school_id is None and resource_id is None:
        async with sessions() as session:
            report.stale_rows_removed = await _remove_stale_rows(session)
            await session.commit()
    return report


async def _check_exists(
    session: AsyncSession, school_id: UUID | None, resource_id: UUID | None
) -> None:
    if school_id is not None and await session.get(School, school_id) is None:
        raise NotFound(_("There is no school {school_id}.", school_id=school_id))
    if resource_id is not None:
        owner = await session.scalar(
            select(Resource.owner_school_id).where(Resource.id == resource_id)
        )
        if owner is None:
            raise NotFound(_("There is no resource {resource_id}.", resource_id=resource_id))
        if school_id is not None and owner != school_id:
            raise NotFound(
                _(
                    "Resource {resource_id} does not belong to school {school_id}.",
                    resource_id=resource_id,
                    school_id=school_id,
                )
            )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def _lock_for_writing(session: AsyncSession) -> None:
    """On SQLite, take the write lock before reading anything, so that no change
    committed by the app between this batch's reads and its writes is overwritten with
    what was read before it (the driver would otherwise begin the transaction at the
    first write). The statement changes nothing."""
    if _dialect(session) == "sqlite":
        await session.execute(
            update(SearchDocument)
            .where(SearchDocument.id < 0)
            .values(id=SearchDocument.id)
            .execution_options(synchronize_session=False)
        )


async def _lock_documents(session: AsyncSession, resource_ids: list[UUID]) -> None:
    """On PostgreSQL, lock the batch's search documents before reading the resources:
    a change the app is committing meanwhile either finishes first (and is read here)
    or waits for this batch and then writes its own row."""
    if _dialect(session) == "postgresql":
        await session.execute(
            select(SearchDocument.id)
            .where(SearchDocument.resource_id.in_(resource_ids))
            .order_by(SearchDocument.id)  # the order `refresh_many` writes them in
            .with_for_update()
        )


async def _requeue_extraction(
    session: AsyncSession,
    clock: Clock,
    resource_ids: list[UUID],
    extract: bool,
    report: ReindexReport,
) -> None:
    """Counts (and with `extract` queues) current versions whose text is not there:
    extraction failed, never ran, or its job gave up while the resource waited."""
    rows = (
        await session.execute(
            select(Resource.id, Resource.current_version_number)
            .outerjoin(SearchDocument, SearchDocument.resource_id == Resource.id)
            .where(
                Resource.id.in_(resource_ids),
                Resource.current_version_number > 0,
                or_(
                    SearchDocument.id.is_(None),
                    SearchDocument.extraction_status.in_(("failed", "pending")),
                    SearchDocument.extracted_version.is_(None),
                    SearchDocument.extracted_version != Resource.current_version_number,
                ),
            )
        )
    ).all()
    if not rows:
        return
    keys = {extraction_dedupe_key(rid, number): (rid, number) for rid, number in rows}
    waiting = set(
        await session.scalars(
            select(Job.dedupe_key).where(
                and_(Job.kind == EXTRACT_TEXT, Job.dedupe_key.in_(list(keys)))
            )
        )
    )
    report.extraction_waiting += len(waiting)
    for key, (rid, number) in keys.items():
        if key in waiting:
            continue
        report.text_missing += 1
        if extract and await queue_text_extraction(session, clock, rid, number):
            report.extraction_queued += 1


async def _remove_stale_rows(session: AsyncSession) -> int:
    """SQLite's FTS5 rows whose search document is gone (a trigger removes them with
    it, so only a database changed behind the exchange's back has any). PostgreSQL keeps
    its vectors in the documents' own rows: nothing can be left over."""
    if _dialect(session) != "sqlite":
        return 0
    result = await session.execute(
        text("DELETE FROM search_index WHERE rowid NOT IN (SELECT id FROM search_documents)")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
