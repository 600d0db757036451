"""Reading, changing and deleting resources: who may, what is checked, what is kept."""

from __future__ import annotations

import asyncio

import pytest

from exchange.config import Settings
from tests.actors import SchoolFactory, SchoolHandle
from tests.problems import assert_problem
from tests.resource_fixtures import (
    NOTHING_STORED,
    StoreUnderTest,
    audit_actions,
    end_partnership,
    make_partners,
    random_id,
    row_counts,
    storage_used,
    upload,
    upload_version,
)
from tests.sample_files import pdf, text


@pytest.fixture
def settings(settings: Settings, store: StoreUnderTest) -> Settings:
    return store.apply(settings)


async def shared(school: SchoolHandle, **fields: str) -> str:
    response = await upload(school.admin, **fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# --- reading: the policy decides, and anything not readable is 404 ---------------------


async def test_readers_follow_visibility_and_partnerships(
    schools: SchoolFactory, settings: Settings
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    listed = await schools.create()
    stranger = await schools.create()
    await make_partners(settings, owner.id, partner.id)
    await make_partners(settings, owner.id, listed.id)
    for_partners = await shared(owner)
    for_school = await shared(owner, visibility="school")
    for_listed = await shared(owner, visibility="selected", shared_with=str(listed.id))

    async def status(school: SchoolHandle, resource_id: str, suffix: str = "") -> int:
        response = await school.admin.get(f"/api/resources/{resource_id}{suffix}")
        return int(response.status_code)

    for suffix in ("", "/versions", "/content", "/versions/1/content"):
        assert [
            await status(s, for_partners, suffix) for s in (owner, partner, listed, stranger)
        ] == [200, 200, 200, 404], suffix
        assert [
            await status(s, for_school, suffix) for s in (owner, partner, listed, stranger)
        ] == [200, 404, 404, 404], suffix
        assert [
            await status(s, for_listed, suffix) for s in (owner, partner, listed, stranger)
        ] == [200, 404, 200, 404], suffix


async def test_ending_a_partnership_cuts_access_at_once(
    schools: SchoolFactory, settings: Settings
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    partnership = await make_partners(settings, owner.id, partner.id)
    resource_id = await shared(owner)
    assert (await partner.admin.get(f"/api/resources/{resource_id}")).status_code == 200

    await end_partnership(settings, partnership)

    assert_problem(await partner.admin.get(f"/api/resources/{resource_id}"), 404)
    assert_problem(await partner.admin.get(f"/api/resources/{resource_id}/content"), 404)


async def test_an_unknown_resource_looks_like_a_hidden_one(schools: SchoolFactory) -> None:
    owner = await schools.create()
    stranger = await schools.create()
    resource_id = await shared(owner, visibility="school")

    hidden = await stranger.admin.get(f"/api/resources/{resource_id}")
    missing = await stranger.admin.get(f"/api/resources/{random_id()}")

    assert assert_problem(hidden, 404)["detail"] == assert_problem(missing, 404)["detail"]


async def test_a_partner_sees_the_resource_but_not_whom_else_it_is_shared_with(
    schools: SchoolFactory, settings: Settings
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    other = await schools.create()
    await make_partners(settings, owner.id, partner.id)
    await make_partners(settings, owner.id, other.id)
    resource_id = await shared(owner, visibility="selected", shared_with=f"{partner.id},{other.id}")

    as_owner = (await owner.admin.get(f"/api/resources/{resource_id}")).json()
    as_partner = (await partner.admin.get(f"/api/resources/{resource_id}")).json()

    assert sorted(as_owner["shared_with"]) == sorted([str(partner.id), str(other.id)])
    assert as_partner["shared_with"] == []
    assert as_owner["can_edit"] is True
    assert as_partner["can_edit"] is False


async def test_a_confidential_resource_is_never_cached(
    schools: SchoolFactory, settings: Settings
) -> None:
    owner = await schools.create()
    partner = await schools.create()
    await make_partners(settings, owner.id, partner.id)
    resource_id = await shared(owner, kind="policy", confidential="yes")
    ordinary_id = await shared(owner)

    metadata = await partner.admin.get(f"/api/resources/{resource_id}")
    content = await partner.admin.get(f"/api/resources/{resource_id}/content")
    ordinary = await partner.admin.get(f"/api/resources/{ordinary_id}/content")

    assert metadata.headers["cache-control"] == "no-store"
    assert content.headers["cache-control"] == "no-store"
    assert "no-store" not in ordinary.headers["cache-control"]
    assert "private" in ordinary.headers["cache-control"]


# --- changing metadata ----------------------------------------------------------------


async def test_an_author_changes_only_the_fields_sent(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    resource_id = str(
        (await upload(teacher, subject="Maths", grades="5", language="ru")).json()["id"]
    )

    response = await teacher.patch(
        f"/api/resources/{resource_id}",
        json={"title": "Дроби", "grades": [6, 5, 6], "language": "KY", "subject": None},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["grades"], body["language"]) == ("Дроби", [5, 6], "ky")
    assert body["subject"] is None
    assert body["kind"] == "lesson_plan"
    events = await audit_actions(settings, resource_id)
    assert [e.action for e in events] == ["resource.created", "resource.updated"]
    assert set(events[-1].details["fields"]) == {"title", "grades", "language", "subject"}


async def test_who_may_change_and_delete(schools: SchoolFactory, settings: Settings) -> None:
    school = await schools.create()
    author = await school.teacher()
    colleague = await school.teacher()
    partner = await schools.create()
    await make_partners(settings, school.id, partner.id)
    resource_id = str((await upload(author)).json()["id"])
    url = f"/api/resources/{resource_id}"

    assert (await author.patch(url, json={"title": "By the author"})).status_code == 200
    assert (await school.admin.patch(url, json={"title": "By the admin"})).status_code == 200
    assert_problem(await colleague.patch(url, json={"title": "x"}), 403)
    assert_problem(await partner.admin.patch(url, json={"title": "x"}), 403)
    assert_problem(await colleague.delete(url), 403)
    assert_problem(await partner.admin.delete(url), 403)
    assert_problem(await upload_version(colleague, resource_id, pdf()), 403)
    assert (await school.admin.get(url)).json()["title"] == "By the admin"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"kind": "song"}, "kind"),
        ({"grades": [0]}, "grades"),
        ({"language": "zz"}, "language"),
        ({"visibility": "everyone"}, "visibility"),
        ({"licence": "mit"}, "licence"),
        ({"author_ids": []}, "author_ids"),
        ({"co_authors": ["x" * 201]}, "co_authors"),
    ],
)
async def test_a_change_is_checked_like_an_upload(
    schools: SchoolFactory, change: dict[str, object], field: str
) -> None:
    school = await schools.create()
    resource_id = await shared(school)

    response = await school.admin.patch(f"/api/resources/{resource_id}", json=change)

    body = assert_problem(response, 422)
    assert field in {e["field"] for e in body["errors"]}


async def test_a_change_with_an_unknown_field_or_a_wrong_type_is_refused(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    resource_id = await shared(school)
    url = f"/api/resources/{resource_id}"

    assert (
        400 <= (await school.admin.patch(url, json={"derived_from": random_id()})).status_code < 500
    )
    assert 400 <= (await school.admin.patch(url, json={"grades": "5"})).status_code < 500
    assert 400 <= (await school.admin.patch(url, content=b"{not json")).status_code < 500
    assert (await school.admin.get(url)).json()["grades"] == []


async def test_making_an_openly_licensed_resource_confidential_is_refused_by_rule_6(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    resource_id = await shared(school, licence="cc-by")

    response = await school.admin.patch(
        f"/api/resources/{resource_id}", json={"confidential": True}
    )
    both = await school.admin.patch(
        f"/api/resources/{resource_id}",
        json={"confidential": True, "licence": "all_rights_reserved"},
    )

    assert_problem(response, 422, rule=6)
    assert both.status_code == 200, both.text
    assert both.json()["confidential"] is True


async def test_visibility_and_shared_with_change_together(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    partner = await schools.create()
    stranger = await schools.create()
    await make_partners(settings, school.id, partner.id)
    resource_id = await shared(school)
    url = f"/api/resources/{resource_id}"

    selected = await school.admin.patch(
        url, json={"visibility": "selected", "shared_with": [str(partner.id)]}
    )
    wrong = await school.admin.patch(url, json={"shared_with": [str(stranger.id)]})
    widened = await school.admin.patch(url, json={"visibility": "partners"})

    assert selected.json()["shared_with"] == [str(partner.id)]
    assert_problem(wrong, 422)
    assert widened.json()["visibility"] == "partners"
    assert widened.json()["shared_with"] == []
    assert (await row_counts(settings))["resource_shares"] == 0


async def test_authors_can_be_replaced_by_members_of_the_school(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    other = await schools.create()
    resource_id = await shared(school)
    url = f"/api/resources/{resource_id}"

    changed = await school.admin.patch(
        url, json={"author_ids": [str(teacher.member_id)], "co_authors": ["Ivanova A."]}
    )
    stranger = await school.admin.patch(url, json={"author_ids": [str(other.admin.member_id)]})

    assert [a["id"] for a in changed.json()["authors"]] == [str(teacher.member_id)]
    assert changed.json()["co_authors"] == ["Ivanova A."]
    assert_problem(stranger, 422)
    # The new author may now change it; the admin still may, as an admin.
    assert (await teacher.patch(url, json={"title": "Mine now"})).status_code == 200


# --- deleting --------------------------------------------------------------------------


async def test_deleting_removes_rows_then_files_and_gives_the_space_back(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    resource_id = await shared(school)
    second = await upload_version(school.admin, resource_id, text(), filename="v2.txt")
    assert second.status_code == 201, second.text
    assert len(store.stored_keys()) == 2
    assert await storage_used(settings, school.id) > 0

    response = await school.admin.delete(f"/api/resources/{resource_id}")

    assert response.status_code == 204
    assert store.contents() == []
    assert await row_counts(settings) == NOTHING_STORED
    assert await storage_used(settings, school.id) == 0
    assert_problem(await school.admin.get(f"/api/resources/{resource_id}"), 404)
    assert [e.action for e in await audit_actions(settings, resource_id)][-1] == (
        "resource.deleted"
    )


async def test_a_derived_resource_outlives_its_deleted_original(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    original = await shared(school)
    derived = await shared(school, derived_from=original)

    await school.admin.delete(f"/api/resources/{original}")

    response = await school.admin.get(f"/api/resources/{derived}")
    assert response.status_code == 200
    assert response.json()["derived_from"] is None


# --- versions --------------------------------------------------------------------------


async def test_a_new_version_becomes_current_and_the_history_keeps_all(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    author = await school.teacher()
    first = pdf()
    resource_id = str((await upload(author, first)).json()["id"])
    second = text("Revised plan.\n")

    response = await upload_version(author, resource_id, second, filename="plan v2.txt")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["current_version"]["number"] == 2
    assert body["current_version"]["original_name"] == "plan v2.txt"
    assert (body["media_type"], body["size"]) == ("text/plain", len(second))
    history = (await author.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert [v["number"] for v in history] == [2, 1]
    assert history[1]["media_type"] == "application/pdf"
    assert history[0]["uploaded_by"]["id"] == str(author.member_id)
    v1 = await author.get(f"/api/resources/{resource_id}/versions/1/content")
    current = await author.get(f"/api/resources/{resource_id}/content")
    assert v1.content == first
    assert current.content == second
    assert_problem(await author.get(f"/api/resources/{resource_id}/versions/3/content"), 404)
    assert await storage_used(settings, school.id) == len(first) + len(second)
    assert len(store.stored_keys()) == 2
    actions = [e.action for e in await audit_actions(settings, resource_id)]
    assert actions == ["resource.created", "resource.version_added"]


async def test_a_new_version_carries_its_change_note_into_the_history(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    author = await school.teacher()
    resource_id = str((await upload(author)).json()["id"])

    response = await upload_version(
        author,
        resource_id,
        text("Revised plan.\n"),
        filename="plan v2.txt",
        change_note="Бөлчөктөрдү кошуу бөлүмү кеңейтилди.\r\nЖаңы мисалдар\u200b кошулду.",
    )

    assert response.status_code == 201, response.text
    history = (await author.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert [(v["number"], v["change_note"]) for v in history] == [
        (2, "Бөлчөктөрдү кошуу бөлүмү кеңейтилди.\nЖаңы мисалдар кошулду."),
        (1, None),
    ]
    blank = await upload_version(author, resource_id, pdf(), change_note="  \n ")
    assert blank.status_code == 201, blank.text
    history = (await author.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert history[0]["change_note"] is None


async def test_a_change_note_too_long_is_refused_before_the_file_is_kept(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    resource_id = await shared(school)

    response = await school.admin.post(
        f"/api/resources/{resource_id}/versions",
        data={"change_note": "ы" * 2001},
        files={"file": ("plan.pdf", pdf(), "application/pdf")},
        headers={"Accept-Language": "ru"},
    )

    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["change_note"]
    assert "2000" in problem["errors"][0]["message"]
    assert "символ" in problem["errors"][0]["message"]
    assert len(store.stored_keys()) == 1
    history = (await school.admin.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert [v["number"] for v in history] == [1]


async def test_a_version_is_a_file_only(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    resource_id = await shared(school)

    response = await school.admin.post(
        f"/api/resources/{resource_id}/versions",
        data={"title": "sneaky"},
        files={"file": ("plan.pdf", pdf(), "application/pdf")},
    )

    assert_problem(response, 422)
    assert len(store.stored_keys()) == 1


# Concurrent uploads number their versions: each database locks its own way.
@pytest.mark.every_database
async def test_versions_uploaded_at_once_get_their_own_numbers(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    resource_id = await shared(school)

    responses = await asyncio.gather(
        *(
            upload_version(school.admin, resource_id, text(f"version {n}\n"), filename="v.txt")
            for n in range(4)
        )
    )

    assert [r.status_code for r in responses] == [201] * 4
    history = (await school.admin.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert [v["number"] for v in history] == [5, 4, 3, 2, 1]


async def test_a_version_for_a_resource_the_school_cannot_read_is_not_found(
    schools: SchoolFactory, store: StoreUnderTest
) -> None:
    owner = await schools.create()
    stranger = await schools.create()
    resource_id = await shared(owner, visibility="school")

    response = await upload_version(stranger.admin, resource_id, pdf())

    assert_problem(response, 404)
    assert len(store.stored_keys()) == 1
