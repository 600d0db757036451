"""Uploading a resource: the file streamed into the store and checked by its content,
the metadata checked field by field, and nothing left behind by any refusal."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from exchange.config import Settings
from tests.actors import SchoolFactory
from tests.problems import assert_problem
from tests.resource_fixtures import (
    FIELD_REFUSALS,
    NOTHING_STORED,
    StoreUnderTest,
    StreamingClient,
    audit_actions,
    make_partners,
    multipart_body,
    post_raw,
    random_id,
    row_counts,
    storage_used,
    upload,
)
from tests.sample_files import (
    elf_program,
    html_page,
    pdf,
    pdf_of_size,
    pdf_with_zip_appended,
    png,
    svg_with_script,
    text,
    word_document,
    zip_bomb_docx,
)

LIMIT = 64 * 1024


@pytest.fixture
def settings(settings: Settings, store: StoreUnderTest, request: pytest.FixtureRequest) -> Settings:
    marker = request.node.get_closest_marker("upload_limit")
    return replace(
        store.apply(settings),
        max_upload_bytes=marker.args[0] if marker else LIMIT,
        upload_idle_timeout_seconds=1.5,
    )


async def assert_nothing_left(settings: Settings, store: StoreUnderTest) -> None:
    assert store.contents() == []
    assert await row_counts(settings) == NOTHING_STORED


async def test_an_upload_is_stored_with_its_metadata_and_its_checked_content(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create("Ош №5 мектеби")
    content = pdf(pages=2)

    response = await upload(
        school.admin,
        content,
        filename="Бөлчөктөр 5-класс.pdf",
        title="  Бөлчөктөр:   сабак планы ",
        kind="lesson_plan",
        subject="Mathematics",
        grades=["5", "6"],
        language="ky",
        description="Two lessons.\r\nWith homework.",
        licence="cc-by",
        co_authors=["Asanova, A.", "Ivanov I."],
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["title"] == "Бөлчөктөр: сабак планы"
    assert body["kind"] == "lesson_plan"
    assert body["subject"] == "Mathematics"
    assert body["grades"] == [5, 6]
    assert body["language"] == "ky"
    assert body["description"] == "Two lessons.\nWith homework."
    assert body["visibility"] == "partners"
    assert body["confidential"] is False
    assert body["licence"] == "cc-by"
    assert body["media_type"] == "application/pdf"
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["school"] == {"id": str(school.id), "name": "Ош №5 мектеби"}
    assert body["authors"] == [
        {"id": str(school.admin.member_id), "full_name": "Director of Ош №5 мектеби"}
    ]
    assert body["co_authors"] == ["Asanova, A.", "Ivanov I."]
    assert body["derived_from"] is None and body["provenance"] == []
    version = body["current_version"]
    assert version["number"] == 1
    assert version["original_name"] == "Бөлчөктөр 5-класс.pdf"
    assert (version["media_type"], version["size"], version["sha256"]) == (
        "application/pdf",
        len(content),
        body["sha256"],
    )
    assert version["created_at"]
    assert len(store.stored_keys()) == 1
    assert await storage_used(settings, school.id) == len(content)
    assert [e.action for e in await audit_actions(settings, body["id"])] == ["resource.created"]


async def test_the_stored_file_comes_back_byte_for_byte(
    schools: SchoolFactory, store: StoreUnderTest
) -> None:
    school = await schools.create()
    content = word_document()
    created = await upload(
        school.admin,
        content,
        filename="plan.docx",
        media_type="application/octet-stream",
    )
    assert created.status_code == 201, created.text
    assert created.json()["media_type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )

    downloaded = await school.admin.get(f"/api/resources/{created.json()['id']}/content")

    assert downloaded.status_code == 200
    assert downloaded.content == content


async def test_fields_may_follow_the_file(schools: SchoolFactory, settings: Settings) -> None:
    school = await schools.create()
    body, content_type = multipart_body(
        [
            ("file", "notes.txt", text()),
            ("title", None, b"Notes"),
            ("kind", None, b"other"),
            ("grades", None, b"7,8"),
        ]
    )

    response = await post_raw(school.admin, body, content_type)

    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == "text/plain"
    assert response.json()["grades"] == [7, 8]


@pytest.mark.parametrize(
    ("content", "filename", "media_type"),
    [
        (png(), "board.png", "image/png"),
        (text("a,b\n1,2\n"), "marks.csv", "text/csv"),
        (text("# Plan\n\nFractions.\n"), "plan.md", "text/markdown"),
    ],
)
async def test_other_kinds_of_files_schools_share_are_accepted(
    schools: SchoolFactory, content: bytes, filename: str, media_type: str
) -> None:
    school = await schools.create()

    response = await upload(school.admin, content, filename=filename)

    assert response.status_code == 201, response.text
    assert response.json()["media_type"] == media_type


async def test_authors_are_members_of_the_school_and_co_authors_free_text(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    other = await schools.create()

    credited = await upload(
        school.admin, author_ids=f"{teacher.member_id},{school.admin.member_id}"
    )
    stranger = await upload(school.admin, author_ids=str(other.admin.member_id))

    assert credited.status_code == 201, credited.text
    assert {a["id"] for a in credited.json()["authors"]} == {
        str(teacher.member_id),
        str(school.admin.member_id),
    }
    body = assert_problem(stranger, 422)
    assert "co_authors" in body["detail"]


@pytest.mark.parametrize(("fields", "field"), FIELD_REFUSALS)
async def test_each_field_is_checked_and_a_refusal_leaves_nothing(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    fields: dict[str, Any],
    field: str,
) -> None:
    school = await schools.create()

    response = await upload(school.admin, **fields)

    body = assert_problem(response, 422)
    assert field in {error["field"] for error in body["errors"]}, body
    await assert_nothing_left(settings, store)


async def test_every_problem_of_a_form_is_reported_at_once(schools: SchoolFactory) -> None:
    school = await schools.create()

    response = await upload(school.admin, title="", kind="poem", grades="13", language="zz")

    body = assert_problem(response, 422)
    assert {e["field"] for e in body["errors"]} == {"title", "kind", "grades", "language"}


@pytest.mark.parametrize("language", ["ky", "ru", "en", "uz", "TG", "de"])
async def test_languages_are_iso_639_1_codes(schools: SchoolFactory, language: str) -> None:
    school = await schools.create()

    response = await upload(school.admin, language=language)

    assert response.status_code == 201, response.text
    assert response.json()["language"] == language.lower()


async def test_a_confidential_resource_cannot_carry_an_open_licence(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()

    response = await upload(school.admin, kind="policy", confidential="true", licence="cc-by-sa")

    body = assert_problem(response, 422, rule=6)
    assert "confidential" in body["detail"]
    await assert_nothing_left(settings, store)


async def test_selected_visibility_names_active_partners_only(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    partner = await schools.create()
    stranger = await schools.create()
    await make_partners(settings, school.id, partner.id)

    shared = await upload(school.admin, visibility="selected", shared_with=str(partner.id))
    not_partner = await upload(school.admin, visibility="selected", shared_with=str(stranger.id))
    nobody = await upload(school.admin, visibility="selected")
    not_selected = await upload(school.admin, visibility="partners", shared_with=str(partner.id))

    assert shared.status_code == 201, shared.text
    assert shared.json()["shared_with"] == [str(partner.id)]
    assert "not an active partner" in assert_problem(not_partner, 422)["detail"]
    assert_problem(nobody, 422)
    assert_problem(not_selected, 422)
    assert len(store.stored_keys()) == 1


async def test_a_derived_resource_records_its_original_and_shows_its_provenance(
    schools: SchoolFactory, settings: Settings
) -> None:
    owner = await schools.create("Naryn school")
    adapter = await schools.create("Talas school")
    await make_partners(settings, owner.id, adapter.id)
    original = (await upload(owner.admin, title="Original plan", licence="cc-by")).json()

    derived = await upload(adapter.admin, title="Adapted plan", derived_from=original["id"])

    assert derived.status_code == 201, derived.text
    body = derived.json()
    assert body["derived_from"]["id"] == original["id"]
    assert body["derived_from"]["version"] == 1
    assert body["derived_from"]["school"] == {"id": str(owner.id), "name": "Naryn school"}
    assert body["derived_from"]["authors"] == original["authors"]
    assert [step["id"] for step in body["provenance"]] == [original["id"]]


async def test_a_school_adapts_its_own_resources_whatever_their_licence(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    original = (await upload(school.admin)).json()

    derived = await upload(school.admin, derived_from=original["id"])

    assert derived.status_code == 201, derived.text
    assert derived.json()["derived_from"]["id"] == original["id"]


async def test_adapting_a_partners_reserved_resource_needs_permission_first(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    owner = await schools.create()
    adapter = await schools.create()
    await make_partners(settings, owner.id, adapter.id)
    original = (await upload(owner.admin)).json()

    refused = await upload(adapter.admin, derived_from=original["id"])

    assert_problem(refused, 403, rule=7)
    assert len(store.stored_keys()) == 1


async def test_adapting_what_the_school_cannot_read_is_not_found(
    schools: SchoolFactory, store: StoreUnderTest
) -> None:
    owner = await schools.create()
    stranger = await schools.create()
    original = (await upload(owner.admin, licence="cc0")).json()

    hidden = await upload(stranger.admin, derived_from=original["id"])
    missing = await upload(stranger.admin, derived_from=random_id())

    assert_problem(hidden, 404)
    assert_problem(missing, 404)
    assert len(store.stored_keys()) == 1


# --- what is refused by its content ------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "filename", "status"),
    [
        (elf_program, "lesson.pdf", 415),
        (html_page, "notes.txt", 415),
        (svg_with_script, "drawing.svg", 415),
        (pdf_with_zip_appended, "plan.pdf", 415),
        (lambda: b"", "empty.pdf", 422),
        (pdf, "plan.docx", 422),
        (png, "photo.pdf", 422),
    ],
    ids=[
        "program-named-pdf",
        "html-named-txt",
        "svg-with-script",
        "pdf-with-zip-appended",
        "empty",
        "pdf-named-docx",
        "png-named-pdf",
    ],
)
async def test_files_schools_do_not_share_are_refused_and_leave_nothing(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    make: Any,
    filename: str,
    status: int,
) -> None:
    school = await schools.create()

    response = await upload(school.admin, make(), filename=filename)

    assert_problem(response, status)
    await assert_nothing_left(settings, store)


async def test_a_zip_bomb_larger_than_the_limit_is_refused_by_its_size(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()

    response = await upload(school.admin, zip_bomb_docx(), filename="plan.docx")

    assert_problem(response, 413)
    await assert_nothing_left(settings, store)


@pytest.mark.upload_limit(16 * 1024 * 1024)
async def test_a_zip_bomb_named_docx_is_refused_for_what_it_unpacks_to(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()

    response = await upload(school.admin, zip_bomb_docx(), filename="plan.docx")

    body = assert_problem(response, 422)
    assert "GB" in body["detail"]
    await assert_nothing_left(settings, store)


# --- sizes ---------------------------------------------------------------------------------


async def test_a_file_of_exactly_the_limit_is_accepted(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()

    response = await upload(school.admin, pdf_of_size(LIMIT))

    assert response.status_code == 201, response.text
    assert response.json()["size"] == LIMIT


async def test_one_byte_over_the_limit_is_refused_and_leaves_nothing(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()

    response = await upload(school.admin, pdf_of_size(LIMIT + 1))

    body = assert_problem(response, 413)
    assert body["max_upload_bytes"] == LIMIT
    await assert_nothing_left(settings, store)


async def test_an_announced_length_over_the_limit_is_refused_before_reading(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    streaming_client: StreamingClient,
) -> None:
    school = await schools.create()
    reads = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal reads
        reads += 1
        yield b"x" * 1024

    async with streaming_client() as http:
        response = await http.post(
            "/api/resources",
            content=body(),
            headers={
                **school.admin.headers,
                "Content-Type": "multipart/form-data; boundary=b",
                "Content-Length": str(settings.request_max_body_bytes + 1),
            },
        )

    assert_problem(response, 413)
    assert reads == 0
    await assert_nothing_left(settings, store)


# --- forms that are not right ------------------------------------------------------------


async def test_a_body_without_its_closing_boundary_is_refused_and_leaves_nothing(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    body, content_type = multipart_body(
        [("title", None, b"T"), ("kind", None, b"other"), ("file", "plan.pdf", pdf())]
    )
    truncated = body[: body.rindex(b"--exchange-boundary-1--")]

    response = await post_raw(school.admin, truncated, content_type)

    assert_problem(response, 400)
    await assert_nothing_left(settings, store)


async def test_a_form_of_eleven_hundred_parts_is_refused(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    parts = [("grades", None, b"5")] * 1_099 + [("file", "plan.pdf", pdf())]
    body, content_type = multipart_body(parts)

    response = await post_raw(school.admin, body, content_type)

    assert_problem(response, 400)
    await assert_nothing_left(settings, store)


@pytest.mark.parametrize(
    ("parts", "status"),
    [
        ([("title", None, b"T"), ("kind", None, b"other")], 422),
        ([("title", None, b"T"), ("kind", None, b"other"), ("upload", "a.pdf", b"%PDF")], 422),
        (
            [
                ("title", None, b"T"),
                ("kind", None, b"other"),
                ("file", "a.pdf", pdf()),
                ("file", "b.pdf", pdf()),
            ],
            422,
        ),
    ],
    ids=["no-file", "file-in-another-part", "two-files"],
)
async def test_a_form_without_exactly_one_file_is_refused(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    parts: list[tuple[str, str | None, bytes]],
    status: int,
) -> None:
    school = await schools.create()
    body, content_type = multipart_body(parts)

    response = await post_raw(school.admin, body, content_type)

    assert_problem(response, status)
    await assert_nothing_left(settings, store)


async def test_a_body_that_is_not_a_form_is_refused(schools: SchoolFactory) -> None:
    school = await schools.create()

    response = await school.admin.post("/api/resources", json={"title": "T", "kind": "other"})

    assert_problem(response, 415)


async def test_a_wrong_field_before_the_file_is_refused_before_the_file_is_read(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    streaming_client: StreamingClient,
) -> None:
    school = await schools.create()
    head, content_type = multipart_body([("kind", None, b"poem")])
    head = head[: head.rindex(b"--exchange-boundary-1--")]
    file_start = (
        b'--exchange-boundary-1\r\nContent-Disposition: form-data; name="file"; '
        b'filename="v.pdf"\r\n\r\n'
    )
    sent_after_refusal = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent_after_refusal
        yield head + file_start + pdf()
        # A client keeps sending; the refusal came before any of this was needed.
        for _ in range(8):
            sent_after_refusal += 1
            yield b"%" * 4096

    async with streaming_client() as http:
        response = await http.post(
            "/api/resources",
            content=body(),
            headers={**school.admin.headers, "Content-Type": content_type},
        )

    body_json = assert_problem(response, 422)
    assert "kind" in body_json["detail"]
    assert sent_after_refusal == 0
    await assert_nothing_left(settings, store)


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\teacher\\plan.pdf", "plan.pdf"),
        ("fdp.\u202eexe.pdf", "fdp.exe.pdf"),
        ('say "hello".pdf', "say hello.pdf"),
        ("CON.pdf", "CON_.pdf"),
        (".htaccess.pdf", "htaccess.pdf"),
        ("-rf.pdf", "rf.pdf"),
    ],
)
async def test_the_original_name_is_cleaned_for_display(
    schools: SchoolFactory, store: StoreUnderTest, sent: str, shown: str
) -> None:
    school = await schools.create()

    response = await upload(school.admin, filename=sent)

    assert response.status_code == 201, response.text
    assert response.json()["current_version"]["original_name"] == shown
    assert all(shown not in key and "passwd" not in key for key in store.stored_keys())


async def test_a_name_of_a_thousand_characters_is_cut_keeping_its_extension(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()

    response = await upload(school.admin, filename="ж" * 1000 + ".pdf")

    assert response.status_code == 201, response.text
    name = response.json()["current_version"]["original_name"]
    assert len(name) <= 200 and name.endswith(".pdf")


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../etc/passwd", False),
        (".htaccess", False),
        ("plan.pdf\r\nX-Injected: 1", False),
        ('a"b.pdf', False),
        ("plan\x00.exe.pdf", True),
        ("plan%0D%0AX-Injected: 1.pdf", True),
        ("plan%22.pdf", True),
    ],
    ids=[
        "passwd-no-extension",
        "htaccess",
        "raw-crlf",
        "raw-quote",
        "raw-nul",
        "escaped-crlf",
        "escaped-quote",
    ],
)
async def test_hostile_names_sent_raw_never_cause_a_server_error(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    sent: str,
    stored: bool,
) -> None:
    school = await schools.create()
    body, content_type = multipart_body(
        [("title", None, b"T"), ("kind", None, b"other"), ("file", sent, pdf())]
    )

    response = await post_raw(school.admin, body, content_type)

    if stored:
        assert response.status_code == 201, response.text
        name = response.json()["current_version"]["original_name"]
        assert not set(name) & set('"\r\n\x00/\\'), name
        assert name.endswith(".pdf")
        downloaded = await school.admin.get(f"/api/resources/{response.json()['id']}/content")
        assert downloaded.status_code == 200
        assert "\r" not in downloaded.headers["content-disposition"]
    else:
        # A name without the PDF's extension, or a header a line break has cut: the
        # form is refused (4xx, never 500) and nothing is kept.
        assert 400 <= response.status_code < 500
        assert_problem(response, response.status_code)
        await assert_nothing_left(settings, store)


# --- stalls, quotas -----------------------------------------------------------------------


async def test_a_stalled_upload_is_cut_off_and_leaves_nothing(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    streaming_client: StreamingClient,
) -> None:
    school = await schools.create()
    body, content_type = multipart_body(
        [("title", None, b"T"), ("kind", None, b"other"), ("file", "plan.pdf", pdf())]
    )
    cut = len(body) // 2

    async def stalling() -> AsyncIterator[bytes]:
        yield body[:cut]
        await asyncio.sleep(settings.upload_idle_timeout_seconds + 1)
        yield body[cut:]

    async with streaming_client() as http:
        response = await http.post(
            "/api/resources",
            content=stalling(),
            headers={**school.admin.headers, "Content-Type": content_type},
        )

    assert_problem(response, 408)
    await assert_nothing_left(settings, store)
