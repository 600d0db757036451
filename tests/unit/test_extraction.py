"""Text extraction from uploaded files: real documents in Kyrgyz, Russian and English,
the encodings schools' computers write, and hostile files that must end within limits.

Every file is generated here: DOCX with python-docx, ODT with odfpy, PDF with fpdf2,
the other formats as zip archives of minimal XML, hostile files byte by byte.
"""

from __future__ import annotations

import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import docx
import magic
import pytest
from fpdf import FPDF
from odf import teletype
from odf.opendocument import OpenDocumentText
from odf.text import H, P

from exchange.text.extraction import (
    Extraction,
    ExtractionLimits,
    Reasons,
    extract_text,
    extract_text_isolated,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODP = "application/vnd.oasis.opendocument.presentation"
ODS = "application/vnd.oasis.opendocument.spreadsheet"

# From the handbook in shared/seed (Kyrgyz original).
KYRGYZ = (
    "Мектепке конок болуп келгенибизде, муну даана байкайбыз.",
    "Окуучулары да оор басырыктуу, көӊүлдүү жана окууга дилгир экендиги байкалат.",
    "Жана почта сыяктуу салттуу каражаттар аркылуу жүргүзүлүүчү өнөктөштүктү эске алабыз.",
)
RUSSIAN = (
    "Оценивание учебных достижений учащихся седьмого класса.",
    "Эпос «Манас» изучают на уроках литературы; ёлка во дворе школы.",
)
ENGLISH = ("Partner schools share lesson plans and assessments.",)

# Generous bound for "ends within its limits" on a slow, busy machine.
WITHIN_LIMITS_SECONDS = 30.0

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
P_NS = "http://schemas.openxmlformats.org/presentationml/2006/main"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SLIDE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide"
ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
)


def write_zip(path: Path, parts: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return path


def word_document_xml(body: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}">'
        f"<w:body>{body}</w:body></w:document>"
    )


def slide_xml(*paragraphs: str) -> str:
    runs = "".join(f"<a:p><a:r><a:t>{text}</a:t></a:r></a:p>" for text in paragraphs)
    return (
        f'<p:sld xmlns:p="{P_NS}" xmlns:a="{A_NS}"><p:cSld><p:spTree><p:sp><p:txBody>'
        f"{runs}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
    )


def build_pdf(objects: list[bytes], *, prev_points_to_itself: bool = False) -> bytes:
    """A PDF with a correct cross-reference table over the given objects (1-based)."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    prev = b" /Prev %d" % xref_at if prev_points_to_itself else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        prev,
        xref_at,
    )
    return bytes(out)


HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_page(contents_object: int) -> bytes:
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents %d 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>" % contents_object
    )


def pdf_stream(content: bytes, *, compress: bool = False) -> bytes:
    if compress:
        data = zlib.compress(content)
        return (
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
        )
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def find_unicode_font() -> Path:
    for candidate in (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    ):
        if candidate.is_file():
            return candidate
    pytest.skip("needs the DejaVuSans font (Debian package fonts-dejavu-core) to write a PDF")


def assert_done_with(extraction: Extraction, *fragments: str) -> None:
    assert extraction.status == "done", extraction
    assert not extraction.truncated
    assert extraction.reason is None
    for fragment in fragments:
        assert fragment in extraction.text


# --- real documents -----------------------------------------------------------------


def test_docx_text_keeps_paragraphs_tables_and_headers_in_three_languages(tmp_path: Path) -> None:
    document = docx.Document()
    for sentence in (*KYRGYZ, *RUSSIAN, *ENGLISH):
        document.add_paragraph(sentence)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Баа берүү"
    table.cell(0, 1).text = "Assessment rubric"
    run = document.add_paragraph().add_run("before break")
    run.add_break()
    run.add_text("after break")
    document.sections[0].header.paragraphs[0].text = "Колонтитул мектеби"
    path = tmp_path / "plan.docx"
    document.save(str(path))

    extraction = extract_text(path, magic.from_file(str(path), mime=True))

    assert_done_with(extraction, *KYRGYZ, *RUSSIAN, *ENGLISH, "Баа берүү")
    lines = extraction.text.split("\n")
    assert lines[: len(KYRGYZ)] == list(KYRGYZ)
    assert "Assessment rubric" in lines
    assert "before break" in lines and "after break" in lines
    assert "Колонтитул мектеби" in lines


def test_odt_text_keeps_headings_paragraphs_tabs_and_spaces(tmp_path: Path) -> None:
    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Манас эпосу: 7-класс"))
    for sentence in (*KYRGYZ, *RUSSIAN, *ENGLISH):
        paragraph = P()
        teletype.addTextToElement(paragraph, sentence)
        document.text.addElement(paragraph)
    spaced = P()
    teletype.addTextToElement(spaced, "колонка\tбаа  эки")
    document.text.addElement(spaced)
    path = tmp_path / "plan.odt"
    document.save(str(path))

    extraction = extract_text(path, magic.from_file(str(path), mime=True))

    assert_done_with(extraction, *KYRGYZ, *RUSSIAN, *ENGLISH)
    lines = extraction.text.split("\n")
    assert lines[0] == "Манас эпосу: 7-класс"
    assert "колонка\tбаа эки" in lines


def test_pdf_text_comes_out_of_every_page_in_three_languages(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(find_unicode_font()))
    pdf.set_font("DejaVu", size=12)
    for sentences in (KYRGYZ, RUSSIAN, ENGLISH):
        pdf.add_page()
        pdf.multi_cell(0, 8, "\n".join(sentences))
    path = tmp_path / "plan.pdf"
    pdf.output(str(path))

    extraction = extract_text(path, magic.from_file(str(path), mime=True))

    assert extraction.status == "done", extraction
    words = extraction.text.split()
    for word in ("өнөктөштүктү", "көӊүлдүү", "учащихся", "ёлка", "«Манас»", "assessments."):
        assert word in words


def test_pptx_slides_come_in_presentation_order_then_notes(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "lesson.pptx",
        {
            "ppt/presentation.xml": (
                f'<p:presentation xmlns:p="{P_NS}" xmlns:r="{R_NS}"><p:sldIdLst>'
                '<p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId2"/>'
                "</p:sldIdLst></p:presentation>"
            ),
            "ppt/_rels/presentation.xml.rels": (
                f'<Relationships xmlns="{PKG_REL_NS}">'
                f'<Relationship Id="rId2" Type="{SLIDE_REL}" Target="slides/slide1.xml"/>'
                f'<Relationship Id="rId3" Type="{SLIDE_REL}" Target="slides/slide2.xml"/>'
                "</Relationships>"
            ),
            "ppt/slides/slide1.xml": slide_xml("Экинчи слайд", KYRGYZ[0]),
            "ppt/slides/slide2.xml": slide_xml("Биринчи слайд", RUSSIAN[0]),
            "ppt/notesSlides/notesSlide1.xml": slide_xml("Мугалим үчүн эскертме"),
        },
    )

    extraction = extract_text(path, PPTX)

    assert_done_with(extraction, KYRGYZ[0], RUSSIAN[0])
    text = extraction.text
    assert text.index("Биринчи слайд") < text.index("Экинчи слайд") < text.index("эскертме")


def test_xlsx_shared_and_inline_strings_without_phonetic_runs(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "marks.xlsx",
        {
            "xl/workbook.xml": f'<workbook xmlns="{S_NS}"><sheets/></workbook>',
            "xl/sharedStrings.xml": (
                f'<sst xmlns="{S_NS}"><si><t>Окуучунун аты</t></si>'
                "<si><r><t>Баа </t></r><r><t>(оценка)</t></r><rPh><t>ignored</t></rPh></si></sst>"
            ),
            "xl/worksheets/sheet1.xml": (
                f'<worksheet xmlns="{S_NS}"><sheetData><row r="1">'
                '<c r="A1" t="s"><v>0</v></c>'
                '<c r="B1" t="inlineStr"><is><t>Inline grade note</t></is></c>'
                '<c r="C1"><v>42</v></c></row></sheetData></worksheet>'
            ),
        },
    )

    extraction = extract_text(path, XLSX)

    assert_done_with(extraction, "Окуучунун аты", "Баа (оценка)", "Inline grade note")
    assert "ignored" not in extraction.text
    assert "42" not in extraction.text


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        (
            ODS,
            "<office:spreadsheet><table:table><table:table-row>"
            "<table:table-cell><text:p>{0}</text:p></table:table-cell>"
            "<table:table-cell><text:p>{1}</text:p></table:table-cell>"
            "</table:table-row></table:table></office:spreadsheet>",
        ),
        (
            ODP,
            "<office:presentation><draw:page><draw:frame><draw:text-box>"
            "<text:p>{0}</text:p><text:p>{1}</text:p>"
            "</draw:text-box></draw:frame></draw:page></office:presentation>",
        ),
    ],
)
def test_ods_and_odp_text_comes_from_content_xml(
    tmp_path: Path, media_type: str, body: str
) -> None:
    content = (
        f"<office:document-content {ODF_NS}><office:body>"
        + body.format(KYRGYZ[1], ENGLISH[0])
        + "</office:body></office:document-content>"
    )
    path = write_zip(tmp_path / "file.od", {"mimetype": media_type, "content.xml": content})

    extraction = extract_text(path, media_type)

    assert_done_with(extraction, KYRGYZ[1], ENGLISH[0])


def test_office_file_sniffed_only_as_zip_is_still_read(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "plan.docx",
        {"word/document.xml": word_document_xml(f"<w:p><w:r><w:t>{KYRGYZ[2]}</w:t></w:r></w:p>")},
    )

    assert_done_with(extract_text(path, "application/zip"), KYRGYZ[2])


def test_plain_zip_archive_is_unsupported(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "photos.zip", {"readme.txt": "hello"})

    extraction = extract_text(path, "application/zip")

    assert extraction == Extraction("unsupported", "", False, Reasons.ARCHIVE)


def test_docx_skips_deleted_text_field_codes_and_fallback_copies(tmp_path: Path) -> None:
    body = (
        "<w:p><w:pPr><w:tabs><w:tab w:val='left' w:pos='720'/></w:tabs></w:pPr>"
        "<w:r><w:t>Көрүнгөн</w:t></w:r><w:r><w:tab/><w:t>текст</w:t></w:r>"
        "<w:del><w:r><w:delText>өчүрүлгөн</w:delText></w:r></w:del>"
        "<w:r><w:instrText>HYPERLINK x</w:instrText></w:r></w:p>"
        '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        "<mc:Choice><w:p><w:r><w:t>кутуча</w:t></w:r></w:p></mc:Choice>"
        "<mc:Fallback><w:p><w:r><w:t>кутуча</w:t></w:r></w:p></mc:Fallback></mc:AlternateContent>"
    )
    path = write_zip(tmp_path / "d.docx", {"word/document.xml": word_document_xml(body)})

    extraction = extract_text(path, DOCX)

    assert extraction.text == "Көрүнгөн\tтекст\nкутуча"


# --- RTF ----------------------------------------------------------------------------


def test_rtf_hex_escapes_use_the_document_code_page_under_an_ansi_font(tmp_path: Path) -> None:
    # Many generators declare \ansicpg1251 with \fcharset0 fonts and write \'hh bytes.
    path = tmp_path / "ru.rtf"
    path.write_bytes(
        rb"{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0\fswiss\fcharset0 Arial;}}"
        rb"\f0 \'cf\'eb\'e0\'ed \'f3\'f0\'ee\'ea\'e0: \'b8\'eb\'ea\'e0\par}"
    )

    assert extract_text(path, "text/rtf").text == "План урока: ёлка"


def test_rtf_font_charset_and_unicode_escapes_with_fallbacks(tmp_path: Path) -> None:
    path = tmp_path / "ky.rtf"
    path.write_bytes(
        rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fnil\fcharset0 Calibri;}"
        rb"{\f1\froman\fcharset204 Times New Roman Cyr;}}"
        rb"{\f1 \'cc\'e5\'ea\'f2\'e5\'ef} "
        rb"\uc1\u1257?\u1187?\u1199? "
        rb"{\uc2\u1257\'3f\'3f\u1187\'3f\'3f} "
        rb"\uc0\u8470 7 "
        rb"\uc1\u-10179?\u-8704?\par}"
    )

    assert extract_text(path, "application/rtf").text == "Мектеп өңү өң №7 \U0001f600"


def test_rtf_skips_tables_info_pictures_binary_and_starred_destinations(tmp_path: Path) -> None:
    path = tmp_path / "skips.rtf"
    path.write_bytes(
        rb"{\rtf1\ansi\ansicpg1251{\fonttbl{\f0 Arial;}}{\colortbl;\red255\green0\blue0;}"
        rb"{\stylesheet{\s0 Normal;}}{\info{\title Secret title}{\author Someone}}"
        rb"{\*\generator Riched20 10.0;}{\*\unknowndestination hidden}"
        rb"Visible{\pict\pngblip 89504e47}{\pict\bin4 }}{{}text\line "
        rb"\{braces\} back\\slash\tab tab{\field{\*\fldinst HYPERLINK x}{\fldrslt link}}\par}"
    )

    text = extract_text(path, "text/rtf").text

    assert text == "Visibletext\n{braces} back\\slash\ttablink"


def test_rtf_larger_than_one_read_chunk_keeps_control_words_across_chunks(tmp_path: Path) -> None:
    # Control words and escapes straddle the reader's 1 MiB chunk boundaries somewhere.
    paragraph = rb"\'cc\'e5\'ea\'f2\'e5\'ef \u1257? \par "
    path = tmp_path / "long.rtf"
    path.write_bytes(rb"{\rtf1\ansi\ansicpg1251 " + paragraph * 80_000 + b"}")

    extraction = extract_text(path, "text/rtf")

    assert extraction.status == "done"
    assert extraction.text.split("\n") == ["Мектеп ө"] * 80_000


# --- plain text in the encodings schools use ----------------------------------------

RUSSIAN_TEXT = "Учебный план по истории Кыргызстана. Ёлка, ёж и эпос «Манас».\n"
KYRGYZ_TEXT = "\n".join(KYRGYZ)


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1251", RUSSIAN_TEXT * 3),
        ("koi8_r", RUSSIAN_TEXT.replace("«", '"').replace("»", '"') * 3),
        ("utf-16", KYRGYZ_TEXT),  # Python writes the byte-order mark
        ("utf-16-be", "\ufeff" + KYRGYZ_TEXT),
        ("utf-8-sig", KYRGYZ_TEXT),
        ("utf-8", KYRGYZ_TEXT),
    ],
)
def test_plain_text_is_decoded_from_common_encodings(
    tmp_path: Path, encoding: str, text: str
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(text.encode(encoding))

    extraction = extract_text(path, magic.from_file(str(path), mime=True))

    assert extraction.status == "done"
    assert extraction.text == text.lstrip("\ufeff").strip()


@pytest.mark.parametrize("media_type", ["text/markdown", "text/csv", "text/plain; charset=utf-8"])
def test_markdown_and_csv_are_read_as_text(tmp_path: Path, media_type: str) -> None:
    path = tmp_path / "file"
    path.write_text("# Сабак\n\n| класс | баа |\n|---|---|\n| 7 | жакшы |\n", encoding="utf-8")

    extraction = extract_text(path, media_type)

    assert extraction.status == "done"
    assert "| 7 | жакшы |" in extraction.text


def test_bad_bytes_in_text_never_crash_and_control_characters_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(b"\xff\xfe\xfa abc \x00\x01 " + bytes(range(256)) + "мектеп".encode())

    extraction = extract_text(path, "text/plain")

    assert extraction.status == "done"
    assert "\x00" not in extraction.text and "\x01" not in extraction.text


def test_text_longer_than_the_limit_is_cut_and_marked_truncated(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("өнөктөштүк " * 10_000, encoding="utf-8")

    extraction = extract_text(path, "text/plain", ExtractionLimits(max_output_chars=1000))

    assert extraction.status == "done"
    assert extraction.truncated
    assert extraction.reason == Reasons.TEXT_TOO_LONG
    assert 0 < len(extraction.text) <= 1000
    assert extraction.text.startswith("өнөктөштүк өнөктөштүк")


# --- nothing to extract -------------------------------------------------------------


@pytest.mark.parametrize(
    ("media_type", "reason"),
    [
        ("application/msword", Reasons.LEGACY_OFFICE),
        ("application/vnd.ms-excel", Reasons.LEGACY_OFFICE),
        ("application/vnd.ms-powerpoint", Reasons.LEGACY_OFFICE),
        ("image/jpeg", Reasons.MEDIA),
        ("audio/mpeg", Reasons.MEDIA),
        ("video/mp4", Reasons.MEDIA),
        ("application/octet-stream", Reasons.OTHER_KIND),
    ],
)
def test_legacy_office_and_media_are_unsupported_without_reading_them(
    tmp_path: Path, media_type: str, reason: str
) -> None:
    never_written = tmp_path / "absent"

    for extract in (extract_text, extract_text_isolated):
        assert extract(never_written, media_type) == Extraction("unsupported", "", False, reason)


def test_pdf_without_a_text_layer_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    drawing = b"0 0 m 100 100 l S"
    path.write_bytes(
        build_pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                pdf_page(4),
                pdf_stream(drawing),
                HELVETICA,
            ]
        )
    )

    extraction = extract_text(path, "application/pdf")

    assert extraction == Extraction("no_text", "", False, Reasons.NO_TEXT)


def test_whitespace_only_text_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(b" \r\n\t \n")

    assert extract_text(path, "text/plain").status == "no_text"


def test_missing_file_is_a_storage_error_not_a_document_outcome(tmp_path: Path) -> None:
    for extract in (extract_text, extract_text_isolated):
        with pytest.raises(FileNotFoundError):
            extract(tmp_path / "gone.pdf", "application/pdf")


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout_seconds"):
        ExtractionLimits(timeout_seconds=0)


# --- hostile files ------------------------------------------------------------------


def write_bomb(path: Path, prefix: bytes, filler: bytes, size: int) -> Path:
    """A DOCX whose document part inflates to `size` bytes from a small file."""
    block = filler * (1024 * 1024 // len(filler))
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("word/document.xml", "w", force_zip64=True) as part,
    ):
        part.write(prefix)
        for _ in range(size // len(block)):
            part.write(block)
    return path


@pytest.fixture(scope="module")
def zero_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bomb(tmp_path_factory.mktemp("bombs") / "zeros.docx", b"", b"\0", 1024**3)


@pytest.fixture(scope="module")
def whitespace_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    prefix = f'<w:document xmlns:w="{W_NS}"><w:body>'.encode()
    return write_bomb(tmp_path_factory.mktemp("bombs") / "spaces.docx", prefix, b" ", 512 * 1024**2)


Extractor = Callable[[Path, str], Extraction]
BOTH_WAYS = pytest.mark.parametrize(
    "extract", [extract_text, extract_text_isolated], ids=["in_process", "isolated"]
)


def timed(extract: Extractor, path: Path, media_type: str) -> tuple[Extraction, float]:
    started = time.monotonic()
    extraction = extract(path, media_type)
    return extraction, time.monotonic() - started


@BOTH_WAYS
def test_zip_bomb_of_zeros_named_docx_ends_without_text(
    zero_bomb: Path, extract: Extractor
) -> None:
    assert zero_bomb.stat().st_size < 10 * 1024**2

    extraction, elapsed = timed(extract, zero_bomb, DOCX)

    assert extraction.status in {"no_text", "failed"}
    assert extraction.text == ""
    assert elapsed < WITHIN_LIMITS_SECONDS


@BOTH_WAYS
def test_zip_bomb_of_well_formed_xml_stops_at_the_byte_cap_as_no_text(
    whitespace_bomb: Path, extract: Extractor
) -> None:
    extraction, elapsed = timed(extract, whitespace_bomb, "application/zip")

    assert extraction == Extraction("no_text", "", False, Reasons.TOO_MUCH_DATA)
    assert elapsed < WITHIN_LIMITS_SECONDS


def test_zip_bomb_with_text_keeps_the_first_part_up_to_the_byte_cap(tmp_path: Path) -> None:
    prefix = f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>'.encode()
    path = write_bomb(tmp_path / "text.docx", prefix, "мектеп ".encode(), 64 * 1024**2)
    limits = ExtractionLimits(max_output_chars=100_000_000, max_entry_bytes=4 * 1024**2)

    extraction = extract_text(path, DOCX, limits)

    assert extraction.status == "done"
    assert extraction.truncated
    assert extraction.reason == Reasons.TOO_MUCH_DATA_PARTIAL
    assert extraction.text.startswith("мектеп мектеп")
    assert len(extraction.text.encode()) <= 4 * 1024**2


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{level} "{("&lol" + (str(level - 1) if level > 1 else "") + ";") * 10}">\n'
        for level in range(1, 10)
    )
    + f']>\n<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>'
    "</w:body></w:document>"
)


@BOTH_WAYS
def test_billion_laughs_inside_a_docx_ends_as_no_text(tmp_path: Path, extract: Extractor) -> None:
    path = write_zip(tmp_path / "laughs.docx", {"word/document.xml": BILLION_LAUGHS})

    extraction, elapsed = timed(extract, path, DOCX)

    assert extraction == Extraction("no_text", "", False, Reasons.FORBIDDEN_XML)
    assert elapsed < WITHIN_LIMITS_SECONDS


def test_archive_with_more_entries_than_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    parts: dict[str, str | bytes] = {f"word/media/image{n}.png": b"" for n in range(60)}
    parts["word/document.xml"] = word_document_xml("<w:p><w:r><w:t>hidden</w:t></w:r></w:p>")
    path = write_zip(tmp_path / "many.docx", parts)

    extraction = extract_text(path, DOCX, ExtractionLimits(max_entries=50))

    assert extraction == Extraction("no_text", "", False, Reasons.TOO_MANY_PARTS)


def declare_entries_in_zip64_records(path: Path, entries: int) -> None:
    """Rewrites the end of the zip at `path` as a ZIP64 archive writes it: the classic end
    record's counts say 0xFFFF, and a ZIP64 end record (with its locator) says `entries`."""
    data = path.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    directory_size, directory_offset = struct.unpack_from("<LL", data, end + 12)
    zip64_end = struct.pack(
        "<4sQ2H2L4Q",
        b"PK\x06\x06",
        44,
        45,
        45,
        0,
        0,
        entries,
        entries,
        directory_size,
        directory_offset,
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    classic_end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, directory_size, directory_offset, 0
    )
    path.write_bytes(data[:end] + zip64_end + locator + classic_end)


def test_archive_whose_zip64_record_declares_more_entries_than_the_cap_is_refused_before_reading(
    tmp_path: Path,
) -> None:
    # The directory holds three entries, so only the count of the ZIP64 end record, read
    # before zipfile builds its index, can refuse the archive.
    path = write_zip(
        tmp_path / "zip64.docx",
        {"word/document.xml": word_document_xml("<w:p><w:r><w:t>hidden</w:t></w:r></w:p>")},
    )
    declare_entries_in_zip64_records(path, 100_000)
    with zipfile.ZipFile(path) as archive:
        assert len(archive.infolist()) == 1

    extraction = extract_text(path, DOCX, ExtractionLimits(max_entries=50))

    assert extraction == Extraction("no_text", "", False, Reasons.TOO_MANY_PARTS)


def test_archive_whose_zip64_record_declares_few_entries_is_read(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "zip64.docx",
        {"word/document.xml": word_document_xml("<w:p><w:r><w:t>Манас</w:t></w:r></w:p>")},
    )
    declare_entries_in_zip64_records(path, 1)

    extraction = extract_text(path, DOCX, ExtractionLimits(max_entries=50))

    assert extraction.status == "done" and extraction.text.strip() == "Манас"


PDF_LOOPS = {
    "page_tree_contains_itself": [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        pdf_page(4),
        pdf_stream(b"BT /F1 12 Tf 10 50 Td (loop) Tj ET"),
        HELVETICA,
    ],
    "two_page_nodes_point_at_each_other": [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
    ],
}


@BOTH_WAYS
@pytest.mark.parametrize("objects", PDF_LOOPS.values(), ids=PDF_LOOPS.keys())
def test_pdf_with_a_cyclic_page_tree_ends_within_limits(
    tmp_path: Path, extract: Extractor, objects: list[bytes]
) -> None:
    path = tmp_path / "loop.pdf"
    path.write_bytes(build_pdf(objects))

    extraction, elapsed = timed(extract, path, "application/pdf")

    assert extraction.status in {"failed", "no_text"}
    assert elapsed < WITHIN_LIMITS_SECONDS


@BOTH_WAYS
def test_pdf_whose_xref_chain_loops_ends_within_limits(tmp_path: Path, extract: Extractor) -> None:
    path = tmp_path / "xref.pdf"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        pdf_page(4),
        pdf_stream(b"BT /F1 12 Tf 10 50 Td (Looping xref) Tj ET"),
        HELVETICA,
    ]
    path.write_bytes(build_pdf(objects, prev_points_to_itself=True))

    extraction, elapsed = timed(extract, path, "application/pdf")

    assert extraction.status in {"done", "failed", "no_text"}
    assert elapsed < WITHIN_LIMITS_SECONDS


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("plan.docx", DOCX), ("plan.odt", ODT), ("plan.pdf", "application/pdf")],
)
def test_truncated_files_fail_as_damaged(tmp_path: Path, name: str, media_type: str) -> None:
    whole = tmp_path / f"whole-{name}"
    if name.endswith(".docx"):
        document = docx.Document()
        document.add_paragraph(KYRGYZ[0])
        document.save(str(whole))
    elif name.endswith(".odt"):
        text_document = OpenDocumentText()
        text_document.text.addElement(P(text=KYRGYZ[0]))
        text_document.save(str(whole))
    else:
        whole.write_bytes(
            build_pdf(
                [
                    b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    pdf_page(4),
                    pdf_stream(b"BT /F1 12 Tf 10 50 Td (Cut short) Tj ET" * 50, compress=True),
                    HELVETICA,
                ]
            )
        )
    data = whole.read_bytes()
    cut = tmp_path / name
    cut.write_bytes(data[: len(data) // 3])

    extraction = extract_text(cut, media_type)

    assert extraction.status in {"failed", "no_text"}
    assert extraction.text == ""


def test_random_bytes_under_every_document_type_never_raise(tmp_path: Path) -> None:
    path = tmp_path / "noise"
    path.write_bytes(bytes((n * 7919 + 13) % 256 for n in range(20_000)))

    for media_type in (DOCX, PPTX, XLSX, ODT, "application/pdf", "text/rtf", "text/plain"):
        extraction = extract_text(path, media_type)
        assert extraction.status in {"failed", "no_text", "done"}


def test_damaged_slide_does_not_hide_the_text_of_the_others(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "deck.pptx",
        {
            "ppt/presentation.xml": f'<p:presentation xmlns:p="{P_NS}"/>',
            "ppt/slides/slide1.xml": slide_xml(KYRGYZ[0]),
            "ppt/slides/slide2.xml": "<p:sld><unclosed>",
            "ppt/slides/slide3.xml": slide_xml(ENGLISH[0]),
        },
    )

    extraction = extract_text(path, PPTX)

    assert extraction.status == "done"
    assert extraction.truncated
    assert extraction.reason == Reasons.DAMAGED_PARTIAL
    assert KYRGYZ[0] in extraction.text and ENGLISH[0] in extraction.text


# --- isolation ----------------------------------------------------------------------


def slow_pdf(path: Path) -> Path:
    """One page whose content stream takes pypdf many seconds: no cooperative check runs
    while it is parsed, so only the child's deadline can stop it."""
    content = b"BT /F1 12 Tf 10 50 Td " + b"(ab) Tj 1 0 Td " * 300_000 + b"ET"
    path.write_bytes(
        build_pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                pdf_page(4),
                pdf_stream(content, compress=True),
                HELVETICA,
            ]
        )
    )
    return path


def test_isolated_extraction_kills_a_child_that_runs_past_its_deadline(tmp_path: Path) -> None:
    path = slow_pdf(tmp_path / "slow.pdf")
    limits = ExtractionLimits(timeout_seconds=0.5)

    started = time.monotonic()
    extraction = extract_text_isolated(path, "application/pdf", limits)
    elapsed = time.monotonic() - started

    assert extraction == Extraction("failed", "", False, Reasons.TOO_SLOW)
    assert elapsed < 8


def test_isolated_extraction_fails_when_the_child_needs_more_memory_than_allowed(
    tmp_path: Path,
) -> None:
    # 128 MiB of text kept in full would need far more than the 160 MiB address space.
    prefix = f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>'.encode()
    path = write_bomb(tmp_path / "big.docx", prefix, b"lesson ", 128 * 1024**2)
    limits = ExtractionLimits(
        max_output_chars=10**9,
        max_entry_bytes=10**9,
        max_total_bytes=10**9,
        max_memory_bytes=160 * 1024**2,
    )

    extraction = extract_text_isolated(path, DOCX, limits)

    assert extraction.status == "failed"
    assert extraction.reason in {Reasons.OUT_OF_MEMORY, Reasons.CRASHED}


def test_isolated_extraction_returns_what_in_process_extraction_does(tmp_path: Path) -> None:
    document = docx.Document()
    for sentence in (*KYRGYZ, *RUSSIAN, *ENGLISH):
        document.add_paragraph(sentence)
    path = tmp_path / "same.docx"
    document.save(str(path))

    assert extract_text_isolated(path, DOCX) == extract_text(path, DOCX)


def test_cooperative_deadline_without_text_is_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "plan.rtf"
    path.write_bytes(rb"{\rtf1 text}")

    extraction = extract_text(path, "text/rtf", ExtractionLimits(timeout_seconds=1e-9))

    assert extraction == Extraction("failed", "", False, Reasons.TOO_SLOW)


def test_parent_process_survives_many_hostile_files_in_a_row(tmp_path: Path) -> None:
    laughs = write_zip(tmp_path / "laughs.docx", {"word/document.xml": BILLION_LAUGHS})
    loop = tmp_path / "loop.pdf"
    loop.write_bytes(build_pdf(PDF_LOOPS["page_tree_contains_itself"]))
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)

    outcomes = [
        extract_text_isolated(path, media_type).status
        for path, media_type in [
            (laughs, DOCX),
            (loop, "application/pdf"),
            (garbage, "application/pdf"),
        ]
        * 3
    ]

    assert set(outcomes) <= {"failed", "no_text"}
