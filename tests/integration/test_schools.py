"""The school directory, profiles and partner suggestions."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from exchange.partnerships.content import LANGUAGES, load_self_assessment
from tests.actors import Actor, SchoolFactory, SchoolHandle
from tests.partnering import invited, partners
from tests.problems import assert_problem

# On SQLite and PostgreSQL: the directory search and suggestions are SQL.
pytestmark = pytest.mark.every_database

PROFILE: dict[str, Any] = {
    "region": "Osh",
    "locality": "urban",
    "kind": "state",
    "languages": ["ky", "ru"],
    "address": "Ош ш., Ленин к. 12",
    "contact_email": "school5@example.kg",
    "contact_phone": "+996 555 123 456",
    "website": "https://school5.example.kg",
    "strong_subjects": ["Математика", "Кыргыз тили"],
    "offers": "Математика боюнча сабактардын пландары",
    "needs": "English speaking clubs",
    "self_assessment": {
        "location": "Near the bazaar, in the city centre.",
        "ict_use": "A computer class with 12 machines.",
    },
}


async def _profile(school: SchoolHandle, **fields: Any) -> dict[str, Any]:
    response = await school.admin.put("/api/schools/me/profile", json=fields)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _names(actor: Actor, query: str) -> list[str]:
    response = await actor.get(f"/api/schools{query}")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


# --- the profile ---------------------------------------------------------------------------


async def test_an_admin_sets_the_profile_and_everyone_in_the_school_sees_it(
    schools: SchoolFactory,
) -> None:
    school = await schools.create("Орто мектеп №5")
    teacher = await school.teacher()

    saved = await _profile(school, **PROFILE)

    own = (await teacher.get("/api/schools/me")).json()
    assert own == saved
    for field, value in PROFILE.items():
        assert own[field] == value, field
    assert own["is_own"] is True


async def test_the_profile_is_replaced_as_a_whole(schools: SchoolFactory) -> None:
    school = await schools.create()
    await _profile(school, **PROFILE)

    saved = await _profile(school, needs="Физика", self_assessment={"ict_use": " "})

    assert saved["needs"] == "Физика"
    assert saved["offers"] is None
    assert saved["languages"] == []
    assert saved["self_assessment"] == {}
    # Each change is in the school's trail, with who made it and what was answered.
    trail = (await school.admin.get("/api/audit")).json()["items"]
    updates = [e for e in trail if e["action"] == "school.profile_updated"]
    assert sorted(e["details"]["answered_questions"] for e in updates) == [
        [],
        ["ict_use", "location"],
    ]
    assert {e["actor"]["id"] for e in updates} == {str(school.admin.member_id)}


async def test_a_teacher_cannot_change_the_profile(schools: SchoolFactory) -> None:
    school = await schools.create()
    teacher = await school.teacher()

    assert_problem(await teacher.put("/api/schools/me/profile", json=PROFILE), 403)
    assert (await teacher.get("/api/schools/me")).json()["offers"] is None


async def test_unknown_self_assessment_questions_are_422(schools: SchoolFactory) -> None:
    school = await schools.create()

    response = await school.admin.put(
        "/api/schools/me/profile",
        json={"self_assessment": {"location": "Centre", "favourite_colour": "blue"}},
    )

    body = assert_problem(response, 422)
    assert body["unknown_keys"] == ["favourite_colour"]
    assert "self-assessment" in body["detail"]


@pytest.mark.parametrize(
    "fields",
    [
        {"locality": "suburban"},
        {"kind": "religious"},
        {"languages": ["Kyrgyz"]},
        {"contact_email": "not an address"},
        {"website": "javascript:alert(1)"},
        {"name": "A new name"},
    ],
)
async def test_unusable_profile_values_are_422(
    schools: SchoolFactory, fields: dict[str, Any]
) -> None:
    school = await schools.create()

    assert_problem(await school.admin.put("/api/schools/me/profile", json=fields), 422)


async def test_the_self_assessment_questions_come_in_three_languages(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()

    body = (await (await school.teacher()).get("/api/schools/self-assessment")).json()

    assert body["version"] == 1
    keys = [question["key"] for question in body["questions"]]
    assert keys == [question.key for question in load_self_assessment().questions]
    assert all(set(question["text"]) == set(LANGUAGES) for question in body["questions"])


# --- the directory ---------------------------------------------------------------------------


async def test_the_directory_finds_cyrillic_names_case_insensitively(
    schools: SchoolFactory,
) -> None:
    osh = await schools.create("ОШ ШААРЫНДАГЫ МЕКТЕП", region="Ош")
    await schools.create("Бишкек гимназиясы", region="Бишкек")

    assert await _names(osh.admin, "?q=ош шаары") == ["ОШ ШААРЫНДАГЫ МЕКТЕП"]
    assert await _names(osh.admin, "?q=Шаарындагы") == ["ОШ ШААРЫНДАГЫ МЕКТЕП"]
    assert await _names(osh.admin, "?q=ГИМНАЗИЯ") == ["Бишкек гимназиясы"]
    assert await _names(osh.admin, "?q=ош гимназия") == []


async def test_the_directory_searches_offers_needs_and_region(schools: SchoolFactory) -> None:
    maths = await schools.create("Lyceum One", region="Чүй")
    await _profile(
        maths, region="Чүй", offers="Математика и физика", needs="Учёба для молодых учителей"
    )
    english = await schools.create("Lyceum Two")
    await _profile(english, offers="English clubs", needs="Химия")

    assert await _names(maths.admin, "?q=МАТЕМ") == ["Lyceum One"]
    assert await _names(maths.admin, "?q=учеба") == ["Lyceum One"]
    assert await _names(maths.admin, "?q=чүй") == ["Lyceum One"]
    assert await _names(maths.admin, "?q=ХИМИЯ") == ["Lyceum Two"]
    assert await _names(maths.admin, "?q=lyceum") == ["Lyceum One", "Lyceum Two"]


async def test_like_wildcards_in_the_query_are_never_wildcards(schools: SchoolFactory) -> None:
    percent = await schools.create("100% Reading School")
    await schools.create("Plain School")
    everyone = await _names(percent.admin, "")

    # Punctuation is not searchable text (the same normalisation as the resource
    # index), so `%`, `_` and `\` can never reach a LIKE pattern as wildcards.
    assert await _names(percent.admin, "?q=%25") == everyone
    assert await _names(percent.admin, "?q=_") == everyone
    assert await _names(percent.admin, "?q=100%25") == ["100% Reading School"]
    assert await _names(percent.admin, "?q=reading_school") == ["100% Reading School"]


async def test_the_directory_filters_by_region_locality_kind_and_language(
    schools: SchoolFactory,
) -> None:
    osh = await schools.create("Osh Urban State")
    await _profile(osh, region="Osh", locality="urban", kind="state", languages=["ky", "ru"])
    village = await schools.create("Osh Village Private")
    await _profile(village, region="OSH", locality="rural", kind="private", languages=["ky"])
    naryn = await schools.create("Naryn International")
    await _profile(naryn, region="Naryn", kind="international", languages=["en", "ru"])
    actor = osh.admin

    assert await _names(actor, "?region=osh") == ["Osh Urban State", "Osh Village Private"]
    assert await _names(actor, "?locality=rural") == ["Osh Village Private"]
    assert await _names(actor, "?kind=international") == ["Naryn International"]
    assert await _names(actor, "?language=ru") == ["Naryn International", "Osh Urban State"]
    assert await _names(actor, "?language=ky&region=Osh&kind=state") == ["Osh Urban State"]
    assert_problem(await actor.get("/api/schools?locality=suburban"), 422)
    assert_problem(await actor.get("/api/schools?language=%22%25"), 422)


async def test_the_directory_pages_by_cursor_with_a_total(schools: SchoolFactory) -> None:
    first = await schools.create("Alpha")
    for name in ("Beta", "Gamma", "Delta"):
        await schools.create(name)

    page = (await first.admin.get("/api/schools?limit=3")).json()
    assert page["total"] == 4
    assert [item["name"] for item in page["items"]] == ["Alpha", "Beta", "Delta"]
    # A school that joins before the page already read does not shift what follows.
    await schools.create("Aardvark")
    rest = (
        await first.admin.get("/api/schools", params={"limit": 3, "cursor": page["next_cursor"]})
    ).json()
    assert [item["name"] for item in rest["items"]] == ["Gamma"]
    assert rest["next_cursor"] is None and rest["total"] == 5
    filtered = await first.admin.get(
        "/api/schools", params={"q": "alpha", "cursor": page["next_cursor"]}
    )
    assert "different list" in assert_problem(filtered, 422)["detail"]
    assert_problem(await first.admin.get("/api/schools?limit=0"), 422)
    assert_problem(await first.admin.get("/api/schools?limit=1000"), 422)
    assert_problem(await first.admin.get("/api/schools?cursor=nonsense"), 422)


async def test_the_directory_shows_the_published_contact_and_never_the_members(
    schools: SchoolFactory,
) -> None:
    school = await schools.create("Орто мектеп №5")
    await _profile(school, **PROFILE)
    teacher = await school.teacher()
    viewer = await schools.create("Viewer")

    response = await viewer.admin.get("/api/schools?q=мектеп")
    single = await viewer.admin.get(f"/api/schools/{school.id}")

    (item,) = response.json()["items"]
    assert item == single.json()
    assert item["contact_email"] == "school5@example.kg"
    for private in (school.admin.email, teacher.email, "Director of"):
        assert private not in response.text
        assert private not in single.text
    assert item["is_own"] is False


async def test_an_unknown_school_is_404(schools: SchoolFactory) -> None:
    school = await schools.create()

    assert_problem(await school.admin.get(f"/api/schools/{uuid4()}"), 404)


async def test_the_directory_shows_the_callers_open_partnership_with_each_school(
    schools: SchoolFactory,
) -> None:
    me = await schools.create("Aaa")
    partner = await schools.create("Bbb")
    invitee = await schools.create("Ccc")
    active = await partners(me, partner)
    pending = await invited(me, invitee)

    items = (await me.admin.get("/api/schools")).json()["items"]

    relations = {i["name"]: (i["partnership_id"], i["partnership_status"]) for i in items}
    assert relations == {
        "Aaa": (None, None),
        "Bbb": (active, "active"),
        "Ccc": (pending, "invited"),
    }


# --- suggestions -------------------------------------------------------------------------


async def test_suggestions_rank_two_way_fits_first_and_say_why(schools: SchoolFactory) -> None:
    me = await schools.create("Our School")
    await _profile(
        me,
        offers="Уроки английского языка и разговорный клуб",
        needs="Методика преподавания математики",
        strong_subjects=["Английский язык"],
    )
    both_ways = await schools.create("Both Ways Lyceum")
    await _profile(
        both_ways,
        offers="Планы уроков по математике",
        needs="Английский для старших классов",
    )
    one_way = await schools.create("One Way Gymnasium")
    await _profile(one_way, offers="Олимпиадная математика", needs="Шахматы")
    strong = await schools.create("Strong School")
    await _profile(strong, strong_subjects=["Математика"], needs="Рисование")
    unrelated = await schools.create("Unrelated School")
    await _profile(unrelated, offers="Футбол", needs="Хор")

    response = await me.admin.get("/api/schools/suggestions")

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["school"]["name"] for i in items] == [
        "Both Ways Lyceum",
        "Strong School",
        "One Way Gymnasium",
    ]
    best = items[0]
    assert best["two_way"] is True
    reasons = {r["kind"]: r for r in best["reasons"]}
    assert reasons["they_offer_what_you_need"]["words"] == ["математики"]
    assert (
        "Both Ways Lyceum offers what your school needs"
        in (reasons["they_offer_what_you_need"]["message"])
    )
    assert reasons["they_need_what_you_offer"]["words"] == ["английского"]
    assert reasons["need_what_you_are_strong_in"]["words"] == ["Английский язык"]
    assert items[1]["reasons"][0] == {
        "kind": "strong_in_what_you_need",
        "words": ["Математика"],
        "message": "Strong School is strong in what your school needs: Математика.",
    }
    assert items[2]["two_way"] is False
    assert response.json()["hint"] is None


async def test_suggestions_leave_out_current_partners_and_open_invitations(
    schools: SchoolFactory,
) -> None:
    me = await schools.create("Our School")
    await _profile(me, offers="English clubs", needs="Mathematics lesson plans")
    fits = []
    for name in ("Active Partner", "Invited By Us", "Invited Us", "Former Partner", "Free"):
        school = await schools.create(name)
        await _profile(school, offers="Mathematics olympiad", needs="English conversation")
        fits.append(school)
    active, invited_by_us, invited_us, former, _free = fits
    await partners(me, active)
    await invited(me, invited_by_us)
    await invited(invited_us, me)
    ended = await partners(former, me)
    await me.admin.post(f"/api/partnerships/{ended}/end")

    response = await me.admin.get("/api/schools/suggestions")

    names = [i["school"]["name"] for i in response.json()["items"]]
    assert names == ["Former Partner", "Free"]
    assert all(i["two_way"] for i in response.json()["items"])


async def test_a_school_without_a_profile_gets_a_hint_instead_of_suggestions(
    schools: SchoolFactory,
) -> None:
    me = await schools.create()
    other = await schools.create()
    await _profile(other, offers="Mathematics", needs="English")

    body = (await me.admin.get("/api/schools/suggestions")).json()

    assert body["items"] == []
    assert "in its profile" in body["hint"]
    assert_problem(await me.admin.get("/api/schools/suggestions?limit=0"), 422)


# --- the self-assessment: rule 6 ---------------------------------------------------------

WEAKNESS = {"ict_use": "Our internet is slow and often cut in winter."}
PUBLIC_PROFILE = {
    "region": "Naryn",
    "kind": "state",
    "languages": ["ky"],
    "offers": "Mathematics olympiad training",
    "needs": "English conversation",
}


async def _relation(me: SchoolHandle, subject: SchoolHandle, relation: str) -> None:
    """Put `me` (the viewer) in `relation` to `subject` (the school whose profile is read)."""
    if relation == "inviting":  # the viewer invited the subject, not answered yet
        await invited(me, subject)
    elif relation == "invited":  # the subject invited the viewer, not answered yet
        await invited(subject, me)
    elif relation == "active_partner":
        await partners(subject, me)
    elif relation == "ended_partner":
        partnership = await partners(me, subject)
        assert (await me.admin.post(f"/api/partnerships/{partnership}/end")).status_code == 200
    elif relation == "declined":
        partnership = await invited(subject, me)
        assert (await me.admin.post(f"/api/partnerships/{partnership}/decline")).status_code == 200
    elif relation == "withdrawn":
        partnership = await invited(me, subject)
        assert (await me.admin.post(f"/api/partnerships/{partnership}/withdraw")).status_code == 200
    else:
        assert relation == "stranger"


SHOWN = {"invited": True, "inviting": True, "active_partner": True}


@pytest.mark.parametrize(
    "relation",
    ["invited", "inviting", "active_partner", "ended_partner", "declined", "withdrawn", "stranger"],
)
async def test_the_self_assessment_is_shown_only_to_schools_in_an_invitation_or_partnership(
    schools: SchoolFactory, relation: str
) -> None:
    subject = await schools.create("Naryn Village School")
    await _profile(subject, **PUBLIC_PROFILE, self_assessment=WEAKNESS)
    viewer = await schools.create("Viewer School")
    await _profile(viewer, offers="English conversation clubs", needs="Mathematics olympiad")
    await _relation(viewer, subject, relation)
    teacher = await viewer.teacher()

    listed = (await teacher.get("/api/schools?q=naryn")).json()["items"]
    single = (await teacher.get(f"/api/schools/{subject.id}")).json()
    suggested = [
        item["school"]
        for item in (await viewer.admin.get("/api/schools/suggestions")).json()["items"]
    ]

    seen = [*listed, single, *suggested]
    assert seen, "the school is in the directory in every relation"
    for shown in seen:
        assert shown["id"] == str(subject.id)
        for name, value in PUBLIC_PROFILE.items():
            assert shown[name] == value, name
        if SHOWN.get(relation):
            assert shown["self_assessment"] == WEAKNESS
        else:
            assert shown["self_assessment"] is None
    if not SHOWN.get(relation):
        for response in (
            await teacher.get("/api/schools?q=naryn"),
            await teacher.get(f"/api/schools/{subject.id}"),
            await viewer.admin.get("/api/schools/suggestions"),
        ):
            assert "internet is slow" not in response.text


async def test_a_school_always_reads_its_own_self_assessment(schools: SchoolFactory) -> None:
    school = await schools.create("Own School")
    saved = await _profile(school, **PUBLIC_PROFILE, self_assessment=WEAKNESS)
    teacher = await school.teacher()

    own = (await teacher.get("/api/schools/me")).json()
    listed = (await teacher.get("/api/schools?q=own")).json()["items"]
    single = (await teacher.get(f"/api/schools/{school.id}")).json()

    assert saved["self_assessment"] == WEAKNESS
    assert own["self_assessment"] == WEAKNESS
    assert [item["self_assessment"] for item in listed] == [WEAKNESS]
    assert single["self_assessment"] == WEAKNESS


async def test_the_self_assessment_is_hidden_again_once_a_partnership_ends(
    schools: SchoolFactory,
) -> None:
    subject = await schools.create("Subject School")
    await _profile(subject, **PUBLIC_PROFILE, self_assessment=WEAKNESS)
    viewer = await schools.create("Viewer School")
    partnership = await partners(viewer, subject)
    before = (await viewer.admin.get(f"/api/schools/{subject.id}")).json()

    await subject.admin.post(f"/api/partnerships/{partnership}/end")
    after = (await viewer.admin.get(f"/api/schools/{subject.id}")).json()

    assert before["self_assessment"] == WEAKNESS
    assert after["self_assessment"] is None
    assert after["offers"] == PUBLIC_PROFILE["offers"]
