"""Extracting the text of a new version off the request path, as a job.

Each uploaded version (`VersionUploaded`) queues its extraction in the transaction that
commits it (`extract_uploaded_version`, subscribed in `exchange.consequences`): the
resource's text turns `pending` and a job is queued (one per version). The job copies
the stored file to a private temporary folder, runs extraction in a child process with
hard limits (a worker thread waits for it), and stores the outcome and the reindexed
resource in one transaction. A version replaced meanwhile is skipped: the newer
version has its own job.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.blobstore import BlobNotFound, BlobStore, copy_to_file
from exchange.clock import Clock
from exchange.config import Settings
from exchange.i18n import N_
from exchange.jobs.queue import enqueue
from exchange.jobs.worker import JobContext, JobKind
from exchange.models import Resource, ResourceVersion
from exchange.search.index import SearchIndex
from exchange.text.extraction import (
    Extraction,
    ExtractionLimits,
    extract_text_isolated,
    outcome_without_reading,
)

if TYPE_CHECKING:
    from exchange.events import VersionUploaded
    from exchange.unit_of_work import UnitOfWork

EXTRACT_TEXT = "search.extract_text"

logger = logging.getLogger(__name__)

# Stored in English with the search document and translated when shown (as
# `extraction.Reasons`).
TOO_LARGE = N_(
    "The file is larger than text extraction reads; only the title and description are searchable."
)
MISSING = N_("The stored file could not be found, so its text is not searchable.")
GAVE_UP = N_(
    "Reading the text failed several times, so only the title and description are "
    "searchable. Upload the file again as a new version to try once more."
)


def extraction_limits(settings: Settings) -> ExtractionLimits:
    return ExtractionLimits(
        timeout_seconds=settings.extraction_timeout_seconds,
        max_memory_bytes=settings.extraction_max_memory_bytes,
    )


def extraction_dedupe_key(resource_id: UUID, version_number: int) -> str:
    """Held by the version's extraction job while it is queued or running."""
    return f"{EXTRACT_TEXT}:{resource_id}:{version_number}"


async def queue_text_extraction(
    session: AsyncSession, clock: Clock, resource_id: UUID, version_number: int
) -> bool:
    """In the caller's transaction: the resource's text is pending, and a job will
    extract it from version `version_number`. False when such a job was already queued
    or running (it will do)."""
    await SearchIndex(session).mark_pending(resource_id)
    job = await enqueue(
        session,
        clock,
        EXTRACT_TEXT,
        {"resource_id": str(resource_id), "version": version_number},
        dedupe_key=extraction_dedupe_key(resource_id, version_number),
    )
    return job is not None


async def extract_uploaded_version(uow: UnitOfWork, event: VersionUploaded) -> None:
    await queue_text_extraction(uow.session, uow.clock, event.resource.id, event.version)


async def _current_version(
    session: AsyncSession, resource_id: UUID, number: int
) -> ResourceVersion | None:
    """Version `number` of the resource if it is still the current one."""
    return await session.scalar(
        select(ResourceVersion)
        .join(Resource, Resource.id == ResourceVersion.resource_id)
        .where(
            ResourceVersion.resource_id == resource_id,
            ResourceVersion.number == number,
            Resource.current_version_number == number,
        )
    )


async def _extract(
    store: BlobStore, key: str, media_type: str, size: int, settings: Settings
) -> Extraction:
    without_reading = outcome_without_reading(media_type)
    if without_reading is not None:
        return without_reading
    if size > settings.extraction_max_file_bytes:
        return Extraction("unsupported", "", False, TOO_LARGE)
    with tempfile.TemporaryDirectory(prefix="exchange-extract-") as scratch:
        path = Path(scratch) / "file"
        try:
            await copy_to_file(store, key, path)
        except BlobNotFound:
            logger.error("stored file %s missing; its text cannot be extracted", key)
            return Extraction("failed", "", False, MISSING)
        return await asyncio.to_thread(
            extract_text_isolated, path, media_type, extraction_limits(settings)
        )


async def _mark_unreadable(context: JobContext, payload: dict[str, Any], error: str) -> None:
    """The last attempt failed (the store unreachable each time, say): the resource says
    its text could not be read, instead of showing "pending" for ever."""
    resource_id = UUID(str(payload["resource_id"]))
    number = int(payload["version"])
    async with context.session_factory() as session:
        if await _current_version(session, resource_id, number) is None:
            return
        await SearchIndex(session).store_extraction(
            resource_id, number, Extraction("failed", "", False, GAVE_UP), context.clock.now()
        )
        await session.commit()


async def extract_version_text(context: JobContext, payload: dict[str, Any]) -> None:
    resource_id = UUID(str(payload["resource_id"]))
    number = int(payload["version"])
    async with context.session_factory() as session:
        version = await _current_version(session, resource_id, number)
        if version is None:
            return  # deleted, or replaced by a newer version that has its own job
        key, media_type, size = version.blob_key, version.media_type, version.size
    store: BlobStore = context.state["blob_store"]
    extraction = await _extract(store, key, media_type, size, context.settings)
    async with context.session_factory() as session:
        if await _current_version(session, resource_id, number) is None:
            return
        await SearchIndex(session).store_extraction(
            resource_id, number, extraction, context.clock.now()
        )
        await session.commit()


TEXT_EXTRACTION = JobKind(extract_version_text, on_give_up=_mark_unreadable)
