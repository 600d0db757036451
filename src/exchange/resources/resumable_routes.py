"""HTTP routes of resumable uploads: the tus 1.0.0 protocol at `/api/uploads`.

Thin, as the other routes: they read tus's headers, call `ResumableUploads` and write
tus's headers back. Every answer of the protocol's requests carries `Tus-Resumable`,
refusals too (as problem details, in the request's language).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, Router, delete, get, head, patch, post, route
from litestar.di import NamedDependency, Provide
from litestar.enums import HttpMethod
from litestar.params import FromPath
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from exchange.accounts.identity import Identity
from exchange.config import Settings
from exchange.errors import DomainError, UnsupportedMediaType
from exchange.i18n import _, lazy_gettext
from exchange.models import Upload
from exchange.openapi import problems
from exchange.resources.controllers import body_of, provide_resource_service
from exchange.resources.openapi import (
    UploadCreationOperation,
    UploadOffsetOperation,
    UploadOptionsOperation,
    UploadPieceOperation,
    UploadTerminationOperation,
)
from exchange.resources.resumable import (
    CHECKSUMS,
    TUS_EXTENSIONS,
    TUS_VERSION,
    ConnectionCut,
    Piece,
    ResumableUploads,
    parse_checksum,
    parse_metadata,
)
from exchange.resources.services import ResourceService

OFFSET_OCTET_STREAM = "application/offset+octet-stream"
UPLOADS_PATH = "/api/uploads"
RESOURCE_ID_HEADER = "Exchange-Resource-Id"


class TusVersionUnsupported(DomainError):
    status_code = 412
    title = lazy_gettext("Precondition failed")
    type_slug = "tus-version-unsupported"


class UploadOut(msgspec.Struct, kw_only=True):
    """Where a resumable upload stands."""

    id: UUID
    state: str  # receiving | checking | done | refused
    offset: int
    length: int
    filename: str
    resource_id: UUID | None
    problem: dict[str, Any] | None
    expires_at: datetime


def upload_out(upload: Upload) -> UploadOut:
    return UploadOut(
        id=upload.id,
        state=upload.state,
        offset=upload.offset,
        length=upload.length,
        filename=upload.filename,
        resource_id=upload.resource_id,
        problem=upload.problem,
        expires_at=upload.expires_at,
    )


async def provide_uploads(resources: NamedDependency[ResourceService]) -> ResumableUploads:
    return ResumableUploads(resources)


def _tus_headers(upload: Upload | None = None) -> dict[str, str]:
    headers = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}
    if upload is not None:
        headers["Upload-Offset"] = str(upload.offset)
        headers["Upload-Length"] = str(upload.length)
        if upload.state != "done":
            headers["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
        if upload.state == "done" and upload.resource_id is not None:
            headers[RESOURCE_ID_HEADER] = str(upload.resource_id)
    return headers


@contextmanager
def _speaking_tus(request: Request[Any, Any, Any]) -> Iterator[None]:
    """Refuse a client that does not speak tus 1.0.0; tell every refusal as tus does."""
    try:
        if request.headers.get("tus-resumable") != TUS_VERSION:
            raise TusVersionUnsupported(
                _(
                    "This address speaks tus {version}: send 'Tus-Resumable: {version}'.",
                    version=TUS_VERSION,
                ),
                headers={"Tus-Version": TUS_VERSION},
            )
        yield
    except DomainError as exc:
        exc.headers.setdefault("Tus-Resumable", TUS_VERSION)
        raise


def _number(request: Request[Any, Any, Any], header: str) -> int | None:
    raw = request.headers.get(header)
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise DomainError(_("The header {header} must be a whole number of bytes.", header=header))
    return int(raw)


def _piece(request: Request[Any, Any, Any], offset: int) -> Piece:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != OFFSET_OCTET_STREAM:
        raise UnsupportedMediaType(
            _(
                "Send the piece's bytes as '{expected}'.",
                expected=OFFSET_OCTET_STREAM,
            )
        )
    return Piece(
        offset=offset,
        chunks=body_of(request, went_away=ConnectionCut),
        checksum=parse_checksum(request.headers.get("upload-checksum")),
    )


# --- the protocol, for the API's routes and the upload page's -------------------------------


async def begin_upload(
    request: Request[Any, Any, Any],
    identity: Identity,
    uploads: ResumableUploads,
    base_path: str,
) -> Response[None]:
    """tus creation (and creation-with-upload): the upload is at `base_path/<id>`."""
    with _speaking_tus(request):
        length = _number(request, "upload-length")
        if length is None:
            raise DomainError(
                _(
                    "Say how large the file is in the header Upload-Length (the exchange "
                    "does not take uploads of unknown length)."
                )
            )
        metadata = parse_metadata(request.headers.get("upload-metadata"))
        upload = await uploads.create(identity, length, metadata)
        has_body = (
            request.headers.get("content-type") is not None
            and (_number(request, "content-length") or 0) > 0
        )
        if has_body or length == 0:
            piece = _piece(request, 0) if has_body else Piece(0, _nothing())
            upload = await uploads.append(identity, upload.id, piece)
        headers = _tus_headers(upload)
        headers["Location"] = f"{base_path}/{upload.id}"
        return Response(content=None, status_code=HTTP_201_CREATED, headers=headers)


async def upload_offset(
    request: Request[Any, Any, Any], identity: Identity, uploads: ResumableUploads, upload_id: UUID
) -> Response[None]:
    """tus HEAD: how much has arrived."""
    with _speaking_tus(request):
        upload = await uploads.get(identity, upload_id)
        return Response(content=None, status_code=200, headers=_tus_headers(upload))


async def append_piece(
    request: Request[Any, Any, Any], identity: Identity, uploads: ResumableUploads, upload_id: UUID
) -> Response[None]:
    """tus PATCH: the next piece; the last one answers the resource's id."""
    with _speaking_tus(request):
        offset = _number(request, "upload-offset")
        if offset is None:
            raise DomainError(_("Say where this piece starts in the header Upload-Offset."))
        upload = await uploads.append(identity, upload_id, _piece(request, offset))
        return Response(content=None, status_code=HTTP_204_NO_CONTENT, headers=_tus_headers(upload))


async def abandon_upload(
    request: Request[Any, Any, Any], identity: Identity, uploads: ResumableUploads, upload_id: UUID
) -> Response[None]:
    """tus termination."""
    with _speaking_tus(request):
        await uploads.abandon(identity, upload_id)
        return Response(content=None, status_code=HTTP_204_NO_CONTENT, headers=_tus_headers())


class UploadController(Controller):
    path = UPLOADS_PATH
    tags = ["uploads"]
    dependencies = {
        "resources": Provide(provide_resource_service),
        "uploads": Provide(provide_uploads),
    }

    @post(
        operation_id="createUpload",
        operation_class=UploadCreationOperation,
        responses=problems(400, 403, 404, 412, 413, 415, 422, 507),
        summary="Begin a resumable upload (tus creation, creation-with-upload)",
        description=(
            "Headers: Tus-Resumable: 1.0.0, Upload-Length (bytes), Upload-Metadata "
            "(comma-separated 'key base64value' pairs): 'filename' and the upload form's "
            "fields (title, kind, subject, grades, language, description, visibility, "
            "shared_with, confidential, licence, derived_from, author_ids, co_authors one "
            "per line, student_consent), or 'resource_id' (and student_consent) for a new "
            "version. Everything but the content is checked now, with the form upload's "
            "refusals, and the length is counted against the school's quota while the "
            "upload lives. A body of type application/offset+octet-stream is the first "
            "piece. Answers 201 with Location, Upload-Expires (and Upload-Offset)."
        ),
        status_code=HTTP_201_CREATED,
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        uploads: NamedDependency[ResumableUploads],
    ) -> Response[None]:
        return await begin_upload(request, identity, uploads, UPLOADS_PATH)

    @head(
        "/{upload_id:uuid}",
        operation_id="describeUploadOffset",
        operation_class=UploadOffsetOperation,
        responses=problems(404, 412),
        summary="How much of a resumable upload has arrived (Upload-Offset)",
    )
    async def offset(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        uploads: NamedDependency[ResumableUploads],
        upload_id: FromPath[UUID],
    ) -> Response[None]:
        return await upload_offset(request, identity, uploads, upload_id)

    @patch(
        "/{upload_id:uuid}",
        operation_id="appendToUpload",
        operation_class=UploadPieceOperation,
        responses=problems(400, 404, 408, 409, 412, 413, 415, 422, 423, 460),
        summary="Append a piece to a resumable upload; the last one makes the resource",
        description=(
            "Headers: Tus-Resumable, Content-Type: application/offset+octet-stream, "
            "Upload-Offset (where the piece starts; 409 when it is not where the upload "
            "stands), optionally Upload-Checksum 'sha1|sha256 base64digest' (460 and the "
            "piece dropped when it does not match). Answers 204 with Upload-Offset; the "
            "piece that completes the file also carries Exchange-Resource-Id, the "
            "resource made (or given a new version) exactly as by the upload form."
        ),
        status_code=HTTP_204_NO_CONTENT,
    )
    async def append(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        uploads: NamedDependency[ResumableUploads],
        upload_id: FromPath[UUID],
    ) -> Response[None]:
        return await append_piece(request, identity, uploads, upload_id)

    @delete(
        "/{upload_id:uuid}",
        operation_id="abandonUpload",
        operation_class=UploadTerminationOperation,
        responses=problems(404, 409, 412, 423),
        summary="Abandon a resumable upload (tus termination): its bytes and quota go",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def abandon(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        uploads: NamedDependency[ResumableUploads],
        upload_id: FromPath[UUID],
    ) -> Response[None]:
        return await abandon_upload(request, identity, uploads, upload_id)

    @get(
        "/{upload_id:uuid}",
        operation_id="getUpload",
        responses=problems(404),
        summary="Where a resumable upload stands: receiving, checking, done or refused",
    )
    async def get_one(
        self,
        identity: NamedDependency[Identity],
        uploads: NamedDependency[ResumableUploads],
        upload_id: FromPath[UUID],
    ) -> Response[UploadOut]:
        upload = await uploads.get(identity, upload_id)
        return Response(upload_out(upload), headers={"Cache-Control": "no-store"})


@route(
    UPLOADS_PATH,
    http_method=HttpMethod.OPTIONS,
    tags=["uploads"],
    operation_id="describeUploads",
    operation_class=UploadOptionsOperation,
    summary="What the resumable uploads speak: tus version, extensions, largest size",
    status_code=HTTP_204_NO_CONTENT,
    exclude_from_auth=True,
)
async def describe_uploads(settings: NamedDependency[Settings]) -> Response[None]:
    return Response(
        content=None,
        status_code=HTTP_204_NO_CONTENT,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": ",".join(TUS_EXTENSIONS),
            "Tus-Max-Size": str(settings.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
        },
    )


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an (empty) async generator


def upload_routes(settings: Settings) -> list[Any]:
    """The resumable upload routes, on a router whose body limit is the upload limit."""
    return [
        Router(
            path="/",
            # The OPTIONS handler first: Litestar 2 keeps the first OPTIONS handler of a path.
            route_handlers=[describe_uploads, UploadController],
            request_max_body_size=settings.request_max_body_bytes,
        )
    ]
