"""Making each new version's preview off the request path, as a job.

Every uploaded version (`VersionUploaded`: a new resource's first version, or a further
one) starts `pending` and queues its preview job in the transaction that commits it
(subscribed in `exchange.consequences`). The job copies the
stored file to a private temporary folder, makes the preview in the sandbox text
extraction uses (`exchange.files.sandbox`: time and memory limits), stores the image in
the blob store under a key of its own, and then records it on the version: `ready` with
its key and ETag, or `none`, with the page count or duration either way. A version
deleted meanwhile takes nothing: the image just stored is removed again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.blobstore import BlobNotFound, BlobStore, copy_to_file, new_blob_key
from exchange.clock import Clock
from exchange.config import Settings
from exchange.jobs.queue import enqueue
from exchange.jobs.worker import JobContext, JobKind
from exchange.models import ResourceVersion
from exchange.previews import NONE, PENDING, READY
from exchange.previews.making import (
    Preview,
    PreviewLimits,
    is_media,
    is_previewed,
    make_preview_isolated,
)

MAKE_PREVIEW: Final = "previews.make"

logger = logging.getLogger(__name__)


def preview_limits(settings: Settings) -> PreviewLimits:
    """The preview sandbox's caps: those of text extraction."""
    return PreviewLimits(
        timeout_seconds=settings.extraction_timeout_seconds,
        max_memory_bytes=settings.extraction_max_memory_bytes,
    )


def preview_dedupe_key(resource_id: UUID, version_number: int) -> str:
    """Held by the version's preview job while it is queued or running."""
    return f"{MAKE_PREVIEW}:{resource_id}:{version_number}"


async def queue_preview(
    session: AsyncSession, clock: Clock, resource_id: UUID, version_number: int
) -> bool:
    """In the caller's transaction: a job will make the preview of the version (which
    is `pending` from its insert). False when one is already queued or running."""
    job = await enqueue(
        session,
        clock,
        MAKE_PREVIEW,
        {"resource_id": str(resource_id), "version": version_number},
        dedupe_key=preview_dedupe_key(resource_id, version_number),
    )
    return job is not None


async def queue_missing_previews(
    session_factory: Callable[[], Any], clock: Clock, *, batch_size: int = 500
) -> int:
    """Queue the preview of every version that has none (files uploaded before previews
    existed, or whose preview could not be made then): each turns `pending` and gets its
    job, a batch per transaction. Returns how many were queued."""
    queued = 0
    after: UUID | None = None
    while True:
        async with session_factory() as session:
            query = (
                select(ResourceVersion.id, ResourceVersion.resource_id, ResourceVersion.number)
                .where(ResourceVersion.preview_state == NONE)
                .order_by(ResourceVersion.id)
                .limit(batch_size)
            )
            if after is not None:
                query = query.where(ResourceVersion.id > after)
            rows = list(await session.execute(query))
            if not rows:
                return queued
            for version_id, resource_id, number in rows:
                await session.execute(
                    update(ResourceVersion)
                    .where(ResourceVersion.id == version_id, ResourceVersion.preview_state == NONE)
                    .values(preview_state=PENDING)
                    .execution_options(synchronize_session=False)
                )
                if await queue_preview(session, clock, resource_id, number):
                    queued += 1
                after = version_id
            await session.commit()


def preview_etag(image: bytes) -> str:
    """The preview's entity tag: its SHA-256, quoted, marked apart from the file's."""
    return f'"preview-{hashlib.sha256(image).hexdigest()}"'


async def _version(session: AsyncSession, resource_id: UUID, number: int) -> ResourceVersion | None:
    return await session.scalar(
        select(ResourceVersion).where(
            ResourceVersion.resource_id == resource_id, ResourceVersion.number == number
        )
    )


async def _preview_of(
    store: BlobStore, key: str, media_type: str, size: int, settings: Settings
) -> Preview:
    if not is_previewed(media_type):
        return Preview()
    # Sound and video are read by their headers and one frame, whatever their length;
    # other files only up to the size text extraction reads.
    if not is_media(media_type) and size > settings.extraction_max_file_bytes:
        return Preview()
    with tempfile.TemporaryDirectory(prefix="exchange-preview-") as scratch:
        path = Path(scratch) / "file"
        try:
            await copy_to_file(store, key, path)
        except BlobNotFound:
            logger.error("stored file %s missing; it gets no preview", key)
            return Preview()
        return await asyncio.to_thread(
            make_preview_isolated, path, media_type, preview_limits(settings)
        )


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _record(
    context: JobContext,
    resource_id: UUID,
    number: int,
    preview: Preview,
    image_key: str | None,
) -> bool:
    """Writes the outcome on the version if it is still there and waiting; False when
    it is not (deleted meanwhile, or made by an earlier run)."""
    async with context.session_factory() as session:
        result = await session.execute(
            update(ResourceVersion)
            .where(
                ResourceVersion.resource_id == resource_id,
                ResourceVersion.number == number,
                ResourceVersion.preview_state == PENDING,
            )
            .values(
                preview_state=READY if image_key is not None else NONE,
                preview_blob_key=image_key,
                preview_etag=preview_etag(preview.image)
                if image_key is not None and preview.image is not None
                else None,
                pages=preview.pages,
                duration_seconds=preview.duration_seconds,
            )
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def make_version_preview(context: JobContext, payload: dict[str, Any]) -> None:
    resource_id = UUID(str(payload["resource_id"]))
    number = int(payload["version"])
    async with context.session_factory() as session:
        version = await _version(session, resource_id, number)
        if version is None or version.preview_state != PENDING:
            return  # deleted, or made already
        key, media_type, size = version.blob_key, version.media_type, version.size
    store: BlobStore = context.state["blob_store"]
    preview = await _preview_of(store, key, media_type, size, context.settings)
    image_key: str | None = None
    if preview.image is not None:
        image_key = new_blob_key()
        await store.put(image_key, _one(preview.image))
    try:
        recorded = await _record(context, resource_id, number, preview, image_key)
    except BaseException:
        if image_key is not None:
            await store.delete(image_key)
        raise
    if not recorded and image_key is not None:
        await store.delete(image_key)


async def _record_none(context: JobContext, payload: dict[str, Any], error: str) -> None:
    """The last attempt failed (the store unreachable each time, say): the version says
    it has no preview, instead of one "coming" for ever."""
    await _record(
        context, UUID(str(payload["resource_id"])), int(payload["version"]), Preview(), None
    )


PREVIEWS = JobKind(make_version_preview, on_give_up=_record_none)
