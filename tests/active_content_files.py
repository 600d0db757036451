"""Documents that carry runnable content, built in the test, and their harmless twins."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

import docx
from fpdf import FPDF
from odf.opendocument import OpenDocumentText
from odf.text import P
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

from tests.sample_files import pdf, word_document

# --- PDF ---------------------------------------------------------------------------------


def _pdf_with(change: Callable[[PdfWriter], None]) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _action(**entries: object) -> DictionaryObject:
    action = DictionaryObject()
    for key, value in entries.items():
        action[NameObject(f"/{key}")] = value  # type: ignore[assignment]
    return action


def pdf_with_javascript_on_open() -> bytes:
    def change(writer: PdfWriter) -> None:
        action = _action(S=NameObject("/JavaScript"), JS=TextStringObject("app.alert('hi');"))
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)

    return _pdf_with(change)


def pdf_with_launch_action() -> bytes:
    def change(writer: PdfWriter) -> None:
        action = _action(S=NameObject("/Launch"), F=TextStringObject("cmd.exe"))
        writer._root_object[NameObject("/OpenAction")] = action

    return _pdf_with(change)


def pdf_with_attached_file() -> bytes:
    return _pdf_with(lambda writer: writer.add_attachment("marks.exe", b"MZ\x90\x00 program"))


def pdf_opening_a_web_address_by_itself() -> bytes:
    def change(writer: PdfWriter) -> None:
        page = writer.pages[0]
        opens = _action(S=NameObject("/URI"), URI=TextStringObject("http://example.invalid/x"))
        page[NameObject("/AA")] = _action(O=opens)

    return _pdf_with(change)


def pdf_form_with_xfa_script() -> bytes:
    def change(writer: PdfWriter) -> None:
        stream = DecodedStreamObject()
        stream.set_data(
            b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform>'
            b'<event activity="initialize"><script contentType="application/x-javascript">'
            b"app.alert(1)</script></event></subform></template></xdp:xdp>"
        )
        form = _action(Fields=ArrayObject(), XFA=writer._add_object(stream))
        writer._root_object[NameObject("/AcroForm")] = writer._add_object(form)

    return _pdf_with(change)


def pdf_with_hidden_javascript_in_an_object_stream() -> bytes:
    """JavaScript on opening, inside a compressed object stream, its names spelt with
    `#` escapes (`/J#61vaScript`, `/J#53`): invisible to a search of the raw bytes."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>",
    ]
    header = b""
    body = b""
    for number, data in enumerate(objects, start=1):
        header += b"%d %d " % (number, len(body))
        body += data + b"\n"
    packed = zlib.compress(header + body)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    stream_at = len(out)
    out += b"5 0 obj\n<< /Type /ObjStm /N 4 /First %d /Filter /FlateDecode /Length %d >>\n" % (
        len(header),
        len(packed),
    )
    out += b"stream\n" + packed + b"\nendstream\nendobj\n"
    xref_at = len(out)
    rows = [struct.pack(">BIH", 0, 0, 0xFFFF)]
    rows += [struct.pack(">BIH", 2, 5, index) for index in range(4)]
    rows += [struct.pack(">BIH", 1, stream_at, 0), struct.pack(">BIH", 1, xref_at, 0)]
    table = b"".join(rows)
    out += b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\n" % len(table)
    out += b"stream\n" + table + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def pdf_with_text_and_a_link() -> bytes:
    """An ordinary handout: text, and a link the reader may click (not opened by itself)."""
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=14)
    document.cell(text="Fractions, grade 5", link="https://example.org/fractions")
    return bytes(document.output())


# --- RTF ---------------------------------------------------------------------------------


def rtf_with_embedded_package() -> bytes:
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}Lesson plan "
        b"{\\object\\objemb\\objw100\\objh100{\\*\\objclass Package}"
        b"{\\*\\objdata 01050000020000000800000050616b6167650000000000}}}"
    )


def rtf_plain() -> bytes:
    # "\\object" escaped is the word, not the control word, and "objective" is text.
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}Objective: type \\\\object in the "
        b"search box.\\par The objective of the lesson.}"
    )


# --- Office Open XML and OpenDocument ------------------------------------------------------


def _zip_with(base: bytes, extra: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        for name, data in extra.items():
            target.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def docx_with_embedded_ole_object() -> bytes:
    return _zip_with(
        word_document(), {"word/embeddings/oleObject1.bin": bytes.fromhex("D0CF11E0A1B11AE1")}
    )


def docx_with_activex_control() -> bytes:
    return _zip_with(
        word_document(),
        {"word/activeX/activeX1.xml": b"<ax:ocx/>", "word/activeX/activeX1.bin": b"\0"},
    )


def docx_with_a_picture() -> bytes:
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(picture, "PNG")
    picture.seek(0)
    document = docx.Document()
    document.add_paragraph("A picture of the class.")
    document.add_picture(picture)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt(extra: dict[str, bytes] | None = None) -> bytes:
    document = OpenDocumentText()
    document.text.addElement(P(text="Сабак планы: бөлчөктөр"))
    out = io.BytesIO()
    document.write(out)
    return _zip_with(out.getvalue(), extra or {})


def odt_with_ole_object() -> bytes:
    return odt({"Object 1": bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)})


def odt_with_basic_macro() -> bytes:
    return odt(
        {
            "Basic/script-lc.xml": b"<library:libraries/>",
            "Basic/Standard/script-lb.xml": b"<library:library/>",
            "Basic/Standard/Module1.xml": b'<script:module>Sub Main\nShell("calc")\nEnd Sub',
        }
    )


def odt_with_python_script() -> bytes:
    return odt({"Scripts/python/run.py": b"import os\nos.system('calc')\n"})


def odt_with_chart() -> bytes:
    """A native OpenDocument object (a chart) is a folder of XML, not a program."""
    return odt(
        {
            "Object 1/content.xml": b"<office:document-content/>",
            "ObjectReplacements/Object 1": b"picture",
        }
    )


HOSTILE_PDFS: dict[str, Callable[[], bytes]] = {
    "javascript-on-open": pdf_with_javascript_on_open,
    "javascript-hidden-in-object-stream": pdf_with_hidden_javascript_in_an_object_stream,
    "launch": pdf_with_launch_action,
    "attached-file": pdf_with_attached_file,
    "opens-web-address": pdf_opening_a_web_address_by_itself,
    "xfa-script": pdf_form_with_xfa_script,
}

# (id, build, file name, words the refusal uses)
HOSTILE_FILES: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("pdf-javascript-on-open", pdf_with_javascript_on_open, "plan.pdf", "script that runs"),
    (
        "pdf-javascript-in-object-stream",
        pdf_with_hidden_javascript_in_an_object_stream,
        "plan.pdf",
        "script that runs",
    ),
    ("pdf-launch", pdf_with_launch_action, "plan.pdf", "start a program"),
    ("pdf-attached-file", pdf_with_attached_file, "plan.pdf", "files attached"),
    ("rtf-object", rtf_with_embedded_package, "letter.rtf", "embedded object"),
    ("docx-ole-object", docx_with_embedded_ole_object, "plan.docx", "embedded object"),
    ("docx-activex", docx_with_activex_control, "plan.docx", "ActiveX"),
    ("odt-ole-object", odt_with_ole_object, "plan.odt", "embedded object"),
    ("odt-basic-macro", odt_with_basic_macro, "plan.odt", "macros"),
    ("odt-python-script", odt_with_python_script, "plan.odt", "scripts"),
]

BENIGN_FILES: list[tuple[str, Callable[[], bytes], str]] = [
    ("pdf-blank", pdf, "plan.pdf"),
    ("pdf-text-and-link", pdf_with_text_and_a_link, "plan.pdf"),
    ("rtf", rtf_plain, "letter.rtf"),
    ("docx-picture", docx_with_a_picture, "plan.docx"),
    ("odt", odt, "plan.odt"),
    ("odt-chart", odt_with_chart, "plan.odt"),
]
