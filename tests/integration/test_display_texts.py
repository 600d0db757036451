"""Every text shown to other schools is cleaned of hidden and right-to-left characters
as the request is read, and one with nothing visible left is refused, naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.accounts.services import AccountService
from exchange.clock import SystemClock
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.errors import InvalidInput
from tests.actors import SchoolFactory
from tests.conduct_fixtures import Ground, ground, sister_schools
from tests.partnering import GOALS, invite, partners
from tests.problems import assert_problem
from tests.resource_fixtures import upload
from tests.sample_files import text

__all__ = ["ground"]

RLO = "\u202e"  # right-to-left override: "plan\u202etxt.exe" reads "planexe.txt"
HIDDEN = "\u200b\u2060\ufeff\u2066\u2069\u200e\u200f\u061c"


def assert_refused_naming(response: Any, field: str) -> None:
    body = assert_problem(response, 422)
    assert field in body["detail"]
    assert field in {error["field"] for error in body.get("errors", [])}


# --- members -------------------------------------------------------------------------


async def test_a_new_members_name_and_position_are_cleaned(schools: SchoolFactory) -> None:
    school = await schools.create()

    response = await school.admin.post(
        "/api/members",
        json={
            "email": "aigul@school.kg",
            "password": "a long enough password",
            "full_name": f"{HIDDEN}Айгүл{RLO} Асанова",
            "position": f"Мугалим\u200b{RLO}",
        },
    )

    assert response.status_code == 201, response.text
    assert (response.json()["full_name"], response.json()["position"]) == (
        "Айгүл Асанова",
        "Мугалим",
    )


async def test_a_member_named_with_invisible_characters_only_is_refused(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()

    response = await school.admin.post(
        "/api/members",
        json={"email": "x@school.kg", "password": "a long enough password", "full_name": "\u200b"},
    )

    assert_refused_naming(response, "full_name")


async def test_renaming_oneself_is_cleaned_and_an_invisible_name_refused(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()

    renamed = await school.admin.patch("/api/me", json={"full_name": f"Бакыт{RLO}\u200d Осмонов"})
    invisible = await school.admin.patch("/api/me", json={"full_name": HIDDEN})

    assert renamed.json()["full_name"] == "Бакыт Осмонов"
    assert_refused_naming(invisible, "full_name")
    assert (await school.admin.get("/api/me")).json()["full_name"] == "Бакыт Осмонов"


async def test_a_school_and_its_first_admin_are_named_in_visible_letters(
    settings: Settings,
) -> None:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as session:
            service = AccountService(session, settings, SystemClock())
            school, admin = await service.create_school(
                name=f"{RLO}Ош №5 мектеби\u200b",
                admin_email="director@osh5.kg",
                admin_password="a long enough password",
                admin_name=f"Директор{HIDDEN}",
                region=f"Osh{RLO}",
            )
            assert (school.name, school.region, admin.full_name) == (
                "Ош №5 мектеби",
                "Osh",
                "Директор",
            )
        async with create_session_factory(engine, consequences=build_consequences())() as session:
            with pytest.raises(InvalidInput):
                await AccountService(session, settings, SystemClock()).create_school(
                    name=HIDDEN, admin_email="d@x.kg", admin_password="a long enough password"
                )
    finally:
        await engine.dispose()


# --- resources -------------------------------------------------------------------------


async def test_a_resource_title_cannot_reverse_how_it_reads(schools: SchoolFactory) -> None:
    school = await schools.create()

    created = await upload(
        school.admin,
        text("Бүгүнкү сабак.\n"),
        filename="plan.txt",
        title=f"plan{RLO}txt.exe",
        description=f"First line{RLO}\n\u200bSecond line",
        co_authors=f"Айгүл{HIDDEN}",
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["title"] == "plantxt.exe"
    assert body["description"] == "First line\nSecond line"
    assert body["co_authors"] == ["Айгүл"]


async def test_a_resource_titled_with_invisible_characters_only_is_refused(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    created = await upload(school.admin, text("Сабак.\n"), filename="plan.txt")

    on_upload = await upload(school.admin, text("Сабак.\n"), filename="plan.txt", title=HIDDEN)
    on_change = await school.admin.patch(
        f"/api/resources/{created.json()['id']}", json={"title": f"{RLO}\u200b"}
    )
    renamed = await school.admin.patch(
        f"/api/resources/{created.json()['id']}", json={"title": f"Бөлчөк{RLO}тер"}
    )

    assert_refused_naming(on_upload, "title")
    assert_refused_naming(on_change, "title")
    assert renamed.json()["title"] == "Бөлчөктер"


# --- school profiles --------------------------------------------------------------------


async def test_a_school_profile_is_cleaned_keeping_its_paragraphs(schools: SchoolFactory) -> None:
    school = await schools.create()

    response = await school.admin.put(
        "/api/schools/me/profile",
        json={
            "region": f"Chui{RLO}",
            "address": f"Ленин көч.\u200b 5{RLO}",
            "strong_subjects": [f"Math{HIDDEN}"],
            "offers": f"Lesson plans{RLO}\nVideos\u200b",
            "needs": "\u2066Science labs\u2069",
            "self_assessment": {"location": f"Near the bazaar{RLO}", "ict_use": HIDDEN},
        },
    )

    assert response.status_code == 200, response.text
    profile = (await school.admin.get("/api/schools/me")).json()
    assert profile["region"] == "Chui"
    assert profile["address"] == "Ленин көч. 5"
    assert profile["strong_subjects"] == ["Math"]
    assert profile["offers"] == "Lesson plans\nVideos"
    assert profile["needs"] == "Science labs"
    assert profile["self_assessment"] == {"location": "Near the bazaar"}


async def test_a_strong_subject_with_nothing_visible_is_refused(schools: SchoolFactory) -> None:
    school = await schools.create()

    response = await school.admin.put(
        "/api/schools/me/profile", json={"strong_subjects": ["Math", "\u200b"]}
    )

    assert_refused_naming(response, "strong_subjects")


# --- partnerships -----------------------------------------------------------------------


async def test_partnership_goals_characteristics_and_notes_are_cleaned(
    schools: SchoolFactory,
) -> None:
    a = await schools.create()
    b = await schools.create()

    invited = await invite(
        a,
        b,
        goals=[f"{GOALS[0]}{RLO}", f"\u200b{GOALS[1]}"],
        characteristics=["local\u200b", f"{RLO}virtual"],
    )
    assert invited.status_code == 201, invited.text
    ended = await b.admin.post(
        f"/api/partnerships/{invited.json()['id']}/decline",
        json={"note": f"Not this year{RLO}.\nMaybe next.\u200b"},
    )

    assert invited.json()["goals"] == GOALS
    assert invited.json()["characteristics"] == ["local", "virtual"]
    assert ended.status_code == 200, ended.text


async def test_a_goal_with_nothing_visible_is_not_a_goal(schools: SchoolFactory) -> None:
    a = await schools.create()
    b = await schools.create()

    response = await invite(a, b, goals=[HIDDEN])

    assert_problem(response, 422)
    partnership_id = await partners(a, b)
    changed = await a.admin.patch(
        f"/api/partnerships/{partnership_id}", json={"goals": [f"{GOALS[0]}\u200b{RLO}"]}
    )
    assert changed.json()["goals"] == [GOALS[0]]


# --- reuse requests ---------------------------------------------------------------------


async def test_a_reuse_request_and_its_answer_are_cleaned(ground: Ground) -> None:
    cast = await sister_schools(ground)

    asked = await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/reuse-requests",
        json={
            "scope": "adapt",
            "purpose": f"Use it in grade 5{RLO}\nwith our own examples\u200b",
            "audience": "\u2066Our pupils\u2069",
        },
    )
    assert asked.status_code == 201, asked.text
    answered = await cast.author.post(
        f"/api/reuse-requests/{asked.json()['id']}/decision",
        json={"decision": "deny", "note": f"Not yet{RLO}: it is a draft.\u200b"},
    )

    assert asked.json()["purpose"] == "Use it in grade 5\nwith our own examples"
    assert asked.json()["audience"] == "Our pupils"
    assert answered.status_code == 200, answered.text
    assert answered.json()["decision_note"] == "Not yet: it is a draft."


@pytest.mark.parametrize("field", ["purpose", "audience"])
async def test_a_reuse_request_saying_nothing_visible_is_refused(
    ground: Ground, field: str
) -> None:
    cast = await sister_schools(ground)
    body = {"scope": "adapt", "purpose": "Grade 5 maths", "audience": "Our pupils"}
    body[field] = HIDDEN

    response = await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/reuse-requests", json=body
    )

    assert_refused_naming(response, field)
