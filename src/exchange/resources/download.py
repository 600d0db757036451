"""Serving a stored version over HTTP: ranges, validators, and headers that keep a
download a download.

Litestar's `File` response has no Range support and guesses the type from the name; a
partner on a rural link needs to resume a 300 MB video where it broke off, and a file
must never be shown inline as a web page. So:

- a single `Range` (`bytes=a-b`, `bytes=a-`, suffix `bytes=-n`) answers 206 with
  `Content-Range`; a range past the end 416 with `Content-Range: bytes */size`;
- several ranges in one request answer the whole file (200): a multipart/byteranges
  body is allowed to be skipped by RFC 9110 §14.2, no download manager needs it, and it
  would let one request ask for the same bytes many times over;
- `If-Range` (our ETag, or the exact `Last-Modified`) makes a range conditional: when it
  does not match, the whole current file is sent;
- `ETag` is the quoted SHA-256 of the content, and `If-None-Match` answers 304;
- the type is the one sniffed at upload, never guessed from the name, with
  `X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox` and
  `Content-Disposition: attachment` (RFC 6266, with the UTF-8 `filename*`);
- `?disposition=inline` opens a PDF or a picture in the browser (`inline`), still
  sandboxed and never sniffed; asked for any other type it is refused (422) rather than
  quietly turned into a download: a teacher who meant to look at a file over a slow link
  should not find 45 MB of video being saved instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Final, Protocol
from uuid import UUID

from litestar import Response
from litestar.response import Redirect, Stream

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.errors import InvalidInput, RangeNotSatisfiable
from exchange.files.inspection import charset_of_text
from exchange.files.media_types import describe, opens_in_browser
from exchange.files.names import content_disposition
from exchange.i18n import _

if TYPE_CHECKING:
    from exchange.models import Resource, ResourceVersion
    from exchange.resources.services import ResourceService

_RANGE: Final = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
# The cache rule for files only the caller's school may see: a browser may keep them
# but must ask again (an ETag makes that a cheap 304).
PRIVATE_REVALIDATE: Final = "private, no-cache"


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes `start` to `end`, both included, of a file of `size` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.size}"


def entity_tag(sha256: str) -> str:
    return f'"{sha256}"'


def http_date(moment: datetime) -> str:
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


def requested_range(range_header: str | None, size: int) -> ByteRange | None:
    """The one range to send, or None for the whole file.

    Raises `RangeNotSatisfiable` (416) when the range starts past the end. A header in
    another unit, malformed, or with several ranges is ignored, as RFC 9110 allows.
    """
    if not range_header:
        return None
    unit, _, spec = range_header.partition("=")
    if unit.strip().lower() != "bytes" or not spec or "," in spec:
        return None
    match = _RANGE.match(spec)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    return ByteRange(start, min(end, size - 1), size)


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        _(
            "The requested range starts past the end of the file, which has {size} bytes. Ask for "
            "bytes between 0 and the file's size, or for the whole file.",
            size=size,
        ),
        headers={"Content-Range": f"bytes */{size}"},
        size=size,
    )


ATTACHMENT: Final = "attachment"
INLINE: Final = "inline"


def chosen_disposition(requested: str | None, media_type: str) -> str:
    """The `Content-Disposition` type a download gets: `attachment` unless `inline` was
    asked for a type a browser shows by itself (a PDF, PNG, JPEG, GIF or WebP).

    `media_type` is the stored (sniffed) type, without parameters.
    """
    if requested is None or requested == ATTACHMENT:
        return ATTACHMENT
    if requested != INLINE:
        raise InvalidInput(
            _(
                "'disposition' is 'attachment' (save the file, the default) or 'inline' "
                "(open it in the browser)."
            ),
            errors=[{"field": "disposition", "message": "not attachment or inline"}],
        )
    if not opens_in_browser(media_type):
        raise InvalidInput(
            _(
                "Only PDF documents and pictures (PNG, JPEG, GIF, WebP) open in the browser; "
                "this file is {kind}. Download it instead, without 'disposition=inline'.",
                kind=describe(media_type),
            ),
            errors=[{"field": "disposition", "message": "not a PDF or a picture"}],
        )
    return INLINE


def etag_matches(header: str | None, etag: str) -> bool:
    """`If-None-Match`: weak comparison against a list of tags, or `*`."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def if_range_holds(header: str | None, etag: str, last_modified: datetime) -> bool:
    """`If-Range`: an ETag must match strongly, a date must equal Last-Modified."""
    if header is None:
        return True
    value = header.strip()
    if value.startswith('"') or value.startswith("W/"):
        return value == etag  # a weak tag never matches here (RFC 9110 §13.1.5)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return moment == last_modified.replace(microsecond=0)


@dataclass(frozen=True)
class DownloadPlan:
    """What to answer a download request with, decided before any byte is read."""

    status: int  # 200, 206 or 304
    byte_range: ByteRange | None
    headers: dict[str, str]

    @property
    def start(self) -> int:
        return self.byte_range.start if self.byte_range else 0

    @property
    def end(self) -> int | None:
        return self.byte_range.end if self.byte_range else None


def plan_download(
    request_headers: Mapping[str, str],
    *,
    size: int,
    sha256: str,
    media_type: str,
    last_modified: datetime,
    content_disposition: str,
    cache_control: str | None,
) -> DownloadPlan:
    etag = entity_tag(sha256)
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(last_modified),
        "Accept-Ranges": "bytes",
        "Cache-Control": cache_control or PRIVATE_REVALIDATE,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    if etag_matches(request_headers.get("if-none-match"), etag):
        return DownloadPlan(304, None, headers)
    byte_range = None
    if if_range_holds(request_headers.get("if-range"), etag, last_modified):
        byte_range = requested_range(request_headers.get("range"), size)
    headers |= {
        "Content-Type": media_type,
        "Content-Disposition": content_disposition,
        "Content-Length": str(byte_range.length if byte_range else size),
    }
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range
        return DownloadPlan(206, byte_range, headers)
    return DownloadPlan(200, None, headers)


class ClosableChunks(Protocol):
    """A stream of stored bytes that holds a file or a connection until closed."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


async def stream_and_close(source: ClosableChunks) -> AsyncIterator[bytes]:
    """Yield the source's chunks and close it however the response ends: a client that
    goes away mid-download cancels the response between two chunks."""
    try:
        async for chunk in source:
            yield chunk
    finally:
        await source.aclose()


# Enough of a text file to tell its encoding, for versions stored before it was recorded.
_CHARSET_SAMPLE_BYTES = 64 * 1024


async def content_type_of(resources: ResourceService, version: ResourceVersion) -> str:
    """The version's `Content-Type`: its media type, and for text the charset it was
    written in (recorded at upload; read from its first bytes for older versions)."""
    if not version.media_type.startswith("text/"):
        return version.media_type
    charset = version.charset
    if charset is None:
        sample = bytearray()
        content = await resources.open_content(version, 0, _CHARSET_SAMPLE_BYTES - 1)
        async with content:
            async for chunk in content:
                sample += chunk
        charset = charset_of_text(bytes(sample), complete=version.size <= len(sample))
    return f"{version.media_type}; charset={charset}"


def _plan(
    request_headers: Mapping[str, str],
    resource: Resource,
    version: ResourceVersion,
    content_type: str,
    disposition: str,
) -> DownloadPlan:
    return plan_download(
        request_headers,
        size=version.size,
        sha256=version.sha256,
        media_type=content_type,
        last_modified=version.created_at,
        content_disposition=content_disposition(version.original_name, disposition=disposition),
        cache_control=policy.cache_control_for(resource),
    )


async def describe_version(
    request_headers: Mapping[str, str],
    resources: ResourceService,
    identity: Identity,
    resource_id: UUID,
    number: int | None = None,
    *,
    disposition: str | None = None,
) -> Response[None]:
    """Answer a HEAD request: the status and headers the download would get (size,
    type, ETag, the range it would send), without its body.

    The same read rule as the download (404 for what the caller may not read), and the
    same refusal of `disposition`; no byte
    of the file leaves the store, so it is not counted as a download.
    """
    resource, version = await resources.version_to_download(identity, resource_id, number)
    shown = chosen_disposition(disposition, version.media_type)
    content_type = await content_type_of(resources, version)
    plan = _plan(request_headers, resource, version, content_type, shown)
    return Response(content=None, status_code=plan.status, headers=plan.headers)


async def serve_version(
    request_headers: Mapping[str, str],
    resources: ResourceService,
    identity: Identity,
    resource_id: UUID,
    number: int | None = None,
    *,
    disposition: str | None = None,
) -> Response[Any]:
    """Answer a download of the resource's version `number` (None: the current one).

    The policy decides first (404 for what the caller may not read); the file is opened
    before the download is audited, so a missing file is never counted as downloaded.
    """
    resource, version = await resources.version_to_download(identity, resource_id, number)
    shown = chosen_disposition(disposition, version.media_type)
    content_type = await content_type_of(resources, version)
    plan = _plan(request_headers, resource, version, content_type, shown)
    if plan.status == 304:
        return Response(content=b"", status_code=304, headers=plan.headers)
    settings = resources.settings
    if settings.s3_presigned_downloads:
        url = await resources.store.presigned_get_url(
            version.blob_key,
            filename=version.original_name,
            media_type=content_type,
            disposition=shown,
            expires_seconds=settings.s3_presigned_ttl_seconds,
        )
        if url is not None:
            await resources.record_download(
                identity, resource, version, range_start=plan.start, presigned=True
            )
            return Redirect(
                url,
                status_code=307,
                headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
            )
    content = await resources.open_content(version, plan.start, plan.end)
    try:
        await resources.record_download(identity, resource, version, range_start=plan.start)
    except BaseException:
        await content.aclose()
        raise
    return Stream(
        stream_and_close(content),
        status_code=plan.status,
        headers=plan.headers,
        media_type=content_type,
    )
