"""Streaming `multipart/form-data` parsing over a request body, part by part.

Litestar's `UploadFile` spools a whole body to disk before the handler runs and answers
500 when a part's filename holds a quote or a line break. `iter_form` instead parses
`request.stream()` as it arrives: fields come out whole (they are small and bounded),
file parts come out as an async iterator of their bytes, to be streamed on (to the
inspector and the store) while the client is still sending.

The parser is `multipart`'s `PushMultipartParser` rather than python-multipart's
callback `MultipartParser`: it is sans-IO and yields events, which maps directly onto
async iteration; it reports a body that ends before the closing boundary (the
python-multipart parser's `finalize()` does not check, by its own docstring); it
enforces header size and count limits; it decodes the escapes browsers use in
filenames (`%22`, `%0D`, `%0A`); and Litestar already depends on it for its own forms.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Final

import multipart

from exchange.errors import (
    DomainError,
    InvalidInput,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from exchange.i18n import _, format_size

DEFAULT_MAX_FIELDS: Final = 100
DEFAULT_MAX_FIELD_BYTES: Final = 64 * 1024
DEFAULT_MAX_HEADER_BYTES: Final = 4 * 1024
DEFAULT_MAX_HEADERS_PER_PART: Final = 8
DEFAULT_IDLE_TIMEOUT: Final = 60.0
# A body whose first boundary does not show within this many bytes was sent with
# another boundary or is not multipart at all: refuse it without reading the rest.
_MAX_PREAMBLE_BYTES: Final = 64 * 1024
# RFC 2046 bchars, 1 to 70 of them, not ending in a space.
_BOUNDARY: Final = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


@dataclass(frozen=True, slots=True)
class Field:
    """A form field, decoded as UTF-8."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class FilePart:
    """A part with a filename. `filename` is exactly what the client sent (it may hold
    quotes, line breaks, NUL, directories): clean it before showing or storing it.

    `chunks` yields the part's bytes as they arrive; drain it before asking `iter_form`
    for the next part (what is left is skipped then).
    """

    name: str
    filename: str
    content_type: str | None
    chunks: AsyncIterator[bytes]


FormPart = Field | FilePart


async def iter_form(
    content_type_header: str,
    body: AsyncIterator[bytes],
    *,
    max_fields: int = DEFAULT_MAX_FIELDS,
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    max_headers_per_part: int = DEFAULT_MAX_HEADERS_PER_PART,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    max_body_bytes: int | None = None,
) -> AsyncIterator[FormPart]:
    """Yield the parts of a `multipart/form-data` body as they arrive.

    `max_fields` counts every part, files included. `idle_timeout` is the longest wait
    for the next chunk of the body. `max_body_bytes`, when given, caps the whole body,
    preamble and epilogue included (the caller bounds file sizes by counting
    `FilePart.chunks`).

    Raises (also from `FilePart.chunks`): `UnsupportedMediaType` (415) when the body is
    not multipart/form-data; `DomainError` (400) for a missing or invalid boundary, a
    malformed or truncated body, too many parts, or oversized part headers;
    `InvalidInput` (422) for a field over `max_field_bytes` or not UTF-8;
    `PayloadTooLarge` (413) past `max_body_bytes`; `RequestTimeout` (408) when the
    client stalls.
    """
    parser = multipart.PushMultipartParser(
        _boundary_of(content_type_header),
        max_header_size=max_header_bytes,
        max_header_count=max_headers_per_part,
    )
    events = _Events(parser, body, idle_timeout=idle_timeout, max_body_bytes=max_body_bytes)
    parts = 0
    unfinished: _PartChunks | None = None
    while True:
        if unfinished is not None:
            await unfinished.drain()
            unfinished = None
        event = await events.next()
        if event is _END:
            return
        if not isinstance(event, multipart.MultipartSegment):
            raise DomainError(_("The form data is malformed. Send it again."))
        parts += 1
        if parts > max_fields:
            raise DomainError(
                _(
                    "The form has more than {max_fields} parts. Send at most {max_fields} fields "
                    "and files.",
                    max_fields=max_fields,
                )
            )
        name = str(event.name or "")
        if event.filename is None:
            yield Field(name, await _field_value(events, name, max_field_bytes))
        else:
            unfinished = _PartChunks(events)
            content_type = event.content_type
            yield FilePart(
                name=name,
                filename=str(event.filename),
                content_type=str(content_type) if content_type else None,
                chunks=unfinished,
            )


def _boundary_of(content_type_header: str) -> str:
    media_type, options = multipart.parse_options_header(content_type_header or "")
    if media_type != "multipart/form-data":
        raise UnsupportedMediaType(
            _(
                "Send the upload as a form (Content-Type: multipart/form-data) with the file in "
                "the part 'file'."
            )
        )
    boundary = options.get("boundary")
    if not boundary:
        raise DomainError(_("The form's Content-Type has no boundary. Send the form again."))
    if not _BOUNDARY.fullmatch(boundary):
        raise DomainError(_("The form's boundary is not valid (RFC 2046). Send the form again."))
    return str(boundary)


async def _field_value(events: _Events, name: str, limit: int) -> str:
    value = bytearray()
    while (event := await events.next()) is not None:
        if not isinstance(event, bytes | bytearray):
            raise DomainError(_("The form data is malformed. Send it again."))
        value += event
        if len(value) > limit:
            raise InvalidInput(
                _(
                    "The field '{name}' is longer than {limit}. Shorten it and send again.",
                    name=name,
                    limit=format_size(limit),
                )
            )
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            _(
                "The field '{name}' is not valid UTF-8 text. Send the form from a page or program "
                "that uses UTF-8.",
                name=name,
            )
        ) from exc


class _End:
    pass


_END: Final = _End()
_Event = object  # multipart.MultipartSegment | bytes | None | _End


class _Events:
    """Parser events pulled from the body on demand, one chunk at a time."""

    def __init__(
        self,
        parser: multipart.PushMultipartParser,
        body: AsyncIterator[bytes],
        *,
        idle_timeout: float,
        max_body_bytes: int | None,
    ) -> None:
        self._parser = parser
        self._body = body
        self._idle_timeout = idle_timeout
        self._max_body_bytes = max_body_bytes
        self._pending: Iterator[_Event] = iter(())
        self._received = 0
        self._seen_a_part = False
        self._ended = False

    async def next(self) -> _Event:
        while True:
            try:
                event = next(self._pending)
            except StopIteration:
                pass
            except multipart.ParserLimitReached as exc:
                raise DomainError(
                    _("A part of the form has too many or too long headers. Send the form again.")
                ) from exc
            except multipart.MultipartError as exc:
                raise DomainError(
                    _("The form data is malformed ({exc}). Send it again.", exc=exc)
                ) from exc
            else:
                if isinstance(event, multipart.MultipartSegment):
                    self._seen_a_part = True
                return event
            if self._ended:
                return _END
            if not self._seen_a_part and self._received > _MAX_PREAMBLE_BYTES:
                raise DomainError(
                    _("The form's boundary was not found in the body. Send the form again.")
                )
            chunk = await self._read()
            if chunk is None:
                self._ended = True
                self._close_parser()
                return _END
            self._pending = iter(self._parser.parse(chunk))

    async def _read(self) -> bytes | None:
        while True:
            try:
                async with asyncio.timeout(self._idle_timeout):
                    chunk = await anext(self._body)
            except StopAsyncIteration:
                return None
            except TimeoutError as exc:
                raise RequestTimeout(
                    _(
                        "The upload stalled: nothing arrived for {idle_timeout:g} seconds. Check "
                        "the connection and upload again.",
                        idle_timeout=self._idle_timeout,
                    )
                ) from exc
            if not chunk:
                continue  # an empty chunk would tell the parser the body has ended
            self._received += len(chunk)
            if self._max_body_bytes is not None and self._received > self._max_body_bytes:
                raise PayloadTooLarge(
                    _(
                        "The upload is larger than {max_body_bytes} bytes, the most the exchange "
                        "accepts.",
                        max_body_bytes=self._max_body_bytes,
                    )
                )
            return bytes(chunk)

    def _close_parser(self) -> None:
        try:
            self._parser.close()
        except multipart.MultipartError as exc:
            raise DomainError(
                _(
                    "The upload ended before the form was complete (the connection may have "
                    "dropped). Send it again."
                )
            ) from exc


class _PartChunks:
    """The bytes of one file part, pulled from the shared event stream."""

    def __init__(self, events: _Events) -> None:
        self._events = events
        self._done = False

    def __aiter__(self) -> _PartChunks:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        event = await self._events.next()
        if isinstance(event, bytes | bytearray):
            return bytes(event)
        self._done = True
        if event is None:
            raise StopAsyncIteration
        raise DomainError(_("The form data is malformed. Send it again."))

    async def drain(self) -> None:
        async for _part in self:
            pass
