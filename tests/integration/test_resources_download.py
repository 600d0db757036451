"""Downloading: whole files and single ranges streamed from the store, validators, the
headers that keep a file a download, the audit of partners' downloads, and presigned
redirects on S3."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest
from PIL import Image
from sqlalchemy import update

from exchange.config import Settings
from exchange.models import ResourceVersion
from tests.actors import Actor, SchoolFactory
from tests.problems import assert_problem
from tests.resource_fixtures import (
    StoreUnderTest,
    audit_actions,
    database,
    make_partners,
    upload,
    upload_version,
)
from tests.sample_files import pdf_of_size, png, text, word_document

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SIZE = 300_000
CONTENT = pdf_of_size(SIZE)
ETAG = f'"{hashlib.sha256(CONTENT).hexdigest()}"'


@pytest.fixture
def settings(settings: Settings, store: StoreUnderTest, request: pytest.FixtureRequest) -> Settings:
    settings = store.apply(settings)
    if request.node.get_closest_marker("presigned_downloads"):
        settings = replace(settings, s3_presigned_downloads=True, s3_presigned_ttl_seconds=60)
    return settings


@pytest.fixture
async def stored(schools: SchoolFactory) -> tuple[Actor, str]:
    school = await schools.create()
    response = await upload(school.admin, CONTENT, filename="Бөлчөктөр: 5-класс.pdf")
    assert response.status_code == 201, response.text
    return school.admin, f"/api/resources/{response.json()['id']}/content"


async def test_the_whole_file_with_the_headers_of_a_safe_download(
    stored: tuple[Actor, str],
) -> None:
    reader, url = stored

    response = await reader.get(url)

    assert response.status_code == 200
    assert response.content == CONTENT
    headers = response.headers
    assert headers["content-type"] == "application/pdf"
    assert headers["content-length"] == str(SIZE)
    assert headers["accept-ranges"] == "bytes"
    assert headers["etag"] == ETAG
    assert headers["last-modified"].endswith("GMT")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox"
    assert "content-range" not in headers
    disposition = headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="' in disposition
    assert disposition.encode("ascii")  # the header itself is plain ASCII
    assert f"filename*=UTF-8''{quote('Бөлчөктөр_ 5-класс.pdf')}" in disposition


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-", 1000, SIZE - 1),
        ("bytes=-500", SIZE - 500, SIZE - 1),
        ("bytes=-999999", 0, SIZE - 1),
        ("bytes=299990-400000", 299_990, SIZE - 1),
        ("bytes=42-42", 42, 42),
        ("BYTES = 10 - 19", 10, 19),
    ],
)
async def test_a_single_range_answers_206_with_content_range(
    stored: tuple[Actor, str], range_header: str, start: int, end: int
) -> None:
    reader, url = stored

    response = await reader.get(url, headers={"Range": range_header})

    assert response.status_code == 206
    assert response.content == CONTENT[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["etag"] == ETAG


@pytest.mark.parametrize(
    "range_header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"]
)
async def test_a_range_past_the_end_answers_416_with_the_size(
    stored: tuple[Actor, str], range_header: str
) -> None:
    reader, url = stored

    response = await reader.get(url, headers={"Range": range_header})

    body = assert_problem(response, 416)
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert body["size"] == SIZE


@pytest.mark.parametrize(
    "range_header",
    ["bytes=0-9,20-29", "bytes=5-2", "bytes=abc", "lines=1-2", "bytes=-", "bytes="],
    ids=["several", "backwards", "garbage", "other-unit", "empty-ends", "empty"],
)
async def test_ranges_the_server_ignores_get_the_whole_file(
    stored: tuple[Actor, str], range_header: str
) -> None:
    reader, url = stored

    response = await reader.get(url, headers={"Range": range_header})

    assert response.status_code == 200
    assert response.content == CONTENT


async def test_if_range_resumes_only_the_same_content(stored: tuple[Actor, str]) -> None:
    reader, url = stored
    same = await reader.get(url, headers={"Range": "bytes=100-199", "If-Range": ETAG})
    changed = await reader.get(url, headers={"Range": "bytes=100-199", "If-Range": '"other"'})
    weak = await reader.get(url, headers={"Range": "bytes=100-199", "If-Range": f"W/{ETAG}"})
    dated = await reader.get(
        url,
        headers={"Range": "bytes=100-199", "If-Range": same.headers["last-modified"]},
    )
    old_date = await reader.get(
        url, headers={"Range": "bytes=100-199", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )

    assert (same.status_code, same.content) == (206, CONTENT[100:200])
    assert (changed.status_code, changed.content) == (200, CONTENT)
    assert weak.status_code == 200
    assert (dated.status_code, dated.content) == (206, CONTENT[100:200])
    assert old_date.status_code == 200


async def test_if_none_match_answers_304_without_a_body(stored: tuple[Actor, str]) -> None:
    reader, url = stored

    matching = await reader.get(url, headers={"If-None-Match": f'"x", {ETAG}'})
    weak = await reader.get(url, headers={"If-None-Match": f"W/{ETAG}"})
    star = await reader.get(url, headers={"If-None-Match": "*"})
    other = await reader.get(url, headers={"If-None-Match": '"something-else"'})

    assert matching.status_code == 304
    assert matching.content == b""
    assert matching.headers["etag"] == ETAG
    assert weak.status_code == 304
    assert star.status_code == 304
    assert other.status_code == 200


async def test_the_type_is_the_sniffed_one_whatever_the_name(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    created = await upload(school.admin, text("Бүгүнкү сабак.\n"), filename="notes.txt")
    resource_id = created.json()["id"]

    response = await school.admin.get(f"/api/resources/{resource_id}/content")

    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content.decode("utf-8") == "Бүгүнкү сабак.\n"


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        ("Бүгүнкү сабак: ң, ө, ү.\n".encode(), "notes.txt", "text/plain; charset=utf-8"),
        ("name,grade\nАйгүл,5\n".encode(), "marks.csv", "text/csv; charset=utf-8"),
        (
            "Урок 1. Тема: дроби. Цель урока: научиться складывать дроби.\n".encode("cp1251"),
            "notes.txt",
            "text/plain; charset=windows-1251",
        ),
        (
            "\ufeffUTF-8 с меткой порядка байтов.\n".encode(),
            "notes.md",
            "text/markdown; charset=utf-8",
        ),
    ],
    ids=["utf-8", "csv", "windows-1251", "utf-8-with-bom"],
)
async def test_text_downloads_name_the_charset_they_were_written_in(
    schools: SchoolFactory, content: bytes, filename: str, content_type: str
) -> None:
    school = await schools.create()
    created = await upload(school.admin, content, filename=filename, media_type="text/plain")
    assert created.status_code == 201, created.text
    url = f"/api/resources/{created.json()['id']}/content"

    download = await school.admin.get(url)
    head = await school.admin.request("HEAD", url)
    part = await school.admin.get(url, headers={"Range": "bytes=0-3"})

    assert download.content == content
    assert download.headers["content-type"] == content_type
    assert head.headers["content-type"] == content_type
    assert part.headers["content-type"] == content_type
    assert created.json()["media_type"] == content_type.split(";")[0]


async def test_text_stored_before_charsets_were_recorded_names_the_detected_one(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    content = "Урок 2. Тема: проценты. Цель урока: научиться считать проценты.\n"
    created = await upload(school.admin, content.encode("cp1251"), filename="notes.txt")
    resource_id = created.json()["id"]
    async with database(settings) as session:
        await session.execute(
            update(ResourceVersion)
            .where(ResourceVersion.resource_id == UUID(resource_id))
            .values(charset=None)
        )
        await session.commit()

    download = await school.admin.get(f"/api/resources/{resource_id}/content")

    assert download.headers["content-type"] == "text/plain; charset=windows-1251"
    assert download.content.decode("windows-1251") == content


async def test_a_text_version_after_a_pdf_carries_its_charset_and_the_pdf_none(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    resource_id = (await upload(school.admin, CONTENT)).json()["id"]
    await upload_version(school.admin, resource_id, "Экинчи.\n".encode(), filename="v2.txt")

    pdf = await school.admin.get(f"/api/resources/{resource_id}/versions/1/content")
    current = await school.admin.get(f"/api/resources/{resource_id}/content")

    assert pdf.headers["content-type"] == "application/pdf"
    assert current.headers["content-type"] == "text/plain; charset=utf-8"


async def test_each_version_downloads_with_its_own_validators(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    resource_id = (await upload(school.admin, CONTENT)).json()["id"]
    newer = text("v2\n")
    await upload_version(school.admin, resource_id, newer, filename="v2.txt")

    old = await school.admin.get(
        f"/api/resources/{resource_id}/versions/1/content", headers={"Range": "bytes=0-3"}
    )
    current = await school.admin.get(f"/api/resources/{resource_id}/content")

    assert (old.status_code, old.content, old.headers["etag"]) == (206, CONTENT[:4], ETAG)
    assert current.content == newer
    assert current.headers["etag"] == f'"{hashlib.sha256(newer).hexdigest()}"'


async def test_downloads_by_partners_are_audited_once_per_download(
    schools: SchoolFactory, settings: Settings
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    await make_partners(settings, owner.id, partner.id)
    resource_id = (await upload(owner.admin, CONTENT)).json()["id"]
    url = f"/api/resources/{resource_id}/content"

    await owner.admin.get(url)
    await partner.admin.get(url, headers={"Range": "bytes=0-999"})
    await partner.admin.get(url, headers={"Range": "bytes=1000-"})  # the same download, resumed
    await partner.admin.get(url, headers={"If-None-Match": ETAG})  # nothing sent
    await partner.admin.get(f"/api/resources/{resource_id}/versions/1/content")

    downloads = [
        e for e in await audit_actions(settings, resource_id) if e.action == "resource.downloaded"
    ]
    assert len(downloads) == 2
    assert {e.other_school_id for e in downloads} == {partner.id}
    assert {e.actor_member_id for e in downloads} == {partner.admin.member_id}
    assert all(e.owner_school_id == owner.id for e in downloads)


# --- HEAD: what a download would be, without its body ---------------------------------


async def test_head_tells_size_type_and_validators_without_the_body(
    stored: tuple[Actor, str],
) -> None:
    reader, url = stored

    whole = await reader.get(url)
    response = await reader.request("HEAD", url)

    assert response.status_code == 200
    assert response.content == b""
    for header in (
        "content-type",
        "content-length",
        "etag",
        "last-modified",
        "accept-ranges",
        "content-disposition",
        "x-content-type-options",
        "content-security-policy",
        "cache-control",
    ):
        assert response.headers[header] == whole.headers[header], header
    assert response.headers["content-length"] == str(SIZE)


async def test_head_answers_ranges_and_validators_as_the_download_would(
    stored: tuple[Actor, str],
) -> None:
    reader, url = stored

    ranged = await reader.request("HEAD", url, headers={"Range": "bytes=-500"})
    unchanged = await reader.request("HEAD", url, headers={"If-None-Match": ETAG})
    past_the_end = await reader.request("HEAD", url, headers={"Range": f"bytes={SIZE}-"})
    version = await reader.request("HEAD", url.replace("/content", "/versions/1/content"))

    assert (ranged.status_code, ranged.content) == (206, b"")
    assert ranged.headers["content-range"] == f"bytes {SIZE - 500}-{SIZE - 1}/{SIZE}"
    assert ranged.headers["content-length"] == "500"
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert (past_the_end.status_code, past_the_end.content) == (416, b"")
    assert past_the_end.headers["content-range"] == f"bytes */{SIZE}"
    assert past_the_end.headers["content-type"] == "application/problem+json"
    assert (version.status_code, version.headers["etag"]) == (200, ETAG)


async def test_head_hides_what_the_caller_may_not_read_and_is_not_a_download(
    schools: SchoolFactory, settings: Settings
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    stranger = await schools.create()
    await make_partners(settings, owner.id, partner.id)
    resource_id = (await upload(owner.admin, CONTENT)).json()["id"]
    url = f"/api/resources/{resource_id}/content"

    by_stranger = await stranger.admin.request("HEAD", url)
    missing = await owner.admin.request("HEAD", url.replace("/content", "/versions/9/content"))
    by_partner = await partner.admin.request("HEAD", url)

    assert (by_stranger.status_code, by_stranger.content) == (404, b"")
    assert by_stranger.headers["content-type"] == "application/problem+json"
    assert (missing.status_code, missing.content) == (404, b"")
    assert (by_partner.status_code, by_partner.headers["content-length"]) == (200, str(SIZE))
    actions = [e.action for e in await audit_actions(settings, resource_id)]
    assert "resource.downloaded" not in actions


# --- ?disposition=inline: PDFs and pictures open in the browser ---------------------


def picture(image_format: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 80, 30)).save(out, format=image_format)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "filename", "media_type"),
    [
        (CONTENT, "Бөлчөктөр.pdf", "application/pdf"),
        (png(), "board.png", "image/png"),
        (picture("JPEG"), "board.jpg", "image/jpeg"),
        (picture("GIF"), "board.gif", "image/gif"),
        (picture("WEBP"), "board.webp", "image/webp"),
    ],
    ids=["pdf", "png", "jpeg", "gif", "webp"],
)
async def test_a_pdf_or_a_picture_opens_inline_still_sandboxed_and_never_sniffed(
    schools: SchoolFactory, settings: Settings, content: bytes, filename: str, media_type: str
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    await make_partners(settings, owner.id, partner.id)
    resource_id = (await upload(owner.admin, content, filename=filename)).json()["id"]
    current = f"/api/resources/{resource_id}/content?disposition=inline"
    version = f"/api/resources/{resource_id}/versions/1/content?disposition=inline"

    answers = [
        await partner.admin.get(current),
        await partner.admin.get(version),
        await partner.admin.request("HEAD", current),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == media_type
        assert answer.headers["content-disposition"].startswith("inline; filename=")
        assert answer.headers["content-security-policy"] == "sandbox"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert answers[0].content == content == answers[1].content
    explicit = await partner.admin.get(current.replace("inline", "attachment"))
    assert explicit.headers["content-disposition"].startswith("attachment;")
    downloads = [
        e for e in await audit_actions(settings, resource_id) if e.action == "resource.downloaded"
    ]
    assert len(downloads) == 3  # opening is reading: counted as downloads are


@pytest.mark.parametrize(
    ("content", "filename", "media_type", "kyrgyz_kind"),
    [
        (word_document(), "plan.docx", DOCX, "Word"),
        (text(), "notes.txt", "text/plain", "текст"),
    ],
    ids=["docx", "text"],
)
async def test_inline_is_refused_for_other_types_in_the_readers_language_and_not_counted(
    schools: SchoolFactory,
    settings: Settings,
    content: bytes,
    filename: str,
    media_type: str,
    kyrgyz_kind: str,
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    await make_partners(settings, owner.id, partner.id)
    resource_id = (
        await upload(owner.admin, content, filename=filename, media_type=media_type)
    ).json()["id"]
    kyrgyz = {"Accept-Language": "ky"}

    answers = [
        await partner.admin.get(f"/api/resources/{resource_id}/content?disposition=inline"),
        await partner.admin.get(
            f"/api/resources/{resource_id}/versions/1/content?disposition=inline", headers=kyrgyz
        ),
        await partner.admin.get(
            f"/api/resources/{resource_id}/content?disposition=inline", headers=kyrgyz
        ),
    ]

    english = assert_problem(answers[0], 422)
    assert "Only PDF documents and pictures" in english["detail"]
    assert english["errors"] == [{"field": "disposition", "message": "not a PDF or a picture"}]
    for answer in answers[1:]:
        body = assert_problem(answer, 422)
        assert answer.headers["content-language"] == "ky"
        assert "Only PDF" not in body["detail"]
        assert kyrgyz_kind in body["detail"], body["detail"]
        assert "disposition=inline" in body["detail"]
    head = await partner.admin.request(
        "HEAD", f"/api/resources/{resource_id}/content?disposition=inline"
    )
    assert (head.status_code, head.content) == (422, b"")
    whole = await partner.admin.get(f"/api/resources/{resource_id}/content")
    assert whole.status_code == 200
    assert whole.headers["content-disposition"].startswith("attachment;")
    downloads = [
        e for e in await audit_actions(settings, resource_id) if e.action == "resource.downloaded"
    ]
    assert len(downloads) == 1


@pytest.mark.parametrize("value", ["INLINE", "open", "", "inline,attachment"])
async def test_a_disposition_other_than_attachment_or_inline_is_refused(
    stored: tuple[Actor, str], value: str
) -> None:
    reader, url = stored

    answer = await reader.get(url, params={"disposition": value})

    body = assert_problem(answer, 422)
    assert body["errors"] == [{"field": "disposition", "message": "not attachment or inline"}]


async def test_a_stranger_asking_inline_gets_404_not_the_type_refusal(
    schools: SchoolFactory,
) -> None:
    owner = await schools.create()
    stranger = await schools.create()
    resource_id = (
        await upload(owner.admin, text(), filename="notes.txt", media_type="text/plain")
    ).json()["id"]

    answer = await stranger.admin.get(f"/api/resources/{resource_id}/content?disposition=inline")

    assert_problem(answer, 404)


# --- S3: presigned downloads ---------------------------------------------------------


@pytest.mark.presigned_downloads
@pytest.mark.parametrize("store", ["s3"], indirect=True)
async def test_with_presigned_downloads_s3_serves_the_bytes_after_the_policy_check(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    stranger = await schools.create()
    await make_partners(settings, owner.id, partner.id)
    resource_id = (await upload(owner.admin, CONTENT, filename="план.pdf")).json()["id"]
    url = f"/api/resources/{resource_id}/content"

    redirect = await partner.admin.get(url, follow_redirects=False)
    hidden = await stranger.admin.get(url)

    assert redirect.status_code == 307, redirect.text
    assert redirect.headers["cache-control"] == "no-store"
    location = redirect.headers["location"]
    assert location.startswith(store.endpoint_url or "")
    assert "X-Amz-Expires=60" in location
    direct = httpx.get(location)
    assert direct.status_code == 200
    assert direct.content == CONTENT
    assert direct.headers["content-type"] == "application/pdf"
    assert "attachment" in direct.headers["content-disposition"]
    ranged = httpx.get(location, headers={"Range": "bytes=10-19"})
    assert (ranged.status_code, ranged.content) == (206, CONTENT[10:20])
    assert_problem(hidden, 404)
    downloads = [
        e for e in await audit_actions(settings, resource_id) if e.action == "resource.downloaded"
    ]
    assert len(downloads) == 1
    assert downloads[0].details["presigned"] is True


@pytest.mark.presigned_downloads
@pytest.mark.parametrize("store", ["s3"], indirect=True)
async def test_a_presigned_inline_download_carries_the_inline_disposition(
    schools: SchoolFactory, settings: Settings
) -> None:
    owner = await schools.create()
    pdf_id = (await upload(owner.admin, CONTENT, filename="план.pdf")).json()["id"]
    docx_id = (
        await upload(owner.admin, word_document(), filename="plan.docx", media_type=DOCX)
    ).json()["id"]

    redirect = await owner.admin.get(
        f"/api/resources/{pdf_id}/versions/1/content?disposition=inline", follow_redirects=False
    )
    plain = await owner.admin.get(f"/api/resources/{pdf_id}/content", follow_redirects=False)
    refused = await owner.admin.get(
        f"/api/resources/{docx_id}/content?disposition=inline", follow_redirects=False
    )

    assert redirect.status_code == 307, redirect.text
    direct = httpx.get(redirect.headers["location"])
    assert direct.status_code == 200
    assert direct.content == CONTENT
    assert direct.headers["content-type"] == "application/pdf"
    assert direct.headers["content-disposition"].startswith("inline; filename=")
    assert f"filename*=UTF-8''{quote('план.pdf')}" in direct.headers["content-disposition"]
    saved = httpx.get(plain.headers["location"])
    assert saved.headers["content-disposition"].startswith("attachment;")
    assert_problem(refused, 422)
    downloads = [
        e for e in await audit_actions(settings, docx_id) if e.action == "resource.downloaded"
    ]
    assert downloads == []
