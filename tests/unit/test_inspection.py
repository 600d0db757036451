"""Uploads are judged by their content, with real files built here byte for byte."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import itertools
import os
import struct
import tracemalloc
import wave
import zipfile
from collections.abc import Callable, Iterator

import docx
import pytest
from odf.opendocument import OpenDocumentPresentation, OpenDocumentSpreadsheet, OpenDocumentText
from odf.text import P
from PIL import Image
from pypdf import PdfWriter

from exchange.errors import InvalidInput, UnsupportedMediaType
from exchange.files.inspection import HEAD_BYTES, TAIL_BYTES, ContentInspector, Inspection

# ---------------------------------------------------------------------------- samples


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def word_document(*, picture_bytes: int = 0) -> bytes:
    document = docx.Document()
    document.add_paragraph("Сабак планы: бөлчөктөр, 5-класс")
    if picture_bytes:
        # Random pixels do not compress: this makes the file larger than the kept tail.
        side = int((picture_bytes / 3) ** 0.5)
        picture = io.BytesIO()
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(picture, "PNG")
        picture.seek(0)
        document.add_picture(picture)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_of(entries: dict[str, bytes | str], *, first: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        names = sorted(entries, key=lambda n: n != first)
        for name in names:
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, entries[name], compress_type=method)
    return out.getvalue()


CONTENT_TYPES = '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def workbook() -> bytes:
    return zip_of(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": "<Relationships/>",
            "xl/workbook.xml": "<workbook/>",
            "xl/worksheets/sheet1.xml": "<worksheet/>",
        },
        first="[Content_Types].xml",
    )


def presentation() -> bytes:
    return zip_of(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": "<Relationships/>",
            "ppt/presentation.xml": "<presentation/>",
            "ppt/slides/slide1.xml": "<sld/>",
        },
        first="[Content_Types].xml",
    )


def open_document(kind: str) -> bytes:
    document = {
        "odt": OpenDocumentText,
        "ods": OpenDocumentSpreadsheet,
        "odp": OpenDocumentPresentation,
    }[kind]()
    if kind == "odt":
        document.text.addElement(P(text="Урок: дроби"))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(b"\x00\x10" * 8000)
    return out.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4() -> bytes:
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41") + box(b"mdat", bytes(512))


def m4a() -> bytes:
    return box(b"ftyp", b"M4A \x00\x00\x02\x00M4A isom") + box(b"mdat", bytes(512))


def mp3() -> bytes:
    frame = bytes.fromhex("FFFB9064") + bytes(413)
    return b"ID3\x03\x00\x00\x00\x00\x00\x00" + frame * 4


def ogg() -> bytes:
    header = b"\x01vorbis" + bytes(23)
    page = (
        b"OggS\x00\x02" + bytes(8) + b"\x01\x00\x00\x00" + bytes(8) + b"\x01" + bytes([len(header)])
    )
    return page + header


def webm() -> bytes:
    ebml = bytes.fromhex("4286810142F7810142F2810442F381084282847765626D4287810442858102")
    return (
        bytes.fromhex("1A45DFA3")
        + bytes([0x80 | len(ebml)])
        + ebml
        + bytes.fromhex("18538067")
        + bytes(64)
    )


def elf() -> bytes:
    header = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHI", 2, 0x3E, 1) + bytes(40)
    return header + bytes(HEAD_BYTES)


def windows_program() -> bytes:
    dos = b"MZ" + bytes(58) + struct.pack("<I", 64)
    pe = b"PE\x00\x00" + struct.pack("<HH", 0x8664, 1) + bytes(16)
    return dos + pe + bytes(512)


def mach_o() -> bytes:
    return bytes.fromhex("cffaedfe07000001030000000200000010000000") + bytes(512)


OLE_END, OLE_FREE, OLE_FAT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD


def ole_file(stream: str, data_sectors: int, *, directory_after: int | None = None) -> bytes:
    """An OLE2 compound file (the container of .doc/.xls/.ppt) holding one stream of
    `data_sectors` 512-byte sectors, its directory after `directory_after` of them."""
    directory_after = data_sectors if directory_after is None else directory_after
    total = data_sectors + 1
    fat_sectors = 1
    while fat_sectors * 128 < total + fat_sectors:
        fat_sectors += 1
    fat = [OLE_FREE] * (fat_sectors * 128)
    fat[:fat_sectors] = [OLE_FAT] * fat_sectors
    order = list(range(fat_sectors, fat_sectors + total))
    directory_sector = order.pop(directory_after)
    for current, following in itertools.pairwise(order):
        fat[current] = following
    fat[order[-1]] = fat[directory_sector] = OLE_END

    def entry(name: str, kind: int, start: int, size: int, child: int = OLE_FREE) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0" if name else b""
        fixed = struct.pack("<HBBIII", len(encoded), kind, 1, OLE_FREE, OLE_FREE, child)
        return encoded.ljust(64, b"\0") + fixed + bytes(36) + struct.pack("<IQ", start, size)

    header = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16)
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
    header += struct.pack("<9I", 0, fat_sectors, directory_sector, 0, 4096, OLE_END, 0, OLE_END, 0)
    header += struct.pack("<109I", *range(fat_sectors), *[OLE_FREE] * (109 - fat_sectors))
    directory = (
        entry("Root Entry", 5, OLE_END, 0, child=1)
        + entry(stream, 2, order[0], data_sectors * 512)
        + entry("", 0, 0, 0) * 2
    )
    sectors = {s: b"\x01" * 512 for s in order} | {directory_sector: directory}
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return header + fat_bytes + b"".join(sectors[s] for s in sorted(sectors))


# ---------------------------------------------------------------------------- helpers


def inspect(data: bytes, name: str, *, chunk_size: int = 64 * 1024) -> Inspection:
    inspector = ContentInspector()
    for start in range(0, len(data), chunk_size):
        inspector.feed(data[start : start + chunk_size])
    return inspector.finish(name)


def refusal(data: bytes, name: str) -> UnsupportedMediaType | InvalidInput:
    with pytest.raises((UnsupportedMediaType, InvalidInput)) as caught:
        inspect(data, name)
    assert isinstance(caught.value, UnsupportedMediaType | InvalidInput)
    return caught.value


# ---------------------------------------------------------------------------- accepted


ACCEPTED: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("pdf", pdf, "Сабак планы.pdf", "application/pdf"),
    ("png", lambda: image("PNG"), "доска.png", "image/png"),
    ("jpeg", lambda: image("JPEG"), "photo.JPG", "image/jpeg"),
    ("jpeg-long", lambda: image("JPEG"), "photo.jpeg", "image/jpeg"),
    ("gif", lambda: image("GIF"), "anim.gif", "image/gif"),
    ("webp", lambda: image("WEBP"), "pic.webp", "image/webp"),
    (
        "docx",
        word_document,
        "plan.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "xlsx",
        workbook,
        "marks.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "pptx",
        presentation,
        "slides.pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("odt", lambda: open_document("odt"), "plan.odt", "application/vnd.oasis.opendocument.text"),
    (
        "ods",
        lambda: open_document("ods"),
        "marks.ods",
        "application/vnd.oasis.opendocument.spreadsheet",
    ),
    (
        "odp",
        lambda: open_document("odp"),
        "slides.odp",
        "application/vnd.oasis.opendocument.presentation",
    ),
    ("doc", lambda: ole_file("WordDocument", 8), "old plan.doc", "application/msword"),
    ("xls", lambda: ole_file("Workbook", 8), "old marks.xls", "application/vnd.ms-excel"),
    ("ppt", lambda: ole_file("PowerPoint Document", 8), "old.ppt", "application/vnd.ms-powerpoint"),
    (
        "rtf",
        lambda: b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Hello}",
        "letter.rtf",
        "application/rtf",
    ),
    ("text", lambda: "Урок 1. Тема: дроби\nМаксат: үйрөнүү\n".encode(), "notes.txt", "text/plain"),
    ("cp1251", lambda: "Урок 1. Тема: дроби\n".encode("cp1251"), "notes.txt", "text/plain"),
    ("csv", lambda: b"name,grade\nAigul,5\nBakyt,4\n", "marks.csv", "text/csv"),
    ("csv-as-txt", lambda: b"name,grade\nAigul,5\nBakyt,4\n", "marks.txt", "text/plain"),
    ("markdown", lambda: b"# Plan\n\n- fractions\n- *decimals*\n", "plan.md", "text/markdown"),
    (
        "c-looking",
        lambda: b"#include <stdio.h>\nint main(void) { return 0; }\n",
        "lesson.txt",
        "text/plain",
    ),
    ("wav", wav, "voice.wav", "audio/wav"),
    ("mp3", mp3, "song.mp3", "audio/mpeg"),
    ("m4a", m4a, "talk.m4a", "audio/mp4"),
    ("ogg", ogg, "talk.ogg", "audio/ogg"),
    ("mp4", mp4, "lesson.mp4", "video/mp4"),
    ("webm", webm, "lesson.webm", "video/webm"),
]


@pytest.mark.parametrize(
    ("build", "name", "media_type"),
    [pytest.param(build, name, media_type, id=case) for case, build, name, media_type in ACCEPTED],
)
def test_files_schools_share_are_accepted_with_their_sniffed_type(
    build: Callable[[], bytes], name: str, media_type: str
) -> None:
    data = build()

    result = inspect(data, name)

    assert dataclasses.replace(result, charset=None) == Inspection(
        media_type=media_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        extension=name.rsplit(".", 1)[1].lower(),
    )
    assert (result.charset is not None) == media_type.startswith("text/")


@pytest.mark.parametrize(
    ("data", "chunk_size", "charset"),
    [
        pytest.param("Сабак ң ө ү\n".encode() * 2000, 7, "utf-8", id="utf-8-cut-mid-letter"),
        pytest.param(
            "Сабак ң ө ү\n".encode() * 2000 + "Урок\n".encode("cp1251"),
            64 * 1024,
            "windows-1251",
            id="utf-8-head-but-not-after",
        ),
        pytest.param(
            "Урок 1. Тема: дроби. Цель: сложение дробей.\n".encode("cp1251") * 10,
            64,
            "windows-1251",
            id="windows-1251",
        ),
        pytest.param("Сабак\n".encode("utf-16"), 64, "utf-16", id="utf-16-with-mark"),
    ],
)
def test_text_is_given_the_charset_it_was_written_in(
    data: bytes, chunk_size: int, charset: str
) -> None:
    assert inspect(data, "notes.txt", chunk_size=chunk_size).charset == charset


@pytest.mark.parametrize("chunk_size", [1, 7, 4096, 64 * 1024, 10**9])
def test_the_verdict_does_not_depend_on_how_the_bytes_arrive(chunk_size: int) -> None:
    data = word_document(picture_bytes=300_000)

    result = inspect(data, "plan.docx", chunk_size=chunk_size)

    assert result.media_type.endswith("wordprocessingml.document")
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)


def test_a_document_larger_than_the_kept_bytes_is_told_apart_by_its_directory() -> None:
    data = word_document(picture_bytes=3 * 1024 * 1024)
    assert len(data) > HEAD_BYTES + TAIL_BYTES

    assert inspect(data, "plan.docx").media_type.endswith("wordprocessingml.document")


def test_a_pdf_with_whitespace_after_its_end_is_accepted() -> None:
    assert inspect(pdf() + b"\r\n\x00 \n", "plan.pdf").media_type == "application/pdf"


def test_an_old_office_file_is_recognised_by_its_directory_in_the_tail() -> None:
    data = ole_file("WordDocument", 4096)  # 2 MiB; libmagic sees only a generic OLE head

    assert inspect(data, "old.doc").media_type == "application/msword"
    assert refusal(data, "old.xls").status_code == 422


def test_an_old_office_file_whose_directory_was_not_kept_is_taken_by_its_extension() -> None:
    data = ole_file("WordDocument", 8192, directory_after=4096)

    assert inspect(data, "old.doc").media_type == "application/msword"
    assert inspect(data, "old.ppt").media_type == "application/vnd.ms-powerpoint"
    assert refusal(data, "old.pdf").status_code == 415


def test_the_inspector_holds_about_one_mebibyte_whatever_the_size() -> None:
    chunk = os.urandom(64 * 1024)
    inspector = ContentInspector()
    tracemalloc.start()
    try:
        for _ in range(40 * 16):  # 40 MiB
            inspector.feed(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert inspector.size == 40 * 1024 * 1024
    assert peak < TAIL_BYTES + 512 * 1024


def test_a_trickle_of_tiny_chunks_is_kept_in_bounded_memory() -> None:
    inspector = ContentInspector()
    tracemalloc.start()
    try:
        for line in range(160 * 1024):  # 1.6 MiB, ten bytes at a time
            inspector.feed(b"%09d\n" % line)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < TAIL_BYTES + 512 * 1024
    assert inspector.finish("a.txt").media_type == "text/plain"


# ---------------------------------------------------------------------------- refused


def test_an_empty_file_is_refused() -> None:
    error = refusal(b"", "plan.pdf")

    assert isinstance(error, InvalidInput)
    assert "empty" in error.detail


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(elf(), "plan.pdf", id="elf-named-pdf"),
        pytest.param(windows_program(), "plan.pdf", id="pe-named-pdf"),
        pytest.param(windows_program(), "setup.exe", id="pe"),
        pytest.param(b"MZ" + bytes(200), "plan.docx", id="dos-mz"),
        pytest.param(mach_o(), "app.pdf", id="mach-o"),
    ],
)
def test_programs_are_refused_whatever_their_name(data: bytes, name: str) -> None:
    error = refusal(data, name)

    assert error.status_code == 415
    assert error.detail.startswith("This file looks like a program (")
    assert "Upload a PDF, Office/OpenDocument file, image, audio or video." in error.detail


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(b"#!/bin/sh\nrm -rf ~\n", "notes.txt", id="shell"),
        pytest.param(b"#!/usr/bin/env python3\nimport os\n", "notes.txt", id="python"),
        pytest.param(b"\xef\xbb\xbf#!/bin/bash\necho hi\n", "notes.md", id="bom-shebang"),
        pytest.param(b"<?php system($_GET['c']); ?>\n", "notes.txt", id="php"),
        pytest.param(b"@echo off\r\ndel /q C:\\*\r\n", "notes.txt", id="batch"),
    ],
)
def test_scripts_are_refused(data: bytes, name: str) -> None:
    error = refusal(data, name)

    assert error.status_code == 415
    assert "script" in error.detail


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"<html><head><title>x</title></head><body>hi</body></html>",
    ],
)
def test_html_is_refused_even_named_as_text(data: bytes) -> None:
    error = refusal(data, "page.txt")

    assert error.status_code == 415
    assert "web page" in error.detail


@pytest.mark.parametrize("name", ["drawing.svg", "drawing.png", "drawing.txt"])
def test_svg_with_a_script_is_refused(name: str) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'

    error = refusal(svg, name)

    assert error.status_code == 415
    assert "SVG or XML" in error.detail


def test_xml_is_refused() -> None:
    assert (
        refusal(b'<?xml version="1.0"?><lesson><title>x</title></lesson>', "a.txt").status_code
        == 415
    )


def test_a_pdf_with_a_zip_appended_is_refused() -> None:
    polyglot = pdf() + zip_of({"payload.exe": b"MZ" + bytes(100)})

    error = refusal(polyglot, "plan.pdf")

    assert error.status_code == 415
    assert "ZIP archive hidden" in error.detail


def test_a_pdf_with_data_after_its_end_is_refused() -> None:
    error = refusal(pdf() + b"<script>alert(1)</script>", "plan.pdf")

    assert error.status_code == 415
    assert "%%EOF" in error.detail


def test_an_image_with_a_zip_appended_is_refused() -> None:
    assert refusal(image("PNG") + zip_of({"a.txt": "x"}), "pic.png").status_code == 415


def test_a_zip_bomb_named_docx_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", "<document/>")
        with archive.open("word/media/image1.png", "w", force_zip64=True) as member:
            zeros = bytes(16 * 1024 * 1024)
            for _ in range(70):  # 1.1 GiB of zeros, about 5 MiB compressed
                member.write(zeros)
    bomb = out.getvalue()

    error = refusal(bomb, "plan.docx")

    assert isinstance(error, InvalidInput)
    assert "unpacks to 1.1 GB from 4.9 MB" in error.detail


@pytest.mark.parametrize("name", ["plan.docx", "files.zip"])
def test_a_plain_zip_is_refused_as_an_archive(name: str) -> None:
    error = refusal(zip_of({"lesson.pdf": pdf(), "notes.txt": "x"}), name)

    assert error.status_code == 415
    assert "archive" in error.detail


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(gzip.compress(b"hello" * 100), "notes.txt", id="gzip"),
        pytest.param(b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64), "a.pdf", id="7z"),
        pytest.param(b"Rar!\x1a\x07\x01\x00" + bytes(64), "a.pdf", id="rar"),
    ],
)
def test_other_archives_are_refused(data: bytes, name: str) -> None:
    assert "archive" in refusal(data, name).detail


def test_an_office_file_with_macros_is_refused() -> None:
    macro_document = zip_of(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "word/document.xml": "<document/>",
            "word/vbaProject.bin": b"\xd0\xcf\x11\xe0" + bytes(100),
        },
        first="[Content_Types].xml",
    )

    error = refusal(macro_document, "plan.docx")

    assert error.status_code == 415
    assert "macros" in error.detail


def test_a_document_behind_a_program_is_refused() -> None:
    error = refusal(windows_program() + word_document(), "plan.docx")

    assert error.status_code == 415
    assert "program" in error.detail


def test_a_document_with_another_zip_in_front_is_refused() -> None:
    error = refusal(zip_of({"a.txt": "x"}) + word_document(), "plan.docx")

    assert error.status_code == 415
    assert "something else in front of the document" in error.detail


def test_an_opendocument_kind_not_on_the_list_is_refused() -> None:
    drawing = zip_of(
        {"mimetype": "application/vnd.oasis.opendocument.graphics", "content.xml": "<x/>"},
        first="mimetype",
    )

    assert refusal(drawing, "drawing.odg").status_code == 415


def test_an_unknown_binary_is_refused_with_what_to_upload() -> None:
    error = refusal(bytes([0, 1, 2, 3, 255, 254]) * 300, "data.pdf")

    assert error.status_code == 415
    assert "Upload a PDF" in error.detail


@pytest.mark.parametrize(
    ("build", "name", "expected_in_detail"),
    [
        (word_document, "plan.pdf", "Rename it to end in .docx"),
        (lambda: image("PNG"), "photo.jpg", "Rename it to end in .png"),
        (pdf, "plan.docx", "Rename it to end in .pdf"),
        (lambda: b"just some text\n", "notes.pdf", "Rename it to end in .txt"),
        (workbook, "marks.xls", "Rename it to end in .xlsx"),
    ],
)
def test_a_name_that_disagrees_with_the_content_is_refused(
    build: Callable[[], bytes], name: str, expected_in_detail: str
) -> None:
    error = refusal(build(), name)

    assert isinstance(error, InvalidInput)
    assert expected_in_detail in error.detail


def test_a_name_without_extension_is_refused_with_the_one_to_use() -> None:
    error = refusal(image("PNG"), "photo")

    assert isinstance(error, InvalidInput)
    assert "no extension" in error.detail and ".png" in error.detail


def test_a_program_is_refused_before_it_has_all_arrived() -> None:
    inspector = ContentInspector()

    def chunks() -> Iterator[bytes]:
        yield elf()[:HEAD_BYTES]
        pytest.fail("the inspector asked for more of a program")

    with pytest.raises(UnsupportedMediaType):
        for chunk in chunks():
            inspector.feed(chunk)


def test_a_refusal_names_the_detected_type_for_the_problem_details() -> None:
    error = refusal(b"<html><body>x</body></html>", "a.txt")

    assert error.extra == {"detected_media_type": "text/html"}
