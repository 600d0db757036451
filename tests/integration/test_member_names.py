"""A member's name changes (`PATCH /api/me`, or an admin's `PATCH /api/members/{id}`),
and search follows in the same commit: the new name finds the resources they author, the
old one no longer does, in the words searched and in the `author` filter alike."""

from __future__ import annotations

import pytest

from tests.actors import Actor, SchoolFactory, SchoolHandle
from tests.partnering import partners
from tests.problems import assert_problem
from tests.resource_fixtures import upload
from tests.searching import search, title_set

# On SQLite and PostgreSQL: renaming rewrites the search index of each database.
pytestmark = pytest.mark.every_database

OLD = "Айзада Токтогулова"
NEW = "Айзада Жумабаева"


class Scene:
    def __init__(self, reader: SchoolHandle, owner: SchoolHandle, teacher: Actor) -> None:
        self.reader = reader
        self.owner = owner
        self.teacher = teacher


@pytest.fixture
async def scene(schools: SchoolFactory) -> Scene:
    """A teacher of a partner school authors two resources: one she uploaded, one her
    admin uploaded naming her among the authors."""
    reader = await schools.create("Reader school")
    owner = await schools.create("Owner school")
    await partners(reader, owner)
    teacher = await owner.add_member("teacher", full_name=OLD)
    assert (await upload(teacher, title="Манас: сабак планы")).status_code == 201
    response = await upload(
        owner.admin,
        title="Бөлчөктөр: текшерүү",
        author_ids=f"{teacher.member_id},{owner.admin.member_id}",
    )
    assert response.status_code == 201, response.text
    assert (await upload(owner.admin, title="Someone else's plan")).status_code == 201
    return Scene(reader, owner, teacher)


async def assert_found_by(scene: Scene, name: str, gone: str) -> None:
    both = {"Манас: сабак планы", "Бөлчөктөр: текшерүү"}
    surname = name.split()[-1]
    assert title_set(await search(scene.reader.admin, q=surname.upper())) == both
    assert title_set(await search(scene.reader.admin, q=surname[:5])) == both
    assert title_set(await search(scene.reader.admin, author=surname)) == both
    assert title_set(await search(scene.reader.admin, q=f"манас {surname}")) == {
        "Манас: сабак планы"
    }
    old_surname = gone.split()[-1]
    assert (await search(scene.reader.admin, q=old_surname))["total"] == 0
    assert (await search(scene.reader.admin, author=old_surname))["total"] == 0
    page = await search(scene.reader.admin, q=surname)
    for item in page["items"]:
        names = [author["full_name"] for author in item["authors"]]
        assert name in names and gone not in names


async def test_a_member_renaming_themselves_is_found_by_the_new_name_only(scene: Scene) -> None:
    assert title_set(await search(scene.reader.admin, q="токтогулова")) == {
        "Манас: сабак планы",
        "Бөлчөктөр: текшерүү",
    }
    response = await scene.teacher.patch("/api/me", json={"full_name": f"  {NEW} "})
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == NEW
    assert response.json()["school"]["id"] == str(scene.owner.id)
    assert (await scene.teacher.get("/api/me")).json()["full_name"] == NEW

    await assert_found_by(scene, NEW, OLD)
    # The owner school's own view, and the resource page, say the same.
    assert (await search(scene.owner.admin, q="токтогулова"))["total"] == 0
    assert len((await search(scene.owner.admin, q="жумабаева"))["items"]) == 2


async def test_an_admin_renaming_a_member_reindexes_their_resources(scene: Scene) -> None:
    response = await scene.owner.admin.patch(
        f"/api/members/{scene.teacher.member_id}", json={"full_name": NEW}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["full_name"] == NEW and body["id"] == str(scene.teacher.member_id)
    await assert_found_by(scene, NEW, OLD)
    # And back: the index follows every change, not only the first.
    response = await scene.owner.admin.patch(
        f"/api/members/{scene.teacher.member_id}", json={"full_name": OLD}
    )
    assert response.status_code == 200, response.text
    await assert_found_by(scene, OLD, NEW)


async def test_position_alone_changes_nothing_that_is_searched(scene: Scene) -> None:
    response = await scene.teacher.patch("/api/me", json={"position": "Math teacher"})
    assert response.status_code == 200, response.text
    assert response.json()["position"] == "Math teacher"
    assert response.json()["full_name"] == OLD
    unchanged = await scene.teacher.patch("/api/me", json={})
    assert unchanged.status_code == 200 and unchanged.json()["position"] == "Math teacher"
    cleared = await scene.teacher.patch("/api/me", json={"position": None})
    assert cleared.json()["position"] is None
    assert len((await search(scene.reader.admin, q="токтогулова"))["items"]) == 2


async def test_refused_changes_leave_the_name_and_the_index_as_they_were(
    scene: Scene, schools: SchoolFactory
) -> None:
    colleague = await scene.owner.add_member("teacher")
    other_school = await schools.create("Stranger school")
    target = f"/api/members/{scene.teacher.member_id}"

    assert_problem(await colleague.patch(target, json={"full_name": NEW}), 403)
    assert_problem(await other_school.admin.patch(target, json={"full_name": NEW}), 404)
    blank = await scene.teacher.patch("/api/me", json={"full_name": "   "})
    assert_problem(blank, 422)
    assert blank.json()["errors"][0]["field"] == "full_name"
    assert_problem(await scene.teacher.patch("/api/me", json={"full_name": ""}), 422)
    assert_problem(await scene.teacher.patch("/api/me", json={"full_name": "x" * 201}), 422)
    # Control and direction characters are dropped; a name of nothing else is no name.
    assert_problem(await scene.teacher.patch("/api/me", json={"full_name": "\x00\u202e"}), 422)
    # Only the name and position change here: not the role, not the e-mail address.
    assert_problem(await scene.teacher.patch("/api/me", json={"role": "admin"}), 422)
    assert_problem(await scene.owner.admin.patch(target, json={"email": "new@school.kg"}), 422)

    assert (await scene.teacher.get("/api/me")).json()["full_name"] == OLD
    assert (await scene.teacher.get("/api/me")).json()["role"] == "teacher"
    assert len((await search(scene.reader.admin, q="токтогулова"))["items"]) == 2
    assert (await search(scene.reader.admin, q="жумабаева"))["total"] == 0


async def test_a_disabled_author_stays_findable_under_their_name(scene: Scene) -> None:
    """Disabling a member changes nothing that is indexed: their resources stay, shown
    with their name."""
    response = await scene.owner.admin.post(f"/api/members/{scene.teacher.member_id}/disable")
    assert response.status_code == 200, response.text
    assert len((await search(scene.reader.admin, q="токтогулова"))["items"]) == 2
