"""The one rule on runnable content in documents: what each format hides, found."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from exchange.errors import UnsupportedMediaType
from exchange.files.active_content import (
    Findings,
    PdfCheckLimits,
    RtfObjectScanner,
    in_pdf,
    in_pdf_isolated,
)
from exchange.files.inspection import ContentInspector, Inspection
from tests.active_content_files import (
    BENIGN_FILES,
    HOSTILE_FILES,
    HOSTILE_PDFS,
    pdf_form_with_xfa_script,
    pdf_with_hidden_javascript_in_an_object_stream,
    pdf_with_javascript_on_open,
    pdf_with_text_and_a_link,
    rtf_with_embedded_package,
)
from tests.sample_files import pdf
from tests.unit.test_inspection import ole_file


def inspect(data: bytes, name: str, *, chunk_size: int = 64 * 1024) -> Inspection:
    inspector = ContentInspector()
    for start in range(0, len(data), chunk_size):
        inspector.feed(data[start : start + chunk_size])
    return inspector.finish(name)


def pdf_at(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "file.pdf"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("build", list(HOSTILE_PDFS.values()), ids=list(HOSTILE_PDFS))
def test_pdfs_that_run_open_or_carry_something_are_found(
    tmp_path: Path, build: Callable[[], bytes]
) -> None:
    found = in_pdf(pdf_at(tmp_path, build()), deadline_seconds=30)

    assert found is not None
    assert found.kind != "unchecked"


def test_javascript_on_opening_is_said_to_run_when_opened(tmp_path: Path) -> None:
    found = in_pdf(pdf_at(tmp_path, pdf_with_javascript_on_open()), deadline_seconds=30)

    assert found == Findings.PDF_SCRIPT_ON_OPEN
    assert "This PDF contains a script that runs when it is opened" in found.detail


def test_javascript_in_a_compressed_object_stream_with_escaped_names_is_found(
    tmp_path: Path,
) -> None:
    data = pdf_with_hidden_javascript_in_an_object_stream()
    assert b"JavaScript" not in data and b"/JS" not in data  # nothing for a byte search
    assert len(PdfReader(pdf_at(tmp_path, data)).pages) == 1  # a PDF readers open

    assert in_pdf(pdf_at(tmp_path, data), deadline_seconds=30) == Findings.PDF_SCRIPT_ON_OPEN


def test_an_xfa_form_with_scripts_is_found(tmp_path: Path) -> None:
    found = in_pdf(pdf_at(tmp_path, pdf_form_with_xfa_script()), deadline_seconds=30)

    assert found == Findings.PDF_FORM_SCRIPT


@pytest.mark.parametrize("build", [pdf, pdf_with_text_and_a_link], ids=["blank", "text-link"])
def test_ordinary_pdfs_carry_nothing(tmp_path: Path, build: Callable[[], bytes]) -> None:
    assert in_pdf(pdf_at(tmp_path, build()), deadline_seconds=30) is None


def test_a_pdf_locked_with_a_password_cannot_be_checked(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=100, height=100)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as out:
        writer.write(out)

    assert in_pdf(path, deadline_seconds=30) == Findings.PDF_LOCKED


def test_a_pdf_pypdf_cannot_read_is_not_taken_as_clean(tmp_path: Path) -> None:
    found = in_pdf(pdf_at(tmp_path, b"%PDF-1.7\n" + b"\x00garbage" * 100), deadline_seconds=30)

    assert found == Findings.PDF_UNCHECKED


def test_the_check_in_a_child_process_gives_the_same_answers(tmp_path: Path) -> None:
    limits = PdfCheckLimits(timeout_seconds=30, max_memory_bytes=512 * 1024 * 1024)

    hostile = in_pdf_isolated(pdf_at(tmp_path, pdf_with_javascript_on_open()), limits)
    clean = in_pdf_isolated(pdf_at(tmp_path, pdf_with_text_and_a_link()), limits)

    assert (hostile, clean) == (Findings.PDF_SCRIPT_ON_OPEN, None)


# --- what the inspector sees while the bytes stream past ---------------------------------


@pytest.mark.parametrize(
    ("build", "name", "words"),
    [pytest.param(b, n, w, id=i) for i, b, n, w in HOSTILE_FILES if not n.endswith(".pdf")],
)
def test_office_opendocument_and_rtf_files_with_runnable_content_are_refused(
    build: Callable[[], bytes], name: str, words: str
) -> None:
    with pytest.raises(UnsupportedMediaType) as refused:
        inspect(build(), name)

    assert words in str(refused.value.detail)
    assert refused.value.extra["active_content"]


@pytest.mark.parametrize(
    ("build", "name"),
    [pytest.param(b, n, id=i) for i, b, n in BENIGN_FILES if not n.endswith(".pdf")],
)
def test_ordinary_office_opendocument_and_rtf_files_are_accepted(
    build: Callable[[], bytes], name: str
) -> None:
    assert inspect(build(), name).extension == name.rsplit(".", 1)[1]


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64])
def test_an_rtf_object_cut_between_chunks_is_still_found(chunk_size: int) -> None:
    scanner = RtfObjectScanner()
    data = rtf_with_embedded_package()
    for start in range(0, len(data), chunk_size):
        scanner.feed(data[start : start + chunk_size])

    assert scanner.found


def test_an_rtf_object_in_capitals_is_found() -> None:
    with pytest.raises(UnsupportedMediaType):
        inspect(b"{\\rtf1\\ansi Plan {\\OBJECT\\OBJEMB{\\*\\OBJDATA 0105}}}", "plan.rtf")


def _with_macro_storage(data: bytes, storage: str) -> bytes:
    """`data` (an OLE file) with its first empty directory entry made a storage."""
    at = data.index("WordDocument".encode("utf-16-le") + b"\0\0") + 128
    name = storage.encode("utf-16-le") + b"\0\0"
    entry = name.ljust(64, b"\0") + struct.pack("<HB", len(name), 1)
    return data[:at] + entry + data[at + len(entry) :]


@pytest.mark.parametrize("storage", ["Macros", "_VBA_PROJECT_CUR"])
@pytest.mark.parametrize("directory_after", [0, 300])
def test_old_office_files_with_macros_are_refused_wherever_their_directory_is(
    storage: str, directory_after: int
) -> None:
    data = _with_macro_storage(
        ole_file("WordDocument", 400, directory_after=directory_after), storage
    )

    with pytest.raises(UnsupportedMediaType) as refused:
        inspect(data, "old plan.doc", chunk_size=1000)

    assert refused.value.detail == Findings.LEGACY_OFFICE_MACROS.detail


def test_old_office_files_that_mention_macros_in_their_text_are_accepted() -> None:
    data = ole_file("WordDocument", 8)
    text = "Macros".encode("utf-16-le") + b"\0\0"
    data = data[:-512] + (b"\x01" * 130 + text).ljust(512, b"\x01")

    assert inspect(data, "old plan.doc").media_type == "application/msword"
