"""Rule 9 for partnership invitations: one unanswered after 30 days is overdue for both
schools (in the API, counted on both dashboards), and the inviting school may remind the
invited school's admins once, in their inbox in their language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.models import AuditEvent
from tests.actors import Actor
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, QuickSchool, ground
from tests.partnering import invite
from tests.problems import assert_problem

# On SQLite and PostgreSQL: overdue invitations are counted in SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]

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


async def _trio(ground: Ground) -> tuple[QuickSchool, QuickSchool, QuickSchool]:
    return (
        await ground.school("Ош шаарындагы №5 мектеп"),
        await ground.school("Нарын айылындагы мектеп"),
        await ground.school("Third School"),
    )


async def invited(inviting: QuickSchool, partner: QuickSchool) -> str:
    response = await invite(inviting.admin, partner.id)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def reminders(member: Actor) -> list[dict[str, Any]]:
    items = (await member.get("/api/notifications")).json()["items"]
    return [n for n in items if n["kind"] == "partnership.reminded"]


async def _board(actor: Actor) -> dict[str, Any]:
    response = await actor.get("/api/dashboard")
    assert response.status_code == 200, response.text
    board: dict[str, Any] = response.json()
    return {key: board[key] for key in ("incoming_invitations", "outgoing_invitations")}


async def test_an_invitation_unanswered_for_30_days_is_overdue_on_both_sides(
    ground: Ground, clock: ManualClock
) -> None:
    osh, naryn, third = await _trio(ground)
    partnership_id = await invited(osh, naryn)
    answered = await invited(osh, third)
    assert (await third.admin.post(f"/api/partnerships/{answered}/decline")).status_code == 200
    fresh = (await naryn.admin.get(f"/api/partnerships/{partnership_id}")).json()
    assert fresh["overdue"] is False and fresh["reminded_at"] is None
    assert fresh["respond_by"].startswith("2026-12-25T20:30")  # 30 days after SENT_AT
    assert await _board(naryn.admin) == {
        "incoming_invitations": {"open": 1, "overdue": 0},
        "outgoing_invitations": {"open": 0, "overdue": 0},
    }

    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    assert (await osh.admin.get(f"/api/partnerships/{partnership_id}")).json()["overdue"] is False
    clock.advance(timedelta(seconds=1))

    for reader in (osh.admin, naryn.admin, await naryn.teacher()):
        assert (await reader.get(f"/api/partnerships/{partnership_id}")).json()["overdue"] is True
    listed = (await osh.admin.get("/api/partnerships?status=invited")).json()["items"]
    assert [(p["id"], p["overdue"]) for p in listed] == [(partnership_id, True)]
    assert await _board(naryn.admin) == {
        "incoming_invitations": {"open": 1, "overdue": 1},
        "outgoing_invitations": {"open": 0, "overdue": 0},
    }
    assert await _board(await osh.teacher()) == {
        "incoming_invitations": {"open": 0, "overdue": 0},
        "outgoing_invitations": {"open": 1, "overdue": 1},
    }
    assert (await _board(third.admin))["incoming_invitations"] == {"open": 0, "overdue": 0}
    # A declined invitation is answered: never overdue, whatever its age.
    closed = (await osh.admin.get(f"/api/partnerships/{answered}")).json()
    assert closed["overdue"] is False and closed["respond_by"] is None

    accepted = await naryn.admin.post(f"/api/partnerships/{partnership_id}/accept")
    assert accepted.json()["overdue"] is False
    assert (await _board(naryn.admin))["incoming_invitations"] == {"open": 0, "overdue": 0}


async def test_the_inviting_school_reminds_an_overdue_invitation_once(
    ground: Ground, clock: ManualClock, session: AsyncSession
) -> None:
    osh, naryn, third = await _trio(ground)
    second_admin = await naryn.add_member("admin")
    assert (await naryn.admin.patch("/api/me", json={"language": "ky"})).status_code == 200
    assert (await second_admin.patch("/api/me", json={"language": "ru"})).status_code == 200
    partnership_id = await invited(osh, naryn)
    path = f"/api/partnerships/{partnership_id}/remind"

    early = assert_problem(await osh.admin.post(path, headers={"Accept-Language": "ru"}), 409)
    assert "Срок ответа на приглашение ещё не прошёл" in early["detail"]
    assert early["code_of_conduct_rule"] == 9

    clock.advance(timedelta(days=31))
    assert_problem(await (await osh.teacher()).post(path), 403)
    refused = assert_problem(await naryn.admin.post(path), 403)
    assert "чакырган мектептин администратору гана" in refused["detail"]  # in her language
    assert_problem(await third.admin.post(path), 404)

    reminded = await osh.admin.post(path)

    assert reminded.status_code == 200, reminded.text
    assert reminded.json()["reminded_at"].startswith(clock.now().isoformat()[:16])
    assert reminded.json()["status"] == "invited" and reminded.json()["overdue"] is True
    ky_notice = await reminders(naryn.admin)
    ru_notice = await reminders(second_admin)
    assert len(ky_notice) == 1 and len(ru_notice) == 1
    assert "өнөктөштүккө чакыруусун эскертет" in ky_notice[0]["message"]
    assert "напоминает вашей школе о приглашении" in ru_notice[0]["message"]
    assert osh.name in ru_notice[0]["message"]
    assert await reminders(osh.admin) == []

    clock.advance(timedelta(days=5))
    again = assert_problem(await osh.admin.post(path, headers={"Accept-Language": "ru"}), 409)
    assert "уже напомнила" in again["detail"]
    assert again["code_of_conduct_rule"] == 9
    in_kyrgyz = assert_problem(await osh.admin.post(path, headers={"Accept-Language": "ky"}), 409)
    assert "бир жолу гана эскертилет" in in_kyrgyz["detail"]
    assert len(await reminders(naryn.admin)) == 1

    # Both trails keep the reminder; an answered invitation is reminded no more.
    reminded_entries = await session.scalars(
        select(AuditEvent.owner_school_id).where(AuditEvent.action == "partnership.reminded")
    )
    assert sorted(map(str, reminded_entries)) == sorted([str(osh.id), str(naryn.id)])
    assert (
        await naryn.admin.post(f"/api/partnerships/{partnership_id}/decline")
    ).status_code == 200
    closed = assert_problem(await osh.admin.post(path), 409)
    assert closed["partnership_status"] == "declined"
