"""The private calendar feed: an iCalendar address whose secret is the only key, with the
activities of the member's school's active partnerships and no other school's; stored
as a hash, replaced by a new one, revoked at once."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import select

from exchange.models import CalendarFeed
from tests.actors import Actor
from tests.conduct_fixtures import Ground, QuickSchool, ground
from tests.partnering import invite
from tests.problems import assert_problem

# On SQLite and PostgreSQL: the feed is filtered by the partnership rules, in SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]


async def _partners(inviter: QuickSchool, invitee: QuickSchool) -> str:
    invitation = await invite(inviter.admin, invitee.id)
    assert invitation.status_code == 201, invitation.text
    partnership_id = str(invitation.json()["id"])
    accepted = await invitee.admin.post(f"/api/partnerships/{partnership_id}/accept")
    assert accepted.status_code == 200, accepted.text
    return partnership_id


async def _plan(actor: Actor, partnership_id: str, title: str, **fields: Any) -> str:
    response = await actor.post(
        f"/api/partnerships/{partnership_id}/activities",
        json={"kind": "meeting", "title": title, "starts_on": "2027-02-10", "goals": [], **fields},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _turn_on(actor: Actor) -> str:
    response = await actor.post("/api/me/calendar-feed")
    assert response.status_code == 201, response.text
    url = str(response.json()["url"])
    assert url.endswith(".ics")
    return urlsplit(url).path


async def _events(ground: Ground, path: str) -> dict[str, Any]:
    # As a calendar app reads it: no header, no cookie.
    response = await ground.client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(e["summary"]): e for e in calendar.walk("VEVENT")}


async def test_the_feed_holds_the_schools_partnership_activities_and_no_other_schools(
    ground: Ground,
) -> None:
    naryn, osh = await ground.school("Naryn school"), await ground.school("Osh school")
    bishkek, talas = await ground.school("Bishkek school"), await ground.school("Talas school")
    ours = await _partners(naryn, osh)
    theirs = await _partners(bishkek, talas)
    await _plan(
        naryn.admin, ours, "Open lesson in Naryn", kind="lesson_visit", ends_on="2027-02-12"
    )
    cancelled = await _plan(osh.admin, ours, "Concert in Osh")
    assert (await osh.admin.post(f"/api/activities/{cancelled}/cancel")).status_code == 200
    await _plan(bishkek.admin, theirs, "Bishkek and Talas meet")
    teacher = await naryn.teacher()

    path = await _turn_on(teacher)
    events = await _events(ground, path)
    assert set(events) == {"Open lesson in Naryn", "Concert in Osh"}
    lesson = events["Open lesson in Naryn"]
    assert lesson.decoded("dtstart").isoformat() == "2027-02-10"
    assert lesson.decoded("dtend").isoformat() == "2027-02-13"  # the end day is included
    assert "Naryn school" in str(lesson["description"]) and "Osh school" in str(
        lesson["description"]
    )
    assert str(lesson["status"]) == "CONFIRMED"
    assert str(events["Concert in Osh"]["status"]) == "CANCELLED"
    # The partner school's members see the same activities in theirs; the other pair, theirs.
    assert set(await _events(ground, await _turn_on(osh.admin))) == set(events)
    assert set(await _events(ground, await _turn_on(talas.admin))) == {"Bishkek and Talas meet"}

    # Only the secret's hash is stored.
    secret = path.rsplit("/", 1)[1].removesuffix(".ics")
    async with ground.session() as session:
        stored = list(await session.scalars(select(CalendarFeed.token_hash)))
    assert secret not in stored and len(stored) == 3

    # A partnership that ends leaves the feed at once.
    assert (await osh.admin.post(f"/api/partnerships/{ours}/end", json={})).status_code == 200
    assert await _events(ground, path) == {}


async def test_a_new_address_replaces_the_old_and_revoking_stops_it_at_once(
    ground: Ground,
) -> None:
    naryn, osh = await ground.school("Naryn school"), await ground.school("Osh school")
    partnership = await _partners(naryn, osh)
    await _plan(naryn.admin, partnership, "Staff meeting")
    teacher = await naryn.teacher()

    first = await _turn_on(teacher)
    second = await _turn_on(teacher)
    assert first != second
    assert_problem(await ground.client.get(first), 404)
    assert set(await _events(ground, second)) == {"Staff meeting"}

    revoked = await teacher.delete("/api/me/calendar-feed")
    assert revoked.status_code == 204
    assert_problem(await ground.client.get(second), 404)
    assert (await teacher.delete("/api/me/calendar-feed")).status_code == 204  # already off

    # A guessed or malformed address is told nothing more.
    assert_problem(await ground.client.get("/api/calendar/not-a-secret.ics"), 404)
    assert_problem(await ground.client.get("/api/calendar/whatever"), 404)
    # Turning it on needs a sign-in.
    assert_problem(await ground.client.post("/api/me/calendar-feed"), 401)


async def test_a_disabled_members_feed_stops(ground: Ground) -> None:
    naryn, osh = await ground.school("Naryn school"), await ground.school("Osh school")
    await _partners(naryn, osh)
    teacher = await naryn.teacher()
    path = await _turn_on(teacher)
    assert await _events(ground, path) == {}
    disabled = await naryn.admin.post(f"/api/members/{teacher.member_id}/disable")
    assert disabled.status_code == 200, disabled.text
    assert_problem(await ground.client.get(path), 404)
