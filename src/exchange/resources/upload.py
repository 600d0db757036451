"""Receiving an upload: the form read as it arrives, the file streamed into the store.

One pass over the request body, never a whole file in memory and never written twice:
each chunk of the `file` part is counted against the upload limit and the school's
quota (refused the moment either is passed), hashed and sniffed by the
`ContentInspector`, and handed to the blob store, which writes it under a fresh random
key. Form fields may come before or after the file. Fields sent before the file are
checked as soon as the file begins, so a form with a wrong value is refused before its
file is read; fields sent after it are checked once the body is complete, while the
file waits in the store under its key.

Who owns the stored file: `receive()` does, until the caller says it is committing the
row that points at it. Any refusal before that (a bad field, the inspector, the quota,
the database) removes the file; a failure of the commit itself leaves it, because the
row may exist after all, and `exchange store gc` removes it later if it does not.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import anyio

from exchange.blobstore import BlobStore, copy_to_file, new_blob_key
from exchange.blobstore.threads import ignore_outcome
from exchange.config import Settings
from exchange.errors import InvalidInput, PayloadTooLarge
from exchange.files import media_types
from exchange.files.active_content import PdfCheckLimits, in_pdf_isolated
from exchange.files.inspection import ContentInspector, active_content_refusal
from exchange.files.multipart_stream import Field, FilePart, iter_form
from exchange.files.names import clean_display_name
from exchange.i18n import _, format_size
from exchange.resources.quota import SchoolQuota

FILE_PART: Final = "file"
# Enough for every metadata field of the contract, repeated list fields included.
MAX_FORM_PARTS: Final = 200
INSPECT_BATCH_BYTES: Final = 1024 * 1024

_log = logging.getLogger(__name__)

FieldCheck = Callable[[Sequence[tuple[str, str]]], object]


@dataclass(frozen=True)
class IncomingForm:
    """A request body still on the wire, with the headers that describe it."""

    content_type: str
    content_length: int | None
    body: AsyncIterator[bytes]


@dataclass(frozen=True)
class StoredFile:
    """An accepted file, in the store under `key`."""

    key: str
    original_name: str
    media_type: str
    size: int
    sha256: str
    charset: str | None = None


@dataclass
class ReceivedUpload:
    fields: list[tuple[str, str]]
    file: StoredFile
    _committing: bool = field(default=False, repr=False)

    def committing(self) -> None:
        """Call right before committing the row that points at the file: from here on a
        failure leaves the file to `gc` instead of removing it."""
        self._committing = True


class UploadReceiver:
    """Reads one upload form into the store. Not reusable: a body is read once."""

    def __init__(self, form: IncomingForm, settings: Settings, store: BlobStore) -> None:
        self._form = form
        self._settings = settings
        self._store = store

    @asynccontextmanager
    async def receive(
        self,
        *,
        quota: SchoolQuota,
        fields_allowed: bool = True,
        check_fields: FieldCheck | None = None,
        allowed_fields: Collection[str] = (),
    ) -> AsyncIterator[ReceivedUpload]:
        """Read the whole form, the file into the store; yield it to be committed.

        `check_fields` is called with the fields received when the file begins (it
        raises to refuse them). With `fields_allowed=False`, only the fields named in
        `allowed_fields` may come with the file. An exception from the `async with` body removes the
        file unless `committing()` was called.
        """
        upload = await self._read(quota, fields_allowed, check_fields, allowed_fields)
        try:
            yield upload
        except BaseException:
            if not upload._committing:
                await self._discard(upload.file.key)
            else:
                _log.warning(
                    "the commit of an upload failed; its file %s is left to gc",
                    upload.file.key,
                )
            raise

    async def _read(
        self,
        quota: SchoolQuota,
        fields_allowed: bool,
        check_fields: FieldCheck | None,
        allowed_fields: Collection[str] = (),
    ) -> ReceivedUpload:
        limit = self._settings.request_max_body_bytes
        announced = self._form.content_length
        if announced is not None:
            # What the announced length already tells, refused before a byte is read
            # (on a slow link, that is minutes not wasted). The form's fields and
            # boundaries may take up to the JSON limit, so only a length past that
            # allowance is sure to carry a file too large.
            allowance = self._settings.max_json_body_bytes
            if announced > limit:
                raise too_large(self._settings)
            room = quota.left
            if room is not None and announced > room + allowance:
                raise quota.refusal(announced - allowance)
        fields: list[tuple[str, str]] = []
        stored: StoredFile | None = None
        try:
            async for part in iter_form(
                self._form.content_type,
                self._form.body,
                max_fields=MAX_FORM_PARTS,
                idle_timeout=self._settings.upload_idle_timeout_seconds,
                max_body_bytes=limit,
            ):
                if isinstance(part, Field):
                    if not fields_allowed and part.name not in allowed_fields:
                        raise refuse_version_field(part.name)
                    fields.append((part.name, part.value))
                    continue
                if part.name != FILE_PART:
                    raise InvalidInput(
                        _(
                            "The form has a file in the part {name!r}; send the file in the part "
                            "'file'.",
                            name=part.name,
                        )
                    )
                if stored is not None:
                    raise InvalidInput(_("Send one file per upload, in the part 'file'."))
                if check_fields is not None:
                    check_fields(fields)
                stored = await self._store_file(part, quota)
        except BaseException:
            if stored is not None:
                await self._discard(stored.key)
            raise
        if stored is None:
            raise InvalidInput(_("The form has no file: add it in the part 'file'."))
        return ReceivedUpload(fields=fields, file=stored)

    async def _store_file(self, part: FilePart, quota: SchoolQuota) -> StoredFile:
        name = clean_display_name(part.filename)
        check = ContentCheck()
        largest = self._settings.max_upload_bytes
        room = quota.left

        async def checked_chunks() -> AsyncIterator[bytes]:
            size = 0
            try:
                async for chunk in part.chunks:
                    size += len(chunk)
                    if size > largest:
                        raise too_large(self._settings)
                    if room is not None and size > room:
                        raise quota.refusal(size)
                    await check.feed(chunk)
                    yield chunk
                await check.settle()
            finally:
                check.abandon()

        key = new_blob_key()
        await self._store.put(key, checked_chunks())
        try:
            return await check.verdict(name, key, self._store, self._settings)
        except BaseException:
            await self._discard(key)
            raise

    async def _discard(self, key: str) -> None:
        # Shielded: a client that goes away must not leave half a cleanup behind.
        with anyio.CancelScope(shield=True):
            try:
                await self._store.delete(key)
            except Exception:
                _log.warning("could not remove refused upload %s; gc will", key, exc_info=True)


def refuse_version_field(name: str) -> InvalidInput:
    """The refusal of a field a new version does not take (see `VERSION_FORM_FIELDS`)."""
    return InvalidInput(
        _(
            "A new version is a file with its change note: send the "
            "part 'file', the field 'change_note' and, for a student's "
            "work, 'student_consent', and no other field (this form "
            "has {name!r}). Change the description by editing the "
            "resource.",
            name=name,
        )
    )


def too_large(settings: Settings) -> PayloadTooLarge:
    """The refusal of a file over `EXCHANGE_MAX_UPLOAD_BYTES`, however it is sent."""
    largest = settings.max_upload_bytes
    return PayloadTooLarge(
        _(
            "The file is larger than {largest}, the most the exchange accepts. Make it "
            "smaller (compress a video, split a long document) and upload it again.",
            largest=format_size(largest),
        ),
        max_upload_bytes=largest,
    )


class ContentCheck:
    """The one content check of an upload, form or resumable: fed the file's bytes as
    they stream past (refusing early what can never be accepted), then asked for its
    verdict on the whole once the file is in the store under its key."""

    def __init__(self) -> None:
        self._inspector = ContentInspector()
        self._inspecting = _Inspecting(self._inspector)
        self.fed = 0

    async def feed(self, chunk: bytes) -> None:
        self.fed += len(chunk)
        await self._inspecting.feed(chunk)

    async def settle(self) -> None:
        """Wait for the bytes fed so far to be inspected (a refusal raises here)."""
        await self._inspecting.finish()

    def abandon(self) -> None:
        self._inspecting.abandon()

    async def verdict(
        self, name: str, key: str, store: BlobStore, settings: Settings
    ) -> StoredFile:
        """What the stored file under `key` is, or the refusal that says why not."""
        await self.settle()
        inspection = self._inspector.finish(name)
        if inspection.media_type == media_types.PDF:
            await check_stored_pdf(key, store, settings)
        return StoredFile(
            key=key,
            original_name=name,
            media_type=inspection.media_type,
            size=inspection.size,
            sha256=inspection.sha256,
            charset=inspection.charset,
        )


async def check_stored_pdf(key: str, store: BlobStore, settings: Settings) -> None:
    """Refuses a PDF that carries scripts, launch actions or attached files. pypdf
    needs the whole file, so it reads a temporary copy, in a child process with the
    limits of text extraction."""
    limits = PdfCheckLimits(
        timeout_seconds=settings.extraction_timeout_seconds,
        max_memory_bytes=settings.extraction_max_memory_bytes,
    )
    with tempfile.TemporaryDirectory(prefix="exchange-check-") as scratch:
        copy = Path(scratch) / "upload.pdf"
        await copy_to_file(store, key, copy)
        found = await asyncio.to_thread(in_pdf_isolated, copy, limits)
    if found is not None:
        raise active_content_refusal(found, media_types.PDF)


class _Inspecting:
    """Feeds an inspector in a worker thread while the next chunks arrive.

    Hashing is most of the CPU an upload costs, and hashlib lets go of the GIL for
    large buffers, so it runs beside the event loop's parsing and writing instead of
    after it. Chunks are handed over in batches of about `INSPECT_BATCH_BYTES` (one
    thread hop per network chunk would cost more than it saves), one batch at a time,
    in order. A refusal (`feed` raising) surfaces at the next `feed` or at `finish`.
    """

    def __init__(self, inspector: ContentInspector) -> None:
        self._inspector = inspector
        self._batch: list[bytes] = []
        self._batch_bytes = 0
        self._in_flight: asyncio.Future[None] | None = None

    async def feed(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batch_bytes += len(chunk)
        if self._batch_bytes >= INSPECT_BATCH_BYTES:
            await self._hand_over()

    async def finish(self) -> None:
        await self._hand_over()
        if self._in_flight is not None:
            await self._in_flight
            self._in_flight = None

    def abandon(self) -> None:
        """Stop caring about a batch still being inspected (the upload failed)."""
        if self._in_flight is not None and not self._in_flight.done():
            self._in_flight.add_done_callback(ignore_outcome)

    async def _hand_over(self) -> None:
        if self._in_flight is not None:
            await self._in_flight
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if batch:
            self._in_flight = asyncio.ensure_future(
                asyncio.to_thread(_feed_all, self._inspector, batch)
            )
        else:
            self._in_flight = None


def _feed_all(inspector: ContentInspector, chunks: list[bytes]) -> None:
    for chunk in chunks:
        inspector.feed(chunk)
