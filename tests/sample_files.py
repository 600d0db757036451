"""Real files to upload, built here byte for byte: what schools share and what they must not."""

from __future__ import annotations

import functools
import io
import struct
import zipfile

import docx
from PIL import Image
from pypdf import PdfWriter


def pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_of_size(size: int) -> bytes:
    """A valid PDF of exactly `size` bytes: padding in a comment before the
    cross-reference table (whose position `startxref` gives) keeps it one well-formed
    document that readers open, with `startxref` near its end where they look for it."""
    base = pdf()
    xref = base.rindex(b"\nxref\n") + 1
    before, after = base[:xref], base[xref:]
    start = after.rindex(b"startxref\n") + len(b"startxref\n")
    end = after.index(b"\n", start)
    padding = size - len(base) - 2
    for _ in range(3):  # the new offset may take more digits than the old one
        new_after = after[:start] + str(xref + padding + 2).encode() + after[end:]
        padding = size - len(before) - len(new_after) - 2
    assert padding >= 0, f"a PDF needs at least {len(base) + 2} bytes"
    new_after = after[:start] + str(xref + padding + 2).encode() + after[end:]
    return before + b"%" + b"x" * padding + b"\n" + new_after


def word_document(text: str = "Сабак планы: бөлчөктөр, 5-класс") -> bytes:
    return docx_of(text)


def docx_of(*paragraphs: str) -> bytes:
    """A Word document with one paragraph per argument."""
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def text(body: str = "Lesson notes: fractions, grade 5.\nHomework: page 12.\n") -> bytes:
    return body.encode("utf-8")


def html_page() -> bytes:
    return (
        b"<!DOCTYPE html><html><head><title>x</title></head>"
        b"<body><script>alert(1)</script></body></html>"
    )


def svg_with_script() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


def elf_program() -> bytes:
    header = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHI", 2, 0x3E, 1) + bytes(40)
    return header + bytes(16 * 1024)


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def pdf_with_zip_appended() -> bytes:
    return pdf() + zip_of({"payload.exe": b"MZ" + bytes(100)})


@functools.cache
def zip_bomb_docx() -> bytes:
    """A Word-looking container whose one picture unpacks to 1.1 GiB of zeros (about
    5 MiB on the wire), built once per test run."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"/>',
        )
        archive.writestr("word/document.xml", "<document/>")
        with archive.open("word/media/image1.png", "w", force_zip64=True) as member:
            zeros = bytes(16 * 1024 * 1024)
            for _ in range(70):
                member.write(zeros)
    return out.getvalue()
