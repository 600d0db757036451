"""The partnership lifecycle: who may make each move, in which state, and what it records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.events import PartnershipEnded
from exchange.models import AuditEvent, MemberRole, Partnership, Resource, ResourceShare
from exchange.partnerships.conduct import CodeOfConductService
from exchange.partnerships.services import PartnershipService
from exchange.policy import readable_resources
from exchange.unit_of_work import Subscriptions, UnitOfWork
from tests.actors import Actor, SchoolFactory, SchoolHandle
from tests.clock import ManualClock
from tests.migration_modules import code_of_conduct_v1
from tests.partnering import GOALS, invite, invited, partners
from tests.problems import assert_problem

# On SQLite and PostgreSQL: one open partnership per pair is a constraint of each database.
pytestmark = pytest.mark.every_database

# 20:30 UTC is 02:30 the next morning in Bishkek: the letter carries the local date.
SENT_AT = datetime(2026, 11, 25, 20, 30, tzinfo=UTC)


@pytest.fixture
def clock(clock: ManualClock) -> ManualClock:
    clock.set(SENT_AT)
    return clock


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as db:
            yield db
    finally:
        await engine.dispose()


async def _trio(schools: SchoolFactory) -> tuple[SchoolHandle, SchoolHandle, SchoolHandle]:
    return (
        await schools.create("Ош шаарындагы №5 мектеп", region="Osh"),
        await schools.create("Нарын айылындагы мектеп", region="Naryn"),
        await schools.create("Third School", region="Talas"),
    )


async def _status(actor: Actor, partnership_id: str) -> str:
    response = await actor.get(f"/api/partnerships/{partnership_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


# --- inviting ---------------------------------------------------------------------------


async def test_an_admin_invites_and_gets_the_letter_and_the_invitation_record(
    schools: SchoolFactory,
) -> None:
    osh, naryn, _ = await _trio(schools)

    response = await invite(osh, naryn, characteristics=["virtual", "local", "virtual"])

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "invited"
    assert body["my_side"] == "inviting"
    assert body["partner_school"] == {"id": str(naryn.id), "name": naryn.name}
    assert body["characteristics"] == ["local", "virtual"]
    assert body["goals"] == GOALS
    assert body["inviting"]["agreed_conduct_version"] == 1
    assert body["inviting"]["agreed_by"]["id"] == str(osh.admin.member_id)
    assert body["invited"]["agreed_conduct_version"] is None
    assert body["invited"]["agreed_by"] is None
    letter = body["invitation_letter"]
    assert osh.name in letter and naryn.name in letter
    assert all(goal in letter for goal in GOALS)
    assert "26 November 2026" in letter


async def test_the_invited_school_sees_the_invitation_and_a_third_school_does_not(
    schools: SchoolFactory,
) -> None:
    osh, naryn, third = await _trio(schools)
    partnership_id = await invited(osh, naryn)

    seen = await naryn.admin.get("/api/partnerships")
    assert [p["id"] for p in seen.json()["items"]] == [partnership_id]
    assert seen.json()["items"][0]["my_side"] == "invited"
    assert seen.json()["items"][0]["partner_school"]["name"] == osh.name
    teacher = await naryn.teacher()
    assert (await teacher.get(f"/api/partnerships/{partnership_id}")).status_code == 200

    assert (await third.admin.get("/api/partnerships")).json()["items"] == []
    assert_problem(await third.admin.get(f"/api/partnerships/{partnership_id}"), 404)
    assert_problem(await third.admin.get(f"/api/partnerships/{partnership_id}/letter"), 404)
    assert_problem(await osh.admin.get(f"/api/partnerships/{uuid4()}"), 404)


@pytest.mark.parametrize(
    ("language", "date", "position"),
    [
        ("ky", "2026-жылдын 26-ноябры", "Окуу иштери боюнча директордун орун басары"),
        ("ru", "26 ноября 2026 г.", "заместитель директора по учебной работе"),
        ("en", "26 November 2026", "Deputy head for teaching and learning"),
    ],
)
async def test_the_letter_is_in_the_chosen_language_with_both_schools_and_the_sender(
    schools: SchoolFactory, language: str, date: str, position: str
) -> None:
    osh, naryn, _ = await _trio(schools)
    deputy = await osh.add_member("admin", full_name="Айгүл Асанова", position=position)
    profile = {"address": "Ош ш., Ленин к. 12", "contact_phone": "+996 555 123 456"}
    assert (await osh.admin.put("/api/schools/me/profile", json=profile)).status_code == 200
    goals = ["Кыргыз тили сабактарында окуучулардын жетишкендиктерин баалоону жакшыртуу"]

    response = await invite(deputy, naryn.id, language=language, goals=goals)

    assert response.status_code == 201, response.text
    letter = response.json()["invitation_letter"]
    for expected in (osh.name, naryn.name, "Ош ш., Ленин к. 12", "+996 555 123 456"):
        assert expected in letter
    assert "Айгүл Асанова" in letter and position in letter
    assert f"- {goals[0]}" in letter
    assert date in letter
    assert "$" not in letter


async def test_the_letter_downloads_as_a_utf8_text_attachment(schools: SchoolFactory) -> None:
    osh, naryn, _ = await _trio(schools)
    created = (await invite(osh, naryn, language="ru")).json()

    response = await naryn.admin.get(f"/api/partnerships/{created['id']}/letter")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == f"Письмо-приглашение - {naryn.name}.txt"
    assert response.content.decode("utf-8") == created["invitation_letter"]


async def test_a_teacher_cannot_invite(schools: SchoolFactory) -> None:
    osh, naryn, _ = await _trio(schools)
    teacher = await osh.teacher()

    assert_problem(await invite(teacher, naryn.id), 403)
    assert (await osh.admin.get("/api/partnerships")).json()["items"] == []


async def test_inviting_your_own_school_is_422(schools: SchoolFactory) -> None:
    osh, _, _ = await _trio(schools)

    body = assert_problem(await invite(osh, osh), 422)
    assert "itself" in body["detail"]


async def test_inviting_an_unknown_school_is_422_with_a_clear_detail(
    schools: SchoolFactory,
) -> None:
    osh, _, _ = await _trio(schools)

    body = assert_problem(await invite(osh, uuid4()), 422)
    assert "partner_school_id" in body["detail"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"characteristics": ["local", "international"]}, "both"),
        ({"characteristics": ["formal", "informal"]}, "both"),
        ({"characteristics": ["sporty"]}, "sporty"),
        ({"goals": []}, "at least one"),
        ({"goals": ["   "]}, "at least one"),
        ({"goals": ["Maths"]}, "too vague"),
        ({"language": "de"}, "language"),
        ({"partner_school_id": "not-a-uuid"}, "partner_school_id"),
    ],
)
async def test_an_invitation_with_unusable_terms_is_422(
    schools: SchoolFactory, fields: dict[str, Any], words: str
) -> None:
    osh, naryn, _ = await _trio(schools)

    body = assert_problem(await invite(osh, naryn, **fields), 422)
    assert words in body["detail"]
    assert (await osh.admin.get("/api/partnerships")).json()["items"] == []


async def test_virtual_and_real_may_be_combined(schools: SchoolFactory) -> None:
    osh, naryn, _ = await _trio(schools)

    response = await invite(osh, naryn, characteristics=["real", "virtual", "urban_rural"])

    assert response.status_code == 201
    assert response.json()["characteristics"] == ["virtual", "real", "urban_rural"]


async def test_a_coordinator_must_be_a_member_of_the_own_school(schools: SchoolFactory) -> None:
    osh, naryn, _ = await _trio(schools)
    own_teacher = await osh.teacher()
    their_teacher = await naryn.teacher()

    assert_problem(await invite(osh, naryn, coordinator_id=str(their_teacher.member_id)), 422)
    response = await invite(osh, naryn, coordinator_id=str(own_teacher.member_id))

    assert response.status_code == 201
    assert response.json()["inviting"]["coordinator"]["id"] == str(own_teacher.member_id)


async def test_a_second_open_invitation_or_partnership_between_two_schools_is_409(
    schools: SchoolFactory,
) -> None:
    osh, naryn, _ = await _trio(schools)
    first = await invited(osh, naryn)

    again = assert_problem(await invite(osh, naryn), 409)
    assert again["partnership_id"] == first
    reverse = assert_problem(await invite(naryn, osh), 409)
    assert "accept or decline" in reverse["detail"]

    await naryn.admin.post(f"/api/partnerships/{first}/accept")
    assert "already partners" in assert_problem(await invite(naryn, osh), 409)["detail"]


async def test_after_a_decline_or_an_end_the_schools_may_invite_again(
    schools: SchoolFactory,
) -> None:
    osh, naryn, _ = await _trio(schools)
    declined = await invited(osh, naryn)
    await naryn.admin.post(f"/api/partnerships/{declined}/decline")
    ended = await partners(naryn, osh)
    await osh.admin.post(f"/api/partnerships/{ended}/end")

    response = await invite(osh, naryn)

    assert response.status_code == 201
    statuses = {
        p["id"]: p["status"] for p in (await osh.admin.get("/api/partnerships")).json()["items"]
    }
    assert statuses == {declined: "declined", ended: "ended", response.json()["id"]: "invited"}


async def test_two_invitations_at_the_same_moment_leave_one_and_a_409(
    schools: SchoolFactory, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    osh, naryn, _ = await _trio(schools)
    first = await invited(osh, naryn)

    # Both requests passed the check before either inserted: the unique open pair decides.
    async def checked_too_early(*_args: Any) -> None:
        return None

    monkeypatch.setattr(PartnershipService, "_refuse_if_open", checked_too_early)
    body = assert_problem(await invite(osh, naryn), 409)

    assert "already have an open invitation" in body["detail"]
    rows = (await session.scalars(select(Partnership))).all()
    assert [str(row.id) for row in rows] == [first]


# --- moves by the right and the wrong party ---------------------------------------------


async def _wrong_parties(
    osh: SchoolHandle, naryn: SchoolHandle, third: SchoolHandle, move: str, partnership_id: str
) -> None:
    url = f"/api/partnerships/{partnership_id}/{move}"
    for teacher in (await osh.teacher(), await naryn.teacher()):
        assert_problem(await teacher.post(url), 403)
    assert_problem(await third.admin.post(url), 404)


async def test_only_the_invited_schools_admin_accepts(schools: SchoolFactory) -> None:
    osh, naryn, third = await _trio(schools)
    partnership_id = await invited(osh, naryn)
    coordinator = await naryn.teacher()

    await _wrong_parties(osh, naryn, third, "accept", partnership_id)
    assert (
        "invited school"
        in assert_problem(await osh.admin.post(f"/api/partnerships/{partnership_id}/accept"), 403)[
            "detail"
        ]
    )
    assert await _status(osh.admin, partnership_id) == "invited"

    response = await naryn.admin.post(
        f"/api/partnerships/{partnership_id}/accept",
        json={"coordinator_id": str(coordinator.member_id)},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "active"
    assert body["invited"]["agreed_by"]["id"] == str(naryn.admin.member_id)
    assert body["invited"]["agreed_conduct_version"] == 1
    assert body["invited"]["agreed_at"] == "2026-11-25T20:30:00Z"
    assert body["invited"]["coordinator"]["id"] == str(coordinator.member_id)


async def test_only_the_invited_schools_admin_declines(schools: SchoolFactory) -> None:
    osh, naryn, third = await _trio(schools)
    partnership_id = await invited(osh, naryn)

    await _wrong_parties(osh, naryn, third, "decline", partnership_id)
    assert_problem(await osh.admin.post(f"/api/partnerships/{partnership_id}/decline"), 403)

    response = await naryn.admin.post(
        f"/api/partnerships/{partnership_id}/decline", json={"note": "Not this year, sorry."}
    )

    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    assert response.json()["closed_by"]["id"] == str(naryn.admin.member_id)


async def test_only_the_inviting_schools_admin_withdraws(schools: SchoolFactory) -> None:
    osh, naryn, third = await _trio(schools)
    partnership_id = await invited(osh, naryn)

    await _wrong_parties(osh, naryn, third, "withdraw", partnership_id)
    refused = assert_problem(
        await naryn.admin.post(f"/api/partnerships/{partnership_id}/withdraw"), 403
    )
    assert "decline" in refused["detail"]

    response = await osh.admin.post(f"/api/partnerships/{partnership_id}/withdraw")

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"


@pytest.mark.parametrize("ender", ["inviting", "invited"])
async def test_either_sides_admin_ends_an_active_partnership(
    schools: SchoolFactory, ender: str
) -> None:
    osh, naryn, third = await _trio(schools)
    partnership_id = await partners(osh, naryn)
    await _wrong_parties(osh, naryn, third, "end", partnership_id)
    admin = osh.admin if ender == "inviting" else naryn.admin

    response = await admin.post(f"/api/partnerships/{partnership_id}/end")

    assert response.status_code == 200
    assert response.json()["status"] == "ended"
    assert response.json()["closed_by"]["id"] == str(admin.member_id)
    assert await _status(naryn.admin, partnership_id) == "ended"


@pytest.mark.parametrize(
    ("setup", "move", "side"),
    [
        ("invited", "decline", "invited"),
        ("invited", "withdraw", "inviting"),
        ("active", "end", "invited"),
    ],
)
async def test_the_reason_for_closing_stays_on_the_partnership_for_both_schools(
    schools: SchoolFactory, setup: str, move: str, side: str
) -> None:
    osh, naryn, _third = await _trio(schools)
    partnership_id = await (invited if setup == "invited" else partners)(osh, naryn)
    before = (await osh.admin.get(f"/api/partnerships/{partnership_id}")).json()
    assert before["closed_reason"] is None
    admin = osh.admin if side == "inviting" else naryn.admin

    closed = await admin.post(
        f"/api/partnerships/{partnership_id}/{move}",
        json={"note": "  Бул окуу жылы мугалимдерибиз жетишпейт.\n\nКийинки жылы кайра жазабыз.  "},
    )

    assert closed.status_code == 200, closed.text
    reason = "Бул окуу жылы мугалимдерибиз жетишпейт.\n\nКийинки жылы кайра жазабыз."
    for reader in (osh.admin, naryn.admin, await osh.teacher()):
        read = (await reader.get(f"/api/partnerships/{partnership_id}")).json()
        assert read["closed_reason"] == reason
    listed = (await naryn.admin.get("/api/partnerships")).json()["items"]
    assert [p["closed_reason"] for p in listed if p["id"] == partnership_id] == [reason]


async def test_closing_without_a_reason_keeps_none(schools: SchoolFactory) -> None:
    osh, naryn, _third = await _trio(schools)
    partnership_id = await invited(osh, naryn)

    closed = await osh.admin.post(f"/api/partnerships/{partnership_id}/withdraw")

    assert closed.json()["closed_reason"] is None


@pytest.mark.parametrize(
    ("setup", "move", "actor_side"),
    [
        ("active", "accept", "invited"),
        ("active", "decline", "invited"),
        ("active", "withdraw", "inviting"),
        ("invited", "end", "inviting"),
        ("declined", "accept", "invited"),
        ("withdrawn", "accept", "invited"),
        ("withdrawn", "withdraw", "inviting"),
        ("ended", "end", "invited"),
        ("ended", "accept", "invited"),
    ],
)
async def test_a_move_from_the_wrong_state_is_409(
    schools: SchoolFactory, setup: str, move: str, actor_side: str
) -> None:
    osh, naryn, _ = await _trio(schools)
    partnership_id = await invited(osh, naryn)
    path = f"/api/partnerships/{partnership_id}"
    steps = {
        "invited": [],
        "active": [(naryn, "accept")],
        "declined": [(naryn, "decline")],
        "withdrawn": [(osh, "withdraw")],
        "ended": [(naryn, "accept"), (osh, "end")],
    }[setup]
    for school, step in steps:
        assert (await school.admin.post(f"{path}/{step}")).status_code == 200
    actor = osh.admin if actor_side == "inviting" else naryn.admin

    body = assert_problem(await actor.post(f"{path}/{move}"), 409)

    assert body["partnership_status"] == setup
    assert setup in body["detail"]
    assert await _status(osh.admin, partnership_id) == setup


async def test_unknown_fields_in_a_move_are_refused(schools: SchoolFactory) -> None:
    osh, naryn, _ = await _trio(schools)
    partnership_id = await invited(osh, naryn)

    response = await naryn.admin.post(
        f"/api/partnerships/{partnership_id}/accept", json={"coordinator": "me"}
    )

    assert_problem(response, 422)
    assert await _status(osh.admin, partnership_id) == "invited"


async def test_partnerships_filter_by_status(schools: SchoolFactory) -> None:
    osh, naryn, third = await _trio(schools)
    active = await partners(osh, naryn)
    pending = await invited(third, osh)

    async def ids(query: str) -> list[str]:
        response = await osh.admin.get(f"/api/partnerships{query}")
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["items"]]

    assert await ids("?status=active") == [active]
    assert await ids("?status=invited") == [pending]
    assert sorted(await ids("")) == sorted([active, pending])
    assert_problem(await osh.admin.get("/api/partnerships?status=friends"), 422)


# --- the code of conduct each side agreed to ---------------------------------------------


async def test_each_side_keeps_the_code_of_conduct_version_it_agreed_to(
    schools: SchoolFactory, session: AsyncSession, settings: Settings, clock: Clock
) -> None:
    osh, naryn, _ = await _trio(schools)
    partnership_id = await invited(osh, naryn)
    v1 = code_of_conduct_v1()
    document: dict[str, Any] = {
        "title": v1.title,
        "preamble": v1.preamble,
        "rules": [{"number": r.number, "text": r.text} for r in v1.rules]
        + [{"number": 10, "text": {"ky": "Онунчу эреже.", "ru": "Десятое.", "en": "Tenth."}}],
    }
    published = await CodeOfConductService(session, settings, clock).publish(document)
    assert published.version == 2

    accepted = await naryn.admin.post(f"/api/partnerships/{partnership_id}/accept")

    assert accepted.status_code == 200
    body = accepted.json()
    assert body["inviting"]["agreed_conduct_version"] == 1
    assert body["invited"]["agreed_conduct_version"] == 2
    later = (await invite(osh, (await schools.create()).id)).json()
    assert later["inviting"]["agreed_conduct_version"] == 2


# --- changing an active partnership -------------------------------------------------------


async def test_either_admin_changes_goals_characteristics_and_their_own_coordinator(
    schools: SchoolFactory,
) -> None:
    osh, naryn, _ = await _trio(schools)
    partnership_id = await partners(osh, naryn)
    naryn_coordinator = await naryn.teacher()
    url = f"/api/partnerships/{partnership_id}"

    by_osh = await osh.admin.patch(url, json={"goals": ["Plan joint science lessons online"]})
    by_naryn = await naryn.admin.patch(
        url,
        json={
            "characteristics": ["local", "real", "formal"],
            "coordinator_id": str(naryn_coordinator.member_id),
        },
    )

    assert by_osh.status_code == 200, by_osh.text
    assert by_naryn.status_code == 200, by_naryn.text
    body = by_naryn.json()
    assert body["goals"] == ["Plan joint science lessons online"]
    assert body["characteristics"] == ["local", "real", "formal"]
    assert body["invited"]["coordinator"]["id"] == str(naryn_coordinator.member_id)
    assert body["inviting"]["coordinator"] is None
    assert body["invitation_letter"] == (await osh.admin.get(url)).json()["invitation_letter"]


async def test_changing_a_partnership_is_for_its_admins_while_it_is_active(
    schools: SchoolFactory,
) -> None:
    osh, naryn, third = await _trio(schools)
    pending = await invited(osh, naryn)
    active = await partners(osh, third)
    change = {"goals": ["Plan joint science lessons online"]}
    osh_teacher = await osh.teacher()

    assert_problem(await osh.admin.patch(f"/api/partnerships/{pending}", json=change), 409)
    assert_problem(await osh_teacher.patch(f"/api/partnerships/{active}", json=change), 403)
    assert_problem(await naryn.admin.patch(f"/api/partnerships/{active}", json=change), 404)
    assert_problem(
        await osh.admin.patch(
            f"/api/partnerships/{active}",
            json={"coordinator_id": str((await third.teacher()).member_id)},
        ),
        422,
    )
    assert_problem(
        await osh.admin.patch(
            f"/api/partnerships/{active}", json={"characteristics": ["local", "international"]}
        ),
        422,
    )
    assert (await osh.admin.get(f"/api/partnerships/{active}")).json()["goals"] == GOALS


# --- the audit trail -------------------------------------------------------------------------


async def test_every_move_is_written_to_both_schools_trails(
    schools: SchoolFactory, session: AsyncSession
) -> None:
    osh, naryn, _ = await _trio(schools)
    partnership_id = await partners(osh, naryn)
    await osh.admin.patch(
        f"/api/partnerships/{partnership_id}", json={"goals": ["Plan joint science lessons"]}
    )
    await naryn.admin.post(f"/api/partnerships/{partnership_id}/end", json={"note": "Done."})
    withdrawn = await invited(osh, naryn)
    await osh.admin.post(f"/api/partnerships/{withdrawn}/withdraw")
    declined = await invited(naryn, osh)
    await osh.admin.post(f"/api/partnerships/{declined}/decline")

    events = (
        await session.scalars(select(AuditEvent).order_by(AuditEvent.occurred_at, AuditEvent.id))
    ).all()

    for school, other in ((osh, naryn), (naryn, osh)):
        trail = [
            (str(e.partnership_id), e.action)
            for e in events
            if e.owner_school_id == school.id and e.action.startswith("partnership.")
        ]
        assert trail == [
            (partnership_id, "partnership.invited"),
            (partnership_id, "partnership.accepted"),
            (partnership_id, "partnership.updated"),
            (partnership_id, "partnership.ended"),
            (withdrawn, "partnership.invited"),
            (withdrawn, "partnership.withdrawn"),
            (declined, "partnership.invited"),
            (declined, "partnership.declined"),
        ]
        assert all(
            e.other_school_id == other.id
            for e in events
            if e.owner_school_id == school.id and e.action.startswith("partnership.")
        )
    ended = next(e for e in events if e.action == "partnership.ended")
    assert ended.actor_member_id == naryn.admin.member_id
    assert ended.details == {"from": "active", "to": "ended", "note": "Done."}


# --- effects of ending ------------------------------------------------------------------


def _identity(actor: Actor) -> Identity:
    return Identity(
        member_id=actor.member_id,
        school_id=actor.school_id,
        role=MemberRole(actor.role),
        email=actor.email,
        full_name="",
        token_id=uuid4(),
    )


async def _readable_by(session: AsyncSession, actor: Actor) -> set[UUID]:
    rows = await session.scalars(select(Resource.id).where(readable_resources(_identity(actor))))
    readable = set(rows)
    await session.commit()  # end the read, so the next one sees the app's changes
    return readable


async def test_ending_a_partnership_cuts_the_partners_access_at_once(
    schools: SchoolFactory, session: AsyncSession
) -> None:
    osh, naryn, third = await _trio(schools)
    partnership_id = await partners(osh, naryn)
    for_partners = Resource(
        owner_school_id=osh.id, kind="lesson_plan", title="Fractions", visibility="partners"
    )
    selected = Resource(
        owner_school_id=osh.id, kind="policy", title="Attendance", visibility="selected"
    )
    inside = Resource(owner_school_id=osh.id, kind="other", title="Staff", visibility="school")
    session.add_all([for_partners, selected, inside])
    await session.flush()
    session.add(ResourceShare(resource_id=selected.id, school_id=naryn.id))
    await session.commit()

    assert await _readable_by(session, naryn.admin) == {for_partners.id, selected.id}
    assert await _readable_by(session, third.admin) == set()

    await naryn.admin.post(f"/api/partnerships/{partnership_id}/end")

    assert await _readable_by(session, naryn.admin) == set()
    assert await _readable_by(session, osh.admin) == {for_partners.id, selected.id, inside.id}


async def test_end_hooks_run_once_inside_the_transaction_that_ends_the_partnership(
    schools: SchoolFactory, session: AsyncSession, app: Any
) -> None:
    osh, naryn, _ = await _trio(schools)
    partnership_id = await partners(osh, naryn)
    calls: list[tuple[UUID, str, bool]] = []

    async def close_pending_requests(uow: UnitOfWork, event: PartnershipEnded) -> None:
        db, partnership = uow.session, event.partnership
        seen = await db.scalar(select(Partnership.status).where(Partnership.id == partnership.id))
        calls.append((partnership.id, str(seen), db.in_transaction()))
        db.add(
            AuditEvent(
                occurred_at=uow.clock.now(),
                action="test.hook_ran",
                owner_school_id=partnership.invited_school_id,
                partnership_id=partnership.id,
            )
        )

    consequences: Subscriptions = app.state.consequences
    consequences.within_transaction(PartnershipEnded, close_pending_requests)
    # subscribing twice runs it once
    consequences.within_transaction(PartnershipEnded, close_pending_requests)
    try:
        response = await osh.admin.post(f"/api/partnerships/{partnership_id}/end")
    finally:
        consequences.within[PartnershipEnded].remove(close_pending_requests)

    assert response.status_code == 200
    assert calls == [(UUID(partnership_id), "ended", True)]
    hook_rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.action == "test.hook_ran")
    )
    assert [row.partnership_id for row in hook_rows] == [UUID(partnership_id)]


async def test_a_failing_end_hook_leaves_the_partnership_active(
    schools: SchoolFactory, session: AsyncSession, app: Any
) -> None:
    osh, naryn, _ = await _trio(schools)
    partnership_id = await partners(osh, naryn)

    async def broken(_uow: UnitOfWork, _event: PartnershipEnded) -> None:
        raise RuntimeError("the reuse requests could not be closed")

    consequences: Subscriptions = app.state.consequences
    consequences.within_transaction(PartnershipEnded, broken)
    try:
        response = await osh.admin.post(f"/api/partnerships/{partnership_id}/end")
    finally:
        consequences.within[PartnershipEnded].remove(broken)

    assert_problem(response, 500)
    assert await _status(osh.admin, partnership_id) == "active"
    ended = await session.scalars(
        select(AuditEvent).where(AuditEvent.action == "partnership.ended")
    )
    assert list(ended) == []
