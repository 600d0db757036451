"""Resumable uploads (tus 1.0.0): a file that arrives in pieces, over a link that drops.

The same upload as the form's, cut in time. When the upload is created, before a byte
arrives, its metadata is read by the form's `read_form` (or `read_version_form`), the
rules that need the database are asked by `ResourceService.check_new_resource` (or
`editable_for_version` and the consent rule), and its announced length is reserved
against the school's quota with the form's `quota.reserve`: the same refusals, in the
same words. Each piece goes through the form's `ContentCheck` as it arrives and into
the store's resumable file (`BlobStore.append_resumable`), durable before its offset is
recorded. When the last byte is in, the file gets the `ContentCheck` verdict and becomes
a resource or a version through `ResourceService.keep_new_resource` / `keep_version`,
exactly as a form upload does.

Where things are: the offset, the metadata and the store's state (an S3 multipart
upload's parts) are in the `uploads` row; the bytes are in the store. Any app instance
can continue an upload. A request appending to an upload holds it (`writer`, renewed as
bytes arrive): a second request finds it held (423) until the first ends, or until its
pulse is older than the idle timeout (its process died). The content check fed so far
is kept in the process that fed it; an instance that did not see the start (or a
restart) checks the whole file once it is complete, read back from the store.

An upload's bytes count against the school's quota from its creation: abandoning it,
its refusal or its expiry gives them back; done, they are its version's.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

import anyio
from sqlalchemy import CursorResult, delete, or_, select, update

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.blobstore import BlobStore, new_blob_key
from exchange.errors import Conflict, DomainError, InvalidInput, NotFound
from exchange.files.names import clean_display_name
from exchange.i18n import _, lazy_gettext
from exchange.models import Resource, Upload
from exchange.resources import quota
from exchange.resources.metadata import VERSION_FORM_FIELDS, read_form, read_version_form
from exchange.resources.services import ResourceService
from exchange.resources.upload import ContentCheck, StoredFile, refuse_version_field, too_large

TUS_VERSION: Final = "1.0.0"
TUS_EXTENSIONS: Final = (
    "creation",
    "creation-with-upload",
    "expiration",
    "termination",
    "checksum",
)
CHECKSUMS: Final[Mapping[str, Callable[[], Any]]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}
# Metadata a tus client may add on its own, which says nothing the content does not.
IGNORED_METADATA: Final = frozenset({"filetype"})
RECEIVING, CHECKING, DONE, REFUSED = "receiving", "checking", "done", "refused"
# Content checks fed in this process, by upload, so the next piece goes on with them.
_KEPT_CHECKS: Final = 64

_log = logging.getLogger(__name__)
_checks: OrderedDict[UUID, ContentCheck] = OrderedDict()


class ChecksumMismatch(DomainError):
    """The piece does not match the checksum its request announced (tus: 460)."""

    status_code = 460
    title = lazy_gettext("Checksum mismatch")
    type_slug = "checksum-mismatch"


class UploadHeld(DomainError):
    """Another request is appending to this upload (423)."""

    status_code = 423
    title = lazy_gettext("Upload busy")
    type_slug = "upload-busy"


@dataclass(frozen=True)
class Piece:
    """One PATCH: where it says it starts, its bytes as they arrive, its checksum."""

    offset: int
    chunks: AsyncIterator[bytes]
    checksum: tuple[str, bytes] | None = None


class ResumableUploads:
    """Creating, continuing, abandoning and expiring resumable uploads."""

    def __init__(self, resources: ResourceService) -> None:
        self.resources = resources
        self.session = resources.session
        self.settings = resources.settings
        self.clock = resources.clock
        self.store: BlobStore = resources.store

    # --- creating ----------------------------------------------------------------------

    async def create(self, identity: Identity, length: int, metadata: Mapping[str, str]) -> Upload:
        """Check everything that can be checked before a byte arrives, reserve the
        length against the quota, and begin the file in the store."""
        if length > self.settings.max_upload_bytes:
            raise too_large(self.settings)
        name = clean_display_name(metadata.get("filename", ""))
        if not name:
            raise InvalidInput(
                _("Name the file: send its name, with its extension, in the metadata 'filename'."),
                errors=[{"field": "filename", "message": "missing"}],
            )
        fields = metadata_fields(metadata)
        resource_id = metadata.get("resource_id")
        if resource_id is not None:
            target = await self._check_version(identity, resource_id, fields)
            school_id = target
        else:
            await self.resources.check_new_resource(identity, read_form(fields))
            school_id = identity.school_id
        await quota.reserve(self.session, school_id, length, self.settings.school_quota_bytes)
        key = new_blob_key()
        now = self.clock.now()
        upload = Upload(
            school_id=school_id,
            member_id=identity.member_id,
            resource_id=UUID(resource_id) if resource_id is not None else None,
            for_version=resource_id is not None,
            fields=[list(item) for item in fields],
            filename=name,
            length=length,
            offset=0,
            state=RECEIVING,
            blob_key=key,
            store_state=await self.store.start_resumable(key),
            expires_at=now + self._lifetime(),
            created_at=now,
            updated_at=now,
        )
        self.session.add(upload)
        try:
            await self.session.commit()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abort_store(upload)
            raise
        await self.session.refresh(upload)
        return upload

    async def _check_version(
        self, identity: Identity, resource_id: str, fields: list[tuple[str, str]]
    ) -> UUID:
        """The checks of a new version's form; the owner school, whose quota it uses."""
        for field_name, _value in fields:
            if field_name not in VERSION_FORM_FIELDS:
                raise refuse_version_field(field_name)
        try:
            wanted = UUID(resource_id)
        except ValueError as exc:
            raise InvalidInput(
                _("'resource_id' must be the id of one of your school's resources."),
                errors=[{"field": "resource_id", "message": "not an id"}],
            ) from exc
        resource = await self.resources.editable_for_version(identity, wanted)
        policy.require_anonymous_restated(resource, read_version_form(fields).student_consent)
        return resource.owner_school_id

    # --- reading -----------------------------------------------------------------------

    async def get(self, identity: Identity, upload_id: UUID) -> Upload:
        """The caller's own upload, while it lives; anyone else's is 404."""
        upload = await self.session.scalar(
            select(Upload).where(
                Upload.id == upload_id,
                policy.where(identity, policy.Action.CONTINUE_UPLOAD),
                Upload.expires_at > self.clock.now(),
            )
        )
        if upload is None:
            raise NotFound(policy.refusals.NO_SUCH_UPLOAD)
        return upload

    # --- appending ---------------------------------------------------------------------

    async def append(self, identity: Identity, upload_id: UUID, piece: Piece) -> Upload:
        """Append a piece (tus PATCH); the last one makes the resource or version."""
        upload = await self.get(identity, upload_id)
        if upload.state == REFUSED:
            raise refusal_of(upload)
        if piece.offset != upload.offset:
            raise _wrong_offset(upload.offset)
        if upload.state == DONE:
            return upload
        writer = await self._hold(upload)
        holding = _Holding()
        try:
            if upload.offset < upload.length:
                await self._receive(upload, writer, piece, holding)
            if upload.offset == upload.length:
                await self._finish(identity, upload, writer)
        finally:
            if holding.held:
                with anyio.CancelScope(shield=True):
                    await self._let_go(upload.id, writer)
        if holding.held:
            await self.session.refresh(upload)
        return upload

    async def _hold(self, upload: Upload) -> str:
        """Become the one request appending to the upload (or find it held: 423)."""
        writer = secrets.token_hex(16)
        now = self.clock.now()
        result = await self.session.execute(
            update(Upload)
            .where(
                Upload.id == upload.id,
                Upload.offset == upload.offset,
                Upload.state.in_([RECEIVING, CHECKING]),
                or_(Upload.writer.is_(None), Upload.writer_seen_at < now - self._pulse_limit()),
            )
            .values(writer=writer, writer_seen_at=now),
            execution_options={"synchronize_session": False},
        )
        await self.session.commit()
        assert isinstance(result, CursorResult)
        if result.rowcount != 1:
            expected = upload.offset
            await self.session.refresh(upload)
            if upload.offset != expected:
                raise _wrong_offset(upload.offset)
            raise UploadHeld(
                _(
                    "This upload is being continued by another request right now. Wait a "
                    "moment, ask where it stands (HEAD) and go on from there."
                ),
                headers={"Retry-After": "5"},
            )
        return writer

    async def _let_go(self, upload_id: UUID, writer: str) -> None:
        """Stop holding the upload (whatever happened to the request)."""
        try:
            await self.session.rollback()
            await self.session.execute(
                update(Upload)
                .where(Upload.id == upload_id, Upload.writer == writer)
                .values(writer=None, writer_seen_at=None),
                execution_options={"synchronize_session": False},
            )
            await self.session.commit()
        except Exception:
            _log.warning("could not let go of upload %s; its hold lapses", upload_id)

    async def _still_held(self, upload_id: UUID, writer: str) -> bool:
        result = await self.session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.writer == writer)
            .values(writer_seen_at=self.clock.now()),
            execution_options={"synchronize_session": False},
        )
        await self.session.commit()
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def _receive(self, upload: Upload, writer: str, piece: Piece, holding: _Holding) -> None:
        room = upload.length - upload.offset
        check = _checks.pop(upload.id, None)
        if check is not None and check.fed != upload.offset:
            check.abandon()
            check = None
        if check is None and upload.offset == 0:
            check = ContentCheck()
        digest = CHECKSUMS[piece.checksum[0]]() if piece.checksum else None
        outcome = _Arrival()
        pulse_every = self._pulse_limit().total_seconds() / 3
        last_pulse = time.monotonic()
        upload_id = upload.id

        async def arriving() -> AsyncIterator[bytes]:
            nonlocal last_pulse
            received = 0
            idle = self.settings.upload_idle_timeout_seconds
            while True:
                try:
                    async with asyncio.timeout(idle):
                        chunk = await anext(piece.chunks)
                except (StopAsyncIteration, ConnectionCut, TimeoutError) as exc:
                    outcome.cut = not isinstance(exc, StopAsyncIteration)
                    return
                if not chunk:
                    continue
                received += len(chunk)
                if received > room:
                    raise DomainError(
                        _(
                            "This piece goes past the end of the file: the upload was "
                            "announced as {length} bytes.",
                            length=upload.length,
                        )
                    )
                if time.monotonic() - last_pulse > pulse_every:
                    if not await self._still_held(upload_id, writer):
                        raise UploadHeld(
                            _(
                                "This upload was taken up by another request after a long "
                                "pause. Ask where it stands (HEAD) and go on from there."
                            )
                        )
                    last_pulse = time.monotonic()
                if digest is not None:
                    digest.update(chunk)
                if check is not None:
                    await check.feed(chunk)
                yield chunk
            # (unreachable)

        try:
            offset, state = await self.store.append_resumable(
                upload.blob_key, upload.store_state, upload.offset, arriving()
            )
            if check is not None:
                await check.settle()
        except DomainError as exc:
            if check is not None:
                check.abandon()
            if _is_content_refusal(exc):
                await self._refuse(upload, exc)
            raise
        except BaseException:
            if check is not None:
                check.abandon()
            raise
        if (
            piece.checksum is not None
            and digest is not None
            and (outcome.cut or digest.digest() != piece.checksum[1])
        ):
            if check is not None:
                check.abandon()
            raise ChecksumMismatch(
                _(
                    "This piece arrived changed: its {algorithm} checksum does not match. "
                    "It was dropped; send it again from offset {offset}.",
                    algorithm=piece.checksum[0],
                    offset=upload.offset,
                ),
                headers={"Upload-Offset": str(upload.offset)},
            )
        # A piece that leaves the upload unfinished lets go of it with its record; the
        # last one holds it on while the file is checked and kept.
        holding.held = offset == upload.length
        await self._record(upload, writer, offset, state, let_go=not holding.held)
        if check is not None:
            _keep_check(upload.id, check)

    async def _record(
        self, upload: Upload, writer: str, offset: int, state: dict[str, Any], *, let_go: bool
    ) -> None:
        now = self.clock.now()
        result = await self.session.execute(
            update(Upload)
            .where(Upload.id == upload.id, Upload.writer == writer)
            .values(
                offset=offset,
                store_state=state,
                writer=None if let_go else writer,
                writer_seen_at=None if let_go else now,
                updated_at=now,
                expires_at=now + self._lifetime(),
            ),
            execution_options={"synchronize_session": False},
        )
        await self.session.commit()
        assert isinstance(result, CursorResult)
        if result.rowcount != 1:
            raise Conflict(
                _(
                    "This upload was taken up by another request meanwhile. Ask where it "
                    "stands (HEAD) and go on from there."
                )
            )
        await self.session.refresh(upload)

    async def _finish(self, identity: Identity, upload: Upload, writer: str) -> None:
        """The last byte is in: the file gets its verdict and becomes a resource or a
        version, as a form upload's does; a refusal leaves nothing behind."""
        upload.state = CHECKING
        await self.session.commit()
        check = _checks.pop(upload.id, None)
        try:
            await self.store.finish_resumable(upload.blob_key, upload.store_state, upload.length)
            if check is None or check.fed != upload.length:
                check = await self._check_again(upload.blob_key)
            stored = await check.verdict(
                upload.filename, upload.blob_key, self.store, self.settings
            )
            await self._keep(identity, upload, stored)
        except DomainError as exc:
            if check is not None:
                check.abandon()
            if _is_content_refusal(exc) or exc.status_code in (403, 404, 409, 422):
                await self.session.rollback()
                await self._refuse(upload, exc, stored=True)
            raise

    async def _check_again(self, key: str) -> ContentCheck:
        """Feed a fresh check from the stored file (it was begun by another process)."""
        check = ContentCheck()
        stream = await self.store.open_range(key)
        async with stream:
            async for chunk in stream:
                await check.feed(chunk)
        return check

    async def _keep(self, identity: Identity, upload: Upload, stored: StoredFile) -> None:
        fields = [(str(name), str(value)) for name, value in upload.fields]
        upload.state = DONE
        upload.updated_at = self.clock.now()
        if upload.for_version:
            assert upload.resource_id is not None
            resource = await self.resources.editable_for_version(identity, upload.resource_id)
            await self.resources.keep_version(
                identity,
                resource,
                read_version_form(fields),
                stored,
                committing=lambda: None,
                reserved=True,
            )
        else:

            def made(resource: Resource) -> None:
                upload.resource_id = resource.id

            await self.resources.keep_new_resource(
                identity, read_form(fields), stored, committing=made, reserved=True
            )
        await self.session.refresh(upload)

    async def _refuse(self, upload: Upload, exc: DomainError, *, stored: bool = False) -> None:
        """The upload cannot become a resource: its bytes go, its quota comes back, and
        its state tells why."""
        with anyio.CancelScope(shield=True):
            await self.session.rollback()
            await quota.release(self.session, upload.school_id, upload.length)
            await self.session.execute(
                update(Upload)
                .where(Upload.id == upload.id)
                .values(state=REFUSED, problem=problem_of(exc), updated_at=self.clock.now()),
                execution_options={"synchronize_session": False},
            )
            await self.session.commit()
            _checks.pop(upload.id, None)
            await self._abort_store(upload)
            if stored:
                try:
                    await self.store.delete(upload.blob_key)
                except Exception:
                    _log.warning("could not remove refused upload %s; gc will", upload.blob_key)

    # --- abandoning and expiring -------------------------------------------------------

    async def abandon(self, identity: Identity, upload_id: UUID) -> None:
        """The member gives up an upload (tus DELETE): its bytes and quota go."""
        upload = await self.get(identity, upload_id)
        if upload.state == DONE:
            raise Conflict(
                _(
                    "This upload is finished: it is a resource now. Delete the resource if "
                    "it should go."
                )
            )
        writer = await self._hold(upload)
        if upload.state != REFUSED:
            await quota.release(self.session, upload.school_id, upload.length)
        await self.session.execute(
            delete(Upload).where(Upload.id == upload.id, Upload.writer == writer)
        )
        await self.session.commit()
        _checks.pop(upload.id, None)
        await self._abort_store(upload)

    async def _abort_store(self, upload: Upload) -> None:
        try:
            await self.store.abort_resumable(upload.blob_key, upload.store_state)
        except Exception:
            _log.warning("could not remove the bytes of upload %s; gc will", upload.id)

    def _lifetime(self) -> timedelta:
        return timedelta(hours=self.settings.upload_expiry_hours)

    def _pulse_limit(self) -> timedelta:
        """How long a request appending to an upload may go without a sign of life
        before another may take the upload up: past the idle timeout, it is dead."""
        return timedelta(seconds=self.settings.upload_idle_timeout_seconds + 5)


class ConnectionCut(Exception):
    """The client went away in the middle of a piece: what arrived is kept."""


@dataclass
class _Arrival:
    cut: bool = False


@dataclass
class _Holding:
    """Whether the request still holds the upload (and must let go of it)."""

    held: bool = True


def _keep_check(upload_id: UUID, check: ContentCheck) -> None:
    _checks[upload_id] = check
    while len(_checks) > _KEPT_CHECKS:
        _old_id, old = _checks.popitem(last=False)
        old.abandon()


def _is_content_refusal(exc: DomainError) -> bool:
    return exc.status_code in (413, 415, 422)


def _wrong_offset(offset: int) -> Conflict:
    return Conflict(
        _(
            "This upload has {offset} bytes so far; send the next piece from there "
            "(Upload-Offset: {offset}).",
            offset=offset,
        ),
        headers={"Upload-Offset": str(offset)},
        upload_offset=offset,
    )


def metadata_fields(metadata: Mapping[str, str]) -> list[tuple[str, str]]:
    """The upload's metadata as the form's fields (`co_authors`: one per line)."""
    fields: list[tuple[str, str]] = []
    for name, value in metadata.items():
        if name in ("filename", "resource_id") or name in IGNORED_METADATA:
            continue
        if name == "co_authors":
            fields.extend((name, line) for line in value.splitlines() if line.strip())
        else:
            fields.append((name, value))
    return fields


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs (tus 1.0.0)."""
    found: dict[str, str] = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _sep, encoded = pair.partition(" ")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            message = _("The upload's metadata {key!r} is not base64-encoded UTF-8 text.", key=key)
            raise InvalidInput(message, errors=[{"field": key, "message": message}]) from exc
        if key in found:
            once = _("Send this field once.")
            raise InvalidInput(
                _("Some values are not acceptable. {listed}", listed=f"{key}: {once}"),
                errors=[{"field": key, "message": once}],
            )
        found[key] = value
    return found


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum: `algorithm base64digest`."""
    if header is None:
        return None
    algorithm, _sep, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise DomainError(
            _(
                "The exchange checks pieces with sha1 or sha256, not {algorithm!r}.",
                algorithm=algorithm,
            )
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise DomainError(_("The Upload-Checksum digest is not base64.")) from exc


def problem_of(exc: DomainError) -> dict[str, Any]:
    """What an upload's state shows of its refusal: the problem document's fields."""
    return {
        "type": f"urn:exchange:problem:{exc.type_slug}",
        "title": str(exc.title),
        "status": exc.status_code,
        "detail": exc.detail,
        **{key: value for key, value in exc.extra.items() if _plain(value)},
    }


class RefusedUpload(DomainError):
    """The refusal of a refused upload, told again to a client that goes on with it."""

    def __init__(self, problem: Mapping[str, Any]) -> None:
        extra = {k: v for k, v in problem.items() if k not in ("type", "title", "status", "detail")}
        super().__init__(str(problem.get("detail", "")), **extra)
        self.status_code = int(problem.get("status", 422))  # type: ignore[misc]
        self.title = str(problem.get("title", ""))  # type: ignore[misc,assignment]
        self.type_slug = str(problem.get("type", "")).rsplit(":", 1)[-1]  # type: ignore[misc]


def refusal_of(upload: Upload) -> DomainError:
    return RefusedUpload(upload.problem or {})


def _plain(value: object) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None


async def expire_uploads(store: BlobStore, sessions: Callable[[], Any], *, now: datetime) -> int:
    """Remove uploads past their expiry: an unfinished one's bytes leave the store and
    its quota comes back. Returns how many went."""
    removed = 0
    async with sessions() as session:
        expired = list(
            await session.scalars(select(Upload).where(Upload.expires_at <= now).limit(500))
        )
        for upload in expired:
            if upload.state in (RECEIVING, CHECKING):
                await quota.release(session, upload.school_id, upload.length)
            await session.delete(upload)
        await session.commit()
    for upload in expired:
        if upload.state in (RECEIVING, CHECKING):
            try:
                await store.abort_resumable(upload.blob_key, upload.store_state)
            except Exception:
                _log.warning("could not remove the bytes of expired upload %s", upload.id)
        removed += 1
    return removed


async def live_upload_keys(sessions: Callable[[], Any], *, now: datetime) -> set[str]:
    """The store keys of uploads still arriving: their store state must stay."""
    async with sessions() as session:
        return set(
            await session.scalars(
                select(Upload.blob_key).where(
                    Upload.state.in_([RECEIVING, CHECKING]), Upload.expires_at > now
                )
            )
        )
