"""The in-app inbox: who is told about each partnership move, and reading one's own inbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.notifications.service import notify_members, notify_school_admins
from tests.actors import Actor, SchoolFactory
from tests.clock import ManualClock
from tests.partnering import invited, partners
from tests.problems import assert_problem

# On SQLite and PostgreSQL: the inbox is paged by a keyset cursor in SQL.
pytestmark = pytest.mark.every_database


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as db:
            yield db
    finally:
        await engine.dispose()


async def _inbox(actor: Actor, query: str = "") -> dict[str, Any]:
    response = await actor.get(f"/api/notifications{query}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _kinds(actor: Actor) -> list[str]:
    return [item["kind"] for item in (await _inbox(actor))["items"]]


async def test_an_invitation_tells_every_admin_of_the_invited_school_and_no_one_else(
    schools: SchoolFactory,
) -> None:
    osh = await schools.create("Osh School")
    naryn = await schools.create("Naryn School")
    deputy = await naryn.add_member("admin")
    naryn_teacher = await naryn.teacher()
    osh_teacher = await osh.teacher()

    partnership_id = await invited(osh, naryn)

    for admin in (naryn.admin, deputy):
        inbox = await _inbox(admin)
        assert inbox["unread_count"] == 1
        (item,) = inbox["items"]
        assert item["kind"] == "partnership.invited"
        assert item["subject_type"] == "partnership"
        assert item["subject_id"] == partnership_id
        assert item["unread"] is True
        assert item["message"] == (
            "Osh School invites your school to a partnership under the code of conduct."
        )
        assert item["payload"]["other_school"] == {"id": str(osh.id), "name": "Osh School"}
        assert item["payload"]["goals"]
    for nobody in (osh.admin, osh_teacher, naryn_teacher):
        assert await _kinds(nobody) == []


async def test_accept_decline_withdraw_and_end_tell_the_other_schools_admins(
    schools: SchoolFactory, clock: ManualClock
) -> None:
    osh = await schools.create("Osh School")
    naryn = await schools.create("Naryn School")
    talas = await schools.create("Talas School")

    active = await partners(osh, naryn)
    clock.advance(timedelta(minutes=1))
    declined = await invited(osh, talas)
    await talas.admin.post(f"/api/partnerships/{declined}/decline", json={"note": "Next year."})
    clock.advance(timedelta(minutes=1))
    withdrawn = await invited(naryn, talas)
    clock.advance(timedelta(minutes=1))
    await naryn.admin.post(f"/api/partnerships/{withdrawn}/withdraw")
    await naryn.admin.post(f"/api/partnerships/{active}/end")

    assert await _kinds(osh.admin) == [
        "partnership.ended",
        "partnership.declined",
        "partnership.accepted",
    ]
    assert await _kinds(naryn.admin) == ["partnership.invited"]
    assert await _kinds(talas.admin) == [
        "partnership.withdrawn",
        "partnership.invited",
        "partnership.invited",
    ]
    items = (await _inbox(osh.admin))["items"]
    assert isinstance(items, list)
    decline = items[1]
    assert decline["payload"]["note"] == "Next year."
    assert decline["message"] == "Talas School declined your school's partnership invitation."
    assert decline["payload"]["other_school"]["name"] == "Talas School"


async def test_changing_an_active_partnership_tells_the_other_side(
    schools: SchoolFactory, clock: ManualClock
) -> None:
    osh = await schools.create("Osh School")
    naryn = await schools.create("Naryn School")
    partnership_id = await partners(osh, naryn)
    clock.advance(timedelta(minutes=1))

    await naryn.admin.patch(
        f"/api/partnerships/{partnership_id}", json={"goals": ["Plan joint science lessons"]}
    )

    (latest, _accepted) = (await _inbox(osh.admin))["items"]
    assert latest["kind"] == "partnership.updated"
    assert latest["payload"]["changed"] == ["goals"]
    assert await _kinds(naryn.admin) == ["partnership.invited"]


async def test_reading_marks_one_and_read_all_marks_the_rest(
    schools: SchoolFactory, clock: ManualClock
) -> None:
    naryn = await schools.create("Naryn School")
    for name in ("One", "Two", "Three"):
        await invited(await schools.create(name), naryn)
        clock.advance(timedelta(minutes=1))
    items = (await _inbox(naryn.admin))["items"]
    assert isinstance(items, list)

    first = await naryn.admin.post(f"/api/notifications/{items[0]['id']}/read")
    again = await naryn.admin.post(f"/api/notifications/{items[0]['id']}/read")

    assert first.status_code == 200
    assert first.json()["unread"] is False
    assert again.json()["read_at"] == first.json()["read_at"]
    unread = await _inbox(naryn.admin, "?unread=true")
    assert unread["unread_count"] == 2
    assert [i["id"] for i in unread["items"]] == [items[1]["id"], items[2]["id"]]

    everything = await naryn.admin.post("/api/notifications/read-all")

    assert everything.json() == {"marked": 2, "unread_count": 0}
    assert (await _inbox(naryn.admin, "?unread=true"))["items"] == []
    assert len((await _inbox(naryn.admin))["items"]) == 3


async def test_another_members_notification_is_404(schools: SchoolFactory) -> None:
    osh = await schools.create()
    naryn = await schools.create()
    deputy = await naryn.add_member("admin")
    await invited(osh, naryn)
    (item,) = (await _inbox(naryn.admin))["items"]

    for stranger in (deputy, osh.admin, await naryn.teacher()):
        assert_problem(await stranger.post(f"/api/notifications/{item['id']}/read"), 404)
    assert_problem(await naryn.admin.post(f"/api/notifications/{uuid4()}/read"), 404)
    await deputy.post("/api/notifications/read-all")

    assert (await _inbox(naryn.admin))["unread_count"] == 1


async def test_the_inbox_pages_newest_first_with_a_cursor(
    schools: SchoolFactory, session: AsyncSession, clock: ManualClock
) -> None:
    school = await schools.create()
    teacher = await school.teacher()
    subject = uuid4()
    for number in range(5):
        await notify_members(
            session,
            clock,
            member_ids=[teacher.member_id],
            kind="reuse_request.created",
            subject_type="reuse_request",
            subject_id=subject,
            payload={"message": f"Request {number}", "number": number},
        )
        clock.advance(timedelta(seconds=1 if number != 2 else 0))
    await session.commit()

    seen: list[int] = []
    cursor = ""
    while True:
        page = await _inbox(teacher, f"?limit=2{cursor}")
        seen += [item["payload"]["number"] for item in page["items"]]
        assert page["unread_count"] == 5
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert seen == [4, 3, 2, 1, 0]
    assert_problem(await teacher.get("/api/notifications?cursor=bogus"), 422)
    assert_problem(await teacher.get("/api/notifications?limit=0"), 422)


async def test_school_admins_are_notified_and_disabled_members_are_not(
    schools: SchoolFactory, session: AsyncSession, clock: ManualClock
) -> None:
    school = await schools.create()
    deputy = await school.add_member("admin")
    teacher = await school.teacher()
    gone = await school.add_member("admin")
    assert (await school.admin.post(f"/api/members/{gone.member_id}/disable")).status_code == 200

    to_admins = await notify_school_admins(
        session,
        clock,
        school_id=school.id,
        kind="reuse_request.overdue",
        subject_type="reuse_request",
        subject_id=uuid4(),
        payload={"message": "A request is waiting for an answer."},
    )
    to_members = await notify_members(
        session,
        clock,
        member_ids=[teacher.member_id, gone.member_id, uuid4()],
        kind="reuse_request.created",
        subject_type="reuse_request",
        subject_id=uuid4(),
        payload={"message": "Someone asks to adapt your lesson plan."},
    )
    await session.commit()

    assert {n.recipient_member_id for n in to_admins} == {
        school.admin.member_id,
        deputy.member_id,
    }
    assert [n.recipient_member_id for n in to_members] == [teacher.member_id]
    assert all(n.school_id == school.id for n in to_admins + to_members)
    assert await _kinds(teacher) == ["reuse_request.created"]
    assert await _kinds(deputy) == ["reuse_request.overdue"]


async def test_a_notification_without_a_message_is_a_programming_error(
    session: AsyncSession, clock: ManualClock, schools: SchoolFactory
) -> None:
    school = await schools.create()

    with pytest.raises(ValueError, match="message"):
        await notify_members(
            session,
            clock,
            member_ids=[school.admin.member_id],
            kind="x",
            subject_type="x",
            subject_id=UUID(int=1),
            payload={},
        )
