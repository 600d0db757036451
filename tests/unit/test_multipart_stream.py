"""The upload form is parsed as it streams in, and every malformed body is a 4xx, not a crash."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterable

import pytest
from litestar import Litestar, Request, post
from litestar.testing import AsyncTestClient

from exchange.errors import (
    DomainError,
    InvalidInput,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)
from exchange.files.multipart_stream import Field, FilePart, FormPart, iter_form

BOUNDARY = "----exchangeBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
CHUNK_SIZES = [1, 7, 64 * 1024]


def field(name: str, value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + raw
        + b"\r\n"
    )


def file_part(
    name: str, filename_header: str, content: bytes, content_type: str = "application/pdf"
) -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{name}"; filename={filename_header}\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + content
        + b"\r\n"
    )


def closing() -> bytes:
    return f"--{BOUNDARY}--\r\n".encode()


async def body_in_chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def collect(
    parts: AsyncIterator[FormPart],
) -> list[tuple[str, str, str | None, bytes] | Field]:
    """Every part, with each file's bytes drained as the parser hands them over."""
    collected: list[tuple[str, str, str | None, bytes] | Field] = []
    async for part in parts:
        if isinstance(part, FilePart):
            content = b"".join([chunk async for chunk in part.chunks])
            collected.append((part.name, part.filename, part.content_type, content))
        else:
            collected.append(part)
    return collected


async def parse(data: bytes, chunk_size: int = 7, **limits: float) -> list[object]:
    return list(
        await collect(iter_form(CONTENT_TYPE, body_in_chunks(data, chunk_size), **limits))  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_fields_and_a_file_come_out_intact_however_the_body_is_split(chunk_size: int) -> None:
    content = os.urandom(150_000) + f"\r\n--{BOUNDARY}".encode()[:-1] + b"\r\n--"
    body = (
        field("title", "Бөлчөктөр: 5-класс")
        + field("kind", "lesson_plan")
        + file_part("file", '"План урока.pdf"', content)
        + field("language", "ky")
        + closing()
    )

    parts = await parse(body, chunk_size)

    assert parts == [
        Field("title", "Бөлчөктөр: 5-класс"),
        Field("kind", "lesson_plan"),
        ("file", "План урока.pdf", "application/pdf", content),
        Field("language", "ky"),
    ]


async def test_file_bytes_are_handed_over_before_the_body_has_all_arrived() -> None:
    release_rest = asyncio.Event()
    head = field("title", "x") + file_part("file", '"a.pdf"', b"A" * 100_000)[:-2000]

    async def slow_body() -> AsyncIterator[bytes]:
        yield head
        await release_rest.wait()
        yield file_part("file", '"a.pdf"', b"A" * 100_000)[-2000:] + closing()

    received = 0
    async for part in iter_form(CONTENT_TYPE, slow_body()):
        if isinstance(part, FilePart):
            async for chunk in part.chunks:
                received += len(chunk)
                if received >= 90_000 and not release_rest.is_set():
                    release_rest.set()  # only reachable if bytes streamed before the end

    assert received == 100_000


@pytest.mark.parametrize(
    ("header_value", "filename"),
    [
        ('"say %22hi%22.pdf"', 'say "hi".pdf'),
        ('"line%0D%0Abreak.pdf"', "line\r\nbreak.pdf"),
        ('"back\\"slash.pdf"', 'back"slash.pdf'),
        ('"nul\x00byte.pdf"', "nul\x00byte.pdf"),
        ('"../../etc/passwd"', "../../etc/passwd"),
        ('"\u202efdp.exe"', "\u202efdp.exe"),
        ('""', ""),
    ],
)
async def test_awkward_filenames_pass_through_raw_for_the_caller_to_clean(
    header_value: str, filename: str
) -> None:
    body = file_part("file", header_value, b"%PDF-1.4") + closing()

    assert await parse(body) == [("file", filename, "application/pdf", b"%PDF-1.4")]


async def test_a_file_part_left_undrained_is_skipped_to_reach_the_next_part() -> None:
    body = file_part("other", '"x.bin"', os.urandom(50_000)) + field("title", "kept") + closing()
    seen: list[FormPart] = []

    async for part in iter_form(CONTENT_TYPE, body_in_chunks(body, 4096)):
        seen.append(part)  # never reads the file's chunks

    assert isinstance(seen[0], FilePart)
    assert seen[1] == Field("title", "kept")


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_a_body_without_its_closing_boundary_is_refused(chunk_size: int) -> None:
    body = field("title", "x") + file_part("file", '"a.pdf"', b"%PDF" * 1000)[:-10]

    with pytest.raises(DomainError) as caught:
        await parse(body, chunk_size)

    assert caught.value.status_code == 400
    assert "ended before the form was complete" in caught.value.detail


async def test_a_body_cut_between_parts_is_refused() -> None:
    with pytest.raises(DomainError, match="ended before"):
        await parse(field("title", "x"))


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary="has\nnewline"',
        "multipart/form-data; boundary=" + "x" * 71,
        'multipart/form-data; boundary="ends-in-space "',
    ],
)
async def test_a_missing_or_invalid_boundary_is_refused(content_type: str) -> None:
    with pytest.raises(DomainError) as caught:
        await collect(iter_form(content_type, body_in_chunks(closing(), 7)))

    assert caught.value.status_code == 400
    assert "boundary" in caught.value.detail


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
async def test_a_body_that_is_not_a_form_is_refused(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        await collect(iter_form(content_type, body_in_chunks(b"{}", 7)))


async def test_a_body_with_another_boundary_is_refused_without_reading_it_all() -> None:
    sent = 0

    async def endless_other_form() -> AsyncIterator[bytes]:
        nonlocal sent
        while True:
            chunk = b"--other\r\n" + os.urandom(8192)
            sent += len(chunk)
            yield chunk

    with pytest.raises(DomainError, match="boundary was not found"):
        await collect(iter_form(CONTENT_TYPE, endless_other_form()))

    assert sent < 100_000


async def test_more_parts_than_allowed_are_refused() -> None:
    body = b"".join(field(f"f{n}", "x") for n in range(1100)) + closing()

    with pytest.raises(DomainError) as caught:
        await parse(body, 64 * 1024)

    assert caught.value.status_code == 400
    assert "more than 100 parts" in caught.value.detail


async def test_the_part_limit_counts_files_too() -> None:
    body = b"".join(file_part("file", f'"{n}.pdf"', b"x") for n in range(4)) + closing()

    with pytest.raises(DomainError, match="more than 3 parts"):
        await parse(body, max_fields=3)


async def test_an_oversized_field_is_refused() -> None:
    body = field("description", "я" * 40_000) + closing()  # 80,000 bytes

    with pytest.raises(InvalidInput) as caught:
        await parse(body, 64 * 1024)

    assert "'description' is longer than 64 kB" in caught.value.detail


async def test_a_field_that_is_not_utf8_is_refused() -> None:
    body = field("title", "Урок".encode("cp1251")) + closing()

    with pytest.raises(InvalidInput, match="'title' is not valid UTF-8"):
        await parse(body)


async def test_oversized_part_headers_are_refused() -> None:
    body = file_part("file", '"' + "a" * 10_000 + '.pdf"', b"x") + closing()

    with pytest.raises(DomainError) as caught:
        await parse(body, 64 * 1024)

    assert caught.value.status_code == 400
    assert "headers" in caught.value.detail


async def test_a_malformed_part_header_is_refused() -> None:
    body = f"--{BOUNDARY}\r\nno colon here\r\n\r\nx\r\n".encode() + closing()

    with pytest.raises(DomainError, match="malformed"):
        await parse(body)


async def test_a_stalled_upload_is_cut_off_after_the_idle_timeout() -> None:
    async def stalling_body() -> AsyncIterator[bytes]:
        yield field("title", "x") + file_part("file", '"a.pdf"', b"%PDF")[:-10]
        await asyncio.sleep(3600)
        yield b""  # pragma: no cover

    started = time.monotonic()
    with pytest.raises(RequestTimeout) as caught:
        await collect(iter_form(CONTENT_TYPE, stalling_body(), idle_timeout=0.2))

    assert time.monotonic() - started < 2
    assert caught.value.status_code == 408


async def test_a_body_over_the_cap_is_refused_as_it_arrives() -> None:
    body = file_part("file", '"a.pdf"', os.urandom(300_000)) + closing()

    with pytest.raises(PayloadTooLarge):
        await parse(body, 64 * 1024, max_body_bytes=100_000)


async def test_empty_chunks_from_the_server_do_not_end_the_body() -> None:
    async def with_empty_chunks() -> AsyncIterator[bytes]:
        for piece in _split(field("a", "1") + closing(), 5):
            yield b""
            yield piece

    assert await collect(iter_form(CONTENT_TYPE, with_empty_chunks())) == [Field("a", "1")]


def _split(data: bytes, size: int) -> Iterable[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


# A handler as the upload endpoint will use it: Litestar's own form parsing answers 500
# for such a filename; parsing `request.stream()` does not.
@post("/echo", status_code=200)
async def echo(request: Request) -> dict[str, object]:  # type: ignore[type-arg]
    parts: dict[str, object] = {}
    async for part in iter_form(request.headers.get("content-type", ""), request.stream()):
        if isinstance(part, FilePart):
            size = sum([len(chunk) async for chunk in part.chunks])
            parts[part.name] = {"filename": part.filename, "size": size}
        else:
            parts[part.name] = part.value
    return parts


async def test_a_litestar_request_stream_is_parsed_with_a_quote_in_the_filename() -> None:
    body = field("title", "Урок") + file_part("file", '"a\\"b.pdf"', b"%PDF" * 5000) + closing()

    async with AsyncTestClient(app=Litestar([echo])) as client:
        response = await client.post("/echo", content=body, headers={"content-type": CONTENT_TYPE})

    assert response.status_code == 200
    assert response.json() == {"title": "Урок", "file": {"filename": 'a"b.pdf', "size": 20_000}}
