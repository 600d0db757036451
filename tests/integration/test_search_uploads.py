"""Uploads become searchable: the text of every new version is extracted in a job, the
index follows metadata changes and deletions, and hostile files end extraction within its
limits with a status on the resource, not a hung worker.

Files are real DOCX, ODT and PDF documents generated here, uploaded through the API; jobs
run when the test says so (`run_until_idle`), as a worker would run them.
"""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fpdf import FPDF
from litestar import Litestar
from odf import teletype
from odf.opendocument import OpenDocumentText
from odf.text import P

from exchange.app import create_blob_store
from exchange.blobstore.local import LocalBlobStore
from exchange.config import Settings
from tests.actors import Actor, SchoolFactory, SchoolHandle
from tests.background import run_text_extraction
from tests.clock import ManualClock
from tests.partnering import partners
from tests.resource_fixtures import upload, upload_version
from tests.sample_files import docx_of, png
from tests.searching import search, titles

# On SQLite and PostgreSQL: extracted text goes into each database's search index.
pytestmark = pytest.mark.every_database

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
# Generous bound for "ends within its limits" on a slow, busy machine.
WITHIN_LIMITS_SECONDS = 30.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, extraction_timeout_seconds=3.0)


def kyrgyz_odt(*paragraphs: str) -> bytes:
    document = OpenDocumentText()
    for text in paragraphs:
        paragraph = P()
        teletype.addTextToElement(paragraph, text)
        document.text.addElement(paragraph)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def english_pdf(*lines: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "\n".join(lines))
    return bytes(pdf.output())


def docx_with_document_xml(document_xml: bytes | str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", document_xml)
    return out.getvalue()


def whitespace_bomb() -> bytes:
    """A DOCX of a few hundred KiB whose document part inflates to 128 MiB of spaces."""
    out = io.BytesIO()
    block = b" " * (1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(f'<w:document xmlns:w="{W_NS}"><w:body>'.encode())
            for _ in range(128):
                part.write(block)
    return out.getvalue()


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{level} "{("&lol" + (str(level - 1) if level > 1 else "") + ";") * 10}">\n'
        for level in range(1, 10)
    )
    + f']>\n<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>'
    "</w:body></w:document>"
)


async def shared(
    actor: Actor, content: bytes, filename: str, media_type: str, **fields: Any
) -> str:
    response = await upload(actor, content, filename=filename, media_type=media_type, **fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def extraction_of(actor: Actor, resource_id: str) -> tuple[str, str | None]:
    response = await actor.get(f"/api/resources/{resource_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["extraction_status"], body["extraction_reason"]


@pytest.fixture
async def pair(schools: SchoolFactory) -> tuple[SchoolHandle, SchoolHandle]:
    home = await schools.create("Home school")
    partner = await schools.create("Partner school")
    await partners(home, partner)
    return home, partner


async def test_an_uploaded_document_is_searchable_by_its_text_once_extracted(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    resource_id = await shared(
        partner.admin,
        docx_of("Оценивание учебных достижений учащихся.", "Ёлка во дворе школы."),
        "plan.docx",
        DOCX,
        title="План урока",
        language="ru",
    )
    # Right after the upload: title searchable, text pending.
    assert titles(await search(home.admin, q="план")) == ["План урока"]
    assert (await search(home.admin, q="учащихся"))["total"] == 0
    assert await extraction_of(partner.admin, resource_id) == ("pending", None)
    (item,) = (await search(home.admin, q="план"))["items"]
    assert item["extraction_status"] == "pending"

    assert await run_text_extraction(app) == 1

    page = await search(home.admin, q="ЕЛКА учащ")
    assert titles(page) == ["План урока"]
    assert "<mark>Ёлка</mark>" in page["items"][0]["snippet"]
    assert await extraction_of(home.admin, resource_id) == ("done", None)


@pytest.mark.parametrize(
    ("content", "filename", "media_type", "query"),
    [
        (kyrgyz_odt("Өнөктөштүктү эске алабыз."), "plan.odt", ODT, "өнөктөш"),
        (
            english_pdf("Partner schools share assessments."),
            "plan.pdf",
            "application/pdf",
            "assess",
        ),
    ],
    ids=["odt", "pdf"],
)
async def test_text_inside_odt_and_pdf_uploads_is_found(
    app: Litestar,
    pair: tuple[SchoolHandle, SchoolHandle],
    content: bytes,
    filename: str,
    media_type: str,
    query: str,
) -> None:
    home, partner = pair
    await shared(partner.admin, content, filename, media_type, title="Shared file")
    await run_text_extraction(app)
    assert titles(await search(home.admin, q=query)) == ["Shared file"]


async def test_a_new_version_is_extracted_again_and_replaces_the_old_text(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    resource_id = await shared(
        partner.admin, docx_of("Контрольная работа по грамматике."), "v1.docx", DOCX
    )
    await run_text_extraction(app)
    assert (await search(home.admin, q="грамматик"))["total"] == 1

    response = await upload_version(
        partner.admin,
        resource_id,
        docx_of("Сочинение об эпосе «Манас»."),
        filename="v2.docx",
        media_type=DOCX,
    )
    assert response.status_code == 201, response.text
    status, _ = await extraction_of(partner.admin, resource_id)
    assert status == "pending"
    # Until the new text is in, the previous version's text stays searchable.
    assert (await search(home.admin, q="грамматик"))["total"] == 1

    await run_text_extraction(app)

    assert (await search(home.admin, q="грамматик"))["total"] == 0
    assert (await search(home.admin, q="сочинение манас"))["total"] == 1
    assert await extraction_of(home.admin, resource_id) == ("done", None)


async def test_a_version_replaced_before_its_job_ran_is_not_indexed(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    resource_id = await shared(partner.admin, docx_of("Первая версия текста."), "a.docx", DOCX)
    response = await upload_version(
        partner.admin,
        resource_id,
        docx_of("Вторая версия текста."),
        filename="b.docx",
        media_type=DOCX,
    )
    assert response.status_code == 201

    await run_text_extraction(app)

    assert (await search(home.admin, q="первая"))["total"] == 0
    assert (await search(home.admin, q="вторая"))["total"] == 1


async def test_metadata_changes_and_deletions_reach_the_index(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    resource_id = await shared(
        partner.admin, english_pdf("Fractions."), "f.pdf", "application/pdf", title="Fractions"
    )
    response = await partner.admin.patch(
        f"/api/resources/{resource_id}",
        json={"title": "Дроби: 5-класс", "subject": "Математика", "co_authors": ["Айгүл Асанова"]},
    )
    assert response.status_code == 200, response.text

    assert (await search(home.admin, q="fractions"))["total"] == 0
    assert titles(await search(home.admin, q="дроби")) == ["Дроби: 5-класс"]
    assert titles(await search(home.admin, q="математика айгүл")) == ["Дроби: 5-класс"]

    response = await partner.admin.delete(f"/api/resources/{resource_id}")
    assert response.status_code == 204, response.text
    empty = await search(home.admin, q="дроби")
    assert empty["total"] == 0 and empty["items"] == []


async def test_files_without_text_say_so_on_the_resource(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    _home, partner = pair
    picture = await shared(partner.admin, png(), "photo.png", "image/png", title="Photo")
    blank = await shared(partner.admin, english_pdf(""), "blank.pdf", "application/pdf")
    await run_text_extraction(app)

    status, reason = await extraction_of(partner.admin, picture)
    assert status == "unsupported" and reason
    status, reason = await extraction_of(partner.admin, blank)
    assert status == "no_text" and reason


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (whitespace_bomb(), {"no_text"}),
        (docx_with_document_xml(BILLION_LAUGHS), {"no_text"}),
    ],
    ids=["zip_bomb", "billion_laughs"],
)
async def test_hostile_files_end_extraction_within_its_limits(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle], content: bytes, expected: set[str]
) -> None:
    home, partner = pair
    resource_id = await shared(partner.admin, content, "hostile.docx", DOCX, title="Hostile")

    started = time.monotonic()
    assert await run_text_extraction(app) == 1
    assert time.monotonic() - started < WITHIN_LIMITS_SECONDS

    status, reason = await extraction_of(partner.admin, resource_id)
    assert status in expected, (status, reason)
    assert reason
    # The resource stays findable by its title, and the worker is free for more work.
    assert titles(await search(home.admin, q="hostile")) == ["Hostile"]
    await shared(partner.admin, docx_of("После бомбы."), "next.docx", DOCX)
    assert await run_text_extraction(app) == 1
    assert (await search(home.admin, q="бомбы"))["total"] == 1


async def test_an_extraction_that_runs_past_its_deadline_stops_and_the_worker_goes_on(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    # A real PDF of some sixty pages, and a worker whose deadline (a hundredth of a
    # second) no machine extracts it in.
    lines = [f"Line {number} of a long lesson plan about the Manas epic." for number in range(3000)]
    resource_id = await shared(
        partner.admin, english_pdf(*lines), "long.pdf", "application/pdf", title="Long plan"
    )
    started = time.monotonic()
    assert await run_text_extraction(app, extraction_timeout_seconds=0.01) == 1
    assert time.monotonic() - started < WITHIN_LIMITS_SECONDS

    status, reason = await extraction_of(partner.admin, resource_id)
    # Stopped at the deadline: no text, or the part read before it.
    assert status in {"failed", "done"}, (status, reason)
    assert reason and "took too long" in reason
    assert titles(await search(home.admin, q="long plan")) == ["Long plan"]


async def test_text_that_cannot_be_read_after_every_attempt_says_so_instead_of_pending(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle], clock: ManualClock
) -> None:
    home, partner = pair
    resource_id = await shared(
        partner.admin,
        docx_of("Оценивание учебных достижений учащихся."),
        "Оценивание.docx",
        DOCX,
        title="Оценивание",
    )
    store = create_blob_store(app.state["settings"])
    assert isinstance(store, LocalBlobStore)
    try:
        (stored,) = [path for path in store.root.rglob("*") if path.is_file()]
        content = stored.read_bytes()
        stored.unlink()
        stored.mkdir()  # the store answers, but reading the file fails every time
        for _ in range(5):
            assert await run_text_extraction(app) == 1
            assert await extraction_of(partner.admin, resource_id) != ("done", None)
            clock.advance(timedelta(hours=2))

        status, reason = await extraction_of(partner.admin, resource_id)
        assert status == "failed"
        assert reason is not None and "failed several times" in reason
        assert await run_text_extraction(app) == 0
        stored.rmdir()
        stored.write_bytes(content)
        assert titles(await search(home.admin, q="Оценивание")) == ["Оценивание"]
    finally:
        await store.close()
