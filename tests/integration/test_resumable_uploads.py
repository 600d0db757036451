"""Resumable uploads (tus 1.0.0) through the app: the protocol's answers, the refusals of
the form upload given the same way before a byte arrives, the content checked as the
form's is, wrong offsets and checksums, another member's upload, expiry, and the quota
shared by uploads still arriving. (Real clients over real connections, cut and killed:
`test_resumable_transfers.py`.)"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from exchange.accounts.identity import Identity
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.models import Resource, Upload
from exchange.resources.storekeeping import DEFAULT_GRACE, collect_garbage
from tests.actors import Actor, SchoolFactory
from tests.clock import ManualClock
from tests.problems import assert_problem
from tests.resource_fixtures import (
    FIELD_REFUSALS,
    NOTHING_STORED,
    StoreUnderTest,
    database,
    random_id,
    row_counts,
    storage_used,
    upload,
)
from tests.sample_files import elf_program, html_page, pdf, pdf_of_size, png, svg_with_script

pytestmark = pytest.mark.every_database

TUS = {"Tus-Resumable": "1.0.0"}
PIECE = {**TUS, "Content-Type": "application/offset+octet-stream"}
LIMIT = 256 * 1024


@pytest.fixture
def settings(settings: Settings, store: StoreUnderTest) -> Settings:
    return replace(store.apply(settings), max_upload_bytes=LIMIT, upload_idle_timeout_seconds=3.0)


def metadata(**fields: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in fields.items()
    )


PLAN = {"filename": "plan.pdf", "title": "Fractions, grade 5", "kind": "lesson_plan"}


async def begin(actor: Actor, length: int, **fields: str) -> Any:
    return await actor.post(
        "/api/uploads",
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**fields)},
    )


async def send(actor: Actor, location: str, offset: int, piece: bytes, **headers: str) -> Any:
    return await actor.patch(
        location, content=piece, headers={**PIECE, "Upload-Offset": str(offset), **headers}
    )


async def upload_in_pieces(actor: Actor, content: bytes, size: int, **fields: str) -> Any:
    created = await begin(actor, len(content), **(fields or PLAN))
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    answer = created
    for offset in range(0, len(content), size):
        answer = await send(actor, location, offset, content[offset : offset + size])
        assert answer.status_code == 204, answer.text
        assert int(answer.headers["upload-offset"]) == min(offset + size, len(content))
    return location, answer


async def assert_nothing_left(settings: Settings, store: StoreUnderTest) -> None:
    assert store.contents() == []
    assert await row_counts(settings) == NOTHING_STORED


async def test_options_tell_the_version_extensions_and_largest_size(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()

    response = await school.admin.request("OPTIONS", "/api/uploads")

    assert response.status_code == 204
    assert response.headers["tus-version"] == "1.0.0"
    extensions = set(response.headers["tus-extension"].split(","))
    assert {"creation", "creation-with-upload", "expiration", "termination", "checksum"} <= (
        extensions
    )
    assert response.headers["tus-max-size"] == str(LIMIT)
    assert set(response.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256"}


async def test_a_file_sent_in_pieces_becomes_the_resource_a_form_upload_makes(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    content = pdf_of_size(100_000)

    location, last = await upload_in_pieces(
        school.admin, content, 30_000, **PLAN, grades="5,6", language="ky"
    )

    resource_id = last.headers["exchange-resource-id"]
    resource = (await school.admin.get(f"/api/resources/{resource_id}")).json()
    assert resource["title"] == "Fractions, grade 5"
    assert resource["grades"] == [5, 6]
    assert resource["media_type"] == "application/pdf"
    assert resource["size"] == len(content)
    assert resource["sha256"] == hashlib.sha256(content).hexdigest()
    assert resource["current_version"]["original_name"] == "plan.pdf"
    got = await school.admin.get(f"/api/resources/{resource_id}/content")
    assert got.content == content
    state = (await school.admin.get(location)).json()
    assert state["state"] == "done"
    assert state["offset"] == state["length"] == len(content)
    assert state["resource_id"] == resource_id
    assert state["problem"] is None
    assert await storage_used(settings, school.id) == len(content)
    assert store.stored_keys() and not any("resumable" in key for key in store.contents())


async def test_head_tells_the_offset_length_and_expiry(schools: SchoolFactory) -> None:
    school = await schools.create()
    content = pdf_of_size(50_000)
    created = await begin(school.admin, len(content), **PLAN)
    location = created.headers["location"]
    assert created.headers["upload-expires"]

    await send(school.admin, location, 0, content[:20_000])
    head = await school.admin.request("HEAD", location, headers=TUS)

    assert head.status_code == 200
    assert head.headers["upload-offset"] == "20000"
    assert head.headers["upload-length"] == str(len(content))
    assert head.headers["upload-expires"]
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["tus-resumable"] == "1.0.0"


async def test_creation_with_upload_takes_the_first_piece_with_the_post(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    content = pdf_of_size(40_000)

    created = await school.admin.post(
        "/api/uploads",
        content=content[:10_000],
        headers={
            **PIECE,
            "Upload-Length": str(len(content)),
            "Upload-Metadata": metadata(**PLAN),
        },
    )

    assert created.status_code == 201, created.text
    assert created.headers["upload-offset"] == "10000"
    done = await send(school.admin, created.headers["location"], 10_000, content[10_000:])
    assert done.status_code == 204
    assert done.headers["exchange-resource-id"]


async def test_a_piece_at_the_wrong_offset_is_refused_with_409(schools: SchoolFactory) -> None:
    school = await schools.create()
    content = pdf_of_size(50_000)
    location = (await begin(school.admin, len(content), **PLAN)).headers["location"]
    await send(school.admin, location, 0, content[:10_000])

    response = await send(school.admin, location, 5_000, content[5_000:20_000])

    assert_problem(response, 409)
    assert response.headers["upload-offset"] == "10000"
    assert response.headers["tus-resumable"] == "1.0.0"
    head = await school.admin.request("HEAD", location, headers=TUS)
    assert head.headers["upload-offset"] == "10000"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
async def test_a_piece_that_fails_its_checksum_is_dropped_with_460(
    schools: SchoolFactory, algorithm: str
) -> None:
    school = await schools.create()
    content = pdf_of_size(50_000)
    location = (await begin(school.admin, len(content), **PLAN)).headers["location"]
    piece = content[:20_000]
    wrong = base64.b64encode(hashlib.new(algorithm, b"something else").digest()).decode()

    response = await send(
        school.admin, location, 0, piece, **{"Upload-Checksum": f"{algorithm} {wrong}"}
    )

    assert_problem(response, 460)
    head = await school.admin.request("HEAD", location, headers=TUS)
    assert head.headers["upload-offset"] == "0"
    right = base64.b64encode(hashlib.new(algorithm, piece).digest()).decode()
    again = await send(
        school.admin, location, 0, piece, **{"Upload-Checksum": f"{algorithm} {right}"}
    )
    assert again.status_code == 204
    assert again.headers["upload-offset"] == "20000"
    done = await send(school.admin, location, 20_000, content[20_000:])
    resource_id = done.headers["exchange-resource-id"]
    resource = (await school.admin.get(f"/api/resources/{resource_id}")).json()
    assert resource["sha256"] == hashlib.sha256(content).hexdigest()


async def test_another_member_can_neither_see_nor_continue_an_upload(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    colleague = await school.teacher()
    stranger = (await schools.create()).admin
    content = pdf_of_size(30_000)
    location = (await begin(school.admin, len(content), **PLAN)).headers["location"]

    for other in (colleague, stranger):
        assert (await other.request("HEAD", location, headers=TUS)).status_code == 404
        assert_problem(await other.get(location), 404)
        assert_problem(await send(other, location, 0, content), 404)
        assert_problem(await other.delete(location, headers=TUS), 404)
    assert_problem(await school.admin.get(f"/api/uploads/{random_id()}"), 404)
    head = await school.admin.request("HEAD", location, headers=TUS)
    assert head.headers["upload-offset"] == "0"


async def test_abandoning_an_upload_removes_its_bytes_and_gives_the_quota_back(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    content = pdf_of_size(60_000)
    location = (await begin(school.admin, len(content), **PLAN)).headers["location"]
    await send(school.admin, location, 0, content[:30_000])
    assert await storage_used(settings, school.id) == len(content)

    response = await school.admin.delete(location, headers=TUS)

    assert response.status_code == 204
    assert (await school.admin.request("HEAD", location, headers=TUS)).status_code == 404
    assert await storage_used(settings, school.id) == 0
    await assert_nothing_left(settings, store)


async def test_a_client_that_does_not_speak_tus_1_is_refused_with_412(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()

    response = await school.admin.post(
        "/api/uploads", headers={"Upload-Length": "10", "Upload-Metadata": metadata(**PLAN)}
    )

    assert_problem(response, 412)
    assert response.headers["tus-version"] == "1.0.0"


# --- the form upload's refusals, given the same way -----------------------------------------


@pytest.mark.parametrize(("fields", "field"), FIELD_REFUSALS)
async def test_each_field_is_refused_before_a_byte_as_the_form_refuses_it(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    fields: dict[str, Any],
    field: str,
) -> None:
    school = await schools.create()
    form = await upload(school.admin, **fields)
    sent = {
        name: ",".join(value) if isinstance(value, list) else value
        for name, value in {**PLAN, **fields}.items()
        if value is not None
    }

    response = await begin(school.admin, 1000, **sent)

    body = assert_problem(response, 422)
    assert body == {
        **assert_problem(form, 422),
        "instance": body["instance"],
        "request_id": body["request_id"],
    }
    assert field in {error["field"] for error in body["errors"]}
    assert response.headers["tus-resumable"] == "1.0.0"
    await assert_nothing_left(settings, store)
    assert await storage_used(settings, school.id) == 0


async def test_the_rules_that_need_the_database_are_asked_before_a_byte(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    stranger = await schools.create()
    cases: list[tuple[dict[str, str], int]] = [
        # Sharing with a school that is not a partner.
        ({"visibility": "selected", "shared_with": str(stranger.id)}, 422),
        # A student's work shared without consent.
        ({"kind": "student_work", "visibility": "partners"}, 422),
        # Adapting what the school cannot read.
        ({"derived_from": random_id()}, 404),
        # A confidential resource under an open licence.
        ({"confidential": "true", "licence": "cc-by"}, 422),
    ]
    for fields, status in cases:
        form = assert_problem(await upload(school.admin, **fields), status)
        tus = assert_problem(await begin(school.admin, 1000, **{**PLAN, **fields}), status)
        assert (tus["type"], tus["detail"]) == (form["type"], form["detail"]), fields
    await assert_nothing_left(settings, store)
    async with database(settings) as session:
        assert await session.scalar(select(func.count()).select_from(Upload)) == 0


async def test_a_file_over_the_limit_is_refused_at_creation(schools: SchoolFactory) -> None:
    school = await schools.create()
    form = assert_problem(await upload(school.admin, pdf_of_size(LIMIT + 1)), 413)

    tus = assert_problem(await begin(school.admin, LIMIT + 1, **PLAN), 413)

    assert tus["detail"] == form["detail"]


@pytest.mark.parametrize(
    ("make", "filename", "status"),
    [
        (elf_program, "plan.pdf", 415),
        (html_page, "notes.txt", 415),
        (svg_with_script, "drawing.svg", 415),
        (pdf, "plan.docx", 422),
        (png, "photo.pdf", 422),
    ],
    ids=["program", "html", "svg", "pdf-named-docx", "png-named-pdf"],
)
async def test_content_the_form_refuses_is_refused_the_same_way_and_leaves_nothing(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    make: Any,
    filename: str,
    status: int,
) -> None:
    school = await schools.create()
    content = make()
    form = assert_problem(await upload(school.admin, content, filename=filename), status)
    created = await begin(school.admin, len(content), **{**PLAN, "filename": filename})
    location = created.headers["location"]

    response = await send(school.admin, location, 0, content)

    tus = assert_problem(response, status)
    assert (tus["type"], tus["detail"]) == (form["type"], form["detail"])
    state = (await school.admin.get(location)).json()
    assert state["state"] == "refused"
    assert state["problem"]["detail"] == form["detail"]
    assert await storage_used(settings, school.id) == 0
    await assert_nothing_left(settings, store)


async def test_an_empty_file_is_refused_as_the_form_refuses_it(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    form = assert_problem(await upload(school.admin, b"", filename="empty.pdf"), 422)

    tus = assert_problem(await begin(school.admin, 0, **{**PLAN, "filename": "empty.pdf"}), 422)

    assert tus["detail"] == form["detail"]
    await assert_nothing_left(settings, store)


async def test_a_program_is_refused_with_its_first_piece(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    program = elf_program() + b"\x00" * 40_000
    location = (await begin(school.admin, len(program) + 100_000, **PLAN)).headers["location"]

    response = await send(school.admin, location, 0, program)

    assert_problem(response, 415)
    assert (await school.admin.get(location)).json()["state"] == "refused"
    assert await storage_used(settings, school.id) == 0
    await assert_nothing_left(settings, store)


# --- versions -----------------------------------------------------------------------------


async def test_a_new_version_arrives_in_pieces(schools: SchoolFactory, settings: Settings) -> None:
    school = await schools.create()
    first = (await upload(school.admin, pdf())).json()
    content = pdf_of_size(70_000)

    _location, last = await upload_in_pieces(
        school.admin, content, 25_000, filename="plan-v2.pdf", resource_id=first["id"]
    )

    assert last.headers["exchange-resource-id"] == first["id"]
    resource = (await school.admin.get(f"/api/resources/{first['id']}")).json()
    assert resource["current_version"]["number"] == 2
    assert resource["sha256"] == hashlib.sha256(content).hexdigest()
    assert await storage_used(settings, school.id) == len(pdf()) + len(content)


async def test_a_new_version_takes_no_description_and_only_from_an_editor(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    first = (await upload(school.admin, pdf())).json()
    colleague = await school.teacher()
    stranger = (await schools.create()).admin

    with_title = await begin(
        school.admin, 1000, filename="v2.pdf", resource_id=first["id"], title="New"
    )
    by_colleague = await begin(colleague, 1000, filename="v2.pdf", resource_id=first["id"])
    by_stranger = await begin(stranger, 1000, filename="v2.pdf", resource_id=first["id"])

    assert_problem(with_title, 422)
    assert_problem(by_colleague, 403)
    assert_problem(by_stranger, 404)


# --- quota and expiry ---------------------------------------------------------------------


async def test_uploads_still_arriving_count_against_the_quota(
    schools: SchoolFactory, settings: Settings, running_apps: Any, clock: ManualClock
) -> None:
    settings = replace(settings, school_quota_bytes=200_000)
    async with running_apps.get(settings).client() as client:
        factory = SchoolFactory(client, settings)
        school = await factory.create()
        teacher = await school.teacher()

        answers = await asyncio.gather(
            *(begin(member, 80_000, **PLAN) for member in (school.admin, teacher, school.admin))
        )

        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201, 201, 507], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 507)
        form = assert_problem(await upload(school.admin, pdf_of_size(80_000)), 507)
        assert assert_problem(refused, 507)["type"] == form["type"]
        assert await storage_used(settings, school.id) == 160_000


async def gc_at(settings: Settings, store: StoreUnderTest, clock: ManualClock) -> Any:
    """`exchange store gc` at the apps' clock."""
    engine = create_engine(settings)
    blobs = store.open()
    try:
        sessions = create_session_factory(engine, consequences=build_consequences())
        return await collect_garbage(blobs, sessions, now=clock.now(), grace=DEFAULT_GRACE)
    finally:
        await blobs.close()
        await engine.dispose()


async def test_an_expired_upload_is_gone_and_gc_gives_its_bytes_and_quota_back(
    settings: Settings, store: StoreUnderTest, clock: ManualClock, running_apps: Any
) -> None:
    settings = replace(settings, upload_expiry_hours=2.0)
    async with running_apps.get(settings).client() as client:
        school = await SchoolFactory(client, settings).create()
        content = pdf_of_size(60_000)
        location = (await begin(school.admin, len(content), **PLAN)).headers["location"]
        await send(school.admin, location, 0, content[:30_000])
        clock.advance(timedelta(hours=1))
        # Each piece gives the upload its full time again.
        await send(school.admin, location, 30_000, content[30_000:40_000])
        clock.advance(timedelta(hours=1, minutes=30))
        assert (await school.admin.request("HEAD", location, headers=TUS)).status_code == 200

        clock.advance(timedelta(hours=1))

        assert (await school.admin.request("HEAD", location, headers=TUS)).status_code == 404
        assert_problem(await send(school.admin, location, 40_000, content[40_000:]), 404)
        assert await storage_used(settings, school.id) == len(content)
        report = await gc_at(settings, store, clock)
        assert report.uploads_expired == 1
        assert await storage_used(settings, school.id) == 0
        await assert_nothing_left(settings, store)
        async with database(settings) as session:
            assert await session.scalar(select(func.count()).select_from(Upload)) == 0


# --- the same events as the form ------------------------------------------------------


@pytest.fixture
def recorded_events(client: Any) -> Iterator[list[Any]]:
    """Every domain event the app's units of work publish while the test runs (those
    its handlers record in turn included), as plain data taken when it is published."""
    subscriptions = client.app.state["consequences"]
    seen: list[Any] = []

    async def record(_uow: Any, event: Any) -> None:
        seen.append(_plain(event))

    subscriptions.within_transaction(object, record)
    yield seen
    subscriptions.within[object].remove(record)


def _plain(value: Any) -> Any:
    if isinstance(value, Identity):
        return ("member", str(value.member_id))
    if isinstance(value, Resource):
        return ("resource", str(value.id), value.title, value.kind, value.visibility)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return (type(value).__name__, fields)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value) if isinstance(value, UUID) else value


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def comparable(events: list[Any]) -> str:
    """The events as what they say, with the ids of the resources they speak of named
    alike, so that two uploads of one file by one member compare."""
    text = repr(events)
    made = set(re.findall(rf"\('resource', '({_UUID.pattern})'", text))
    return _UUID.sub(lambda found: "<made>" if found.group(0) in made else found.group(0), text)


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "Fractions, grade 5", "kind": "lesson_plan", "grades": "5,6"},
        {
            "title": "Essays of grade 9",
            "kind": "student_work",
            "student_consent": "parents",
            "visibility": "partners",
        },
    ],
    ids=["lesson-plan", "student-work-with-consent"],
)
async def test_a_finished_upload_records_the_same_events_as_the_form(
    schools: SchoolFactory, recorded_events: list[Any], fields: dict[str, str]
) -> None:
    school = await schools.create()
    content = pdf_of_size(40_000)

    recorded_events.clear()
    by_form = await upload(school.admin, content, **fields)
    assert by_form.status_code == 201, by_form.text
    form_events = comparable(recorded_events)
    recorded_events.clear()
    _location, last = await upload_in_pieces(
        school.admin, content, 15_000, filename="plan.pdf", **fields
    )
    tus_events = comparable(recorded_events)

    assert last.headers["exchange-resource-id"] != by_form.json()["id"]
    assert "('ResourceCreated'" in form_events
    assert tus_events == form_events


async def test_a_version_finished_in_pieces_records_the_same_events_as_the_form(
    schools: SchoolFactory, recorded_events: list[Any]
) -> None:
    school = await schools.create()
    resource_id = (await upload(school.admin, pdf())).json()["id"]
    first, second = pdf_of_size(30_000), pdf_of_size(31_000)

    recorded_events.clear()
    by_form = await school.admin.post(
        f"/api/resources/{resource_id}/versions",
        data={"change_note": "Answers corrected."},
        files={"file": ("plan-v2.pdf", first, "application/pdf")},
    )
    assert by_form.status_code == 201, by_form.text
    form_events = comparable(recorded_events)
    recorded_events.clear()
    await upload_in_pieces(
        school.admin,
        second,
        10_000,
        filename="plan-v2.pdf",
        resource_id=resource_id,
        change_note="Answers corrected.",
    )
    tus_events = comparable(recorded_events)

    assert "('VersionAdded'" in form_events
    # The two versions differ in number, size and checksum; all else is alike.
    assert _without_file(tus_events) == _without_file(form_events)


def _without_file(text: str) -> str:
    for key in ("version", "number", "size", "sha256"):
        text = re.sub(rf"'{key}': [^,}}]+", f"'{key}': <file>", text)
    return text
