"""The dashboard: requests to answer and awaiting answer, overdue ones, and what
partners added since the member last looked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from exchange.dashboard import services as dashboard_services
from exchange.models import DashboardVisit
from tests.actors import Actor
from tests.background import PERIODIC_JOBS
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, ground, sister_schools
from tests.problems import assert_problem

# On SQLite and PostgreSQL: overdue and new counts are SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]

ASK = {"scope": "adapt", "purpose": "Our grade 5", "audience": "Our pupils"}


async def test_counts_open_and_overdue_requests_both_ways(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    clock.advance(timedelta(days=10))
    await cast.b.admin.post(
        f"/api/resources/{cast.resource_id}/reuse-requests", json={**ASK, "scope": "share"}
    )
    clock.advance(timedelta(days=5))
    owner = (await cast.a.admin.get("/api/dashboard")).json()
    assert owner["incoming"] == {"open": 2, "overdue": 1}
    assert owner["outgoing"] == {"open": 0, "overdue": 0}
    author = (await cast.author.get("/api/dashboard")).json()
    assert author["incoming"] == {"open": 2, "overdue": 1}
    assert (await cast.colleague.get("/api/dashboard")).json()["incoming"]["open"] == 0
    requester = (await cast.b_teacher.get("/api/dashboard")).json()
    assert requester["outgoing"] == {"open": 1, "overdue": 1}
    assert (await cast.b.admin.get("/api/dashboard")).json()["outgoing"] == {
        "open": 2,
        "overdue": 1,
    }


async def test_reading_the_dashboard_counts_overdue_requests_without_escalating_them(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    clock.advance(timedelta(days=15))
    assert (await cast.a.admin.get("/api/dashboard")).json()["incoming"] == {
        "open": 1,
        "overdue": 1,
    }
    listed = (await cast.a.admin.get("/api/reuse-requests?direction=incoming")).json()
    assert listed["items"][0]["escalated_at"] is None
    assert await overdue_notices(cast.a.admin) == []

    assert await ground.run_escalation() == PERIODIC_JOBS
    assert len(await overdue_notices(cast.a.admin)) == 1
    assert (await cast.a.admin.get("/api/dashboard")).json()["incoming"] == {
        "open": 1,
        "overdue": 1,
    }


async def overdue_notices(member: Actor) -> list[dict[str, Any]]:
    response = await member.get("/api/notifications")
    assert response.status_code == 200, response.text
    return [item for item in response.json()["items"] if item["kind"] == "reuse_request.overdue"]


async def test_new_partner_resources_since_the_last_look_or_the_last_14_days(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    now = clock.now()
    await ground.resource(cast.b, cast.b_teacher, title="Old", created_at=now - timedelta(days=20))
    await ground.resource(
        cast.b, cast.b_teacher, title="Recent", created_at=now - timedelta(days=3)
    )
    await ground.resource(cast.b, cast.b_teacher, title="Only ours", visibility="school")
    await ground.resource(cast.s, cast.s.admin, title="A stranger's")
    first = (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]
    assert first["basis"] == "last_14_days"
    assert first["count"] == 1
    assert [r["title"] for r in first["latest"]] == ["Recent"]
    assert first["latest"][0]["school"]["name"] == "Naryn Village School"
    assert (
        first["until"]
        == (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]["until"]
    )

    # The member says they saw the list: later looks count from its `until`.
    clock.advance(timedelta(hours=1))
    await seen(cast.author, first["until"])
    second = (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]
    assert second["basis"] == "last_look"
    assert parse(second["since"]) == parse(first["until"])
    assert second["count"] == 0
    clock.advance(timedelta(hours=1))
    await ground.resource(cast.b, cast.b_teacher, title="Brand new")
    third = (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]
    assert [r["title"] for r in third["latest"]] == ["Brand new"]
    # Each member has their own last look.
    colleague = (await cast.colleague.get("/api/dashboard")).json()["new_partner_resources"]
    assert colleague["basis"] == "last_14_days"
    assert sorted(r["title"] for r in colleague["latest"]) == ["Brand new", "Recent"]


async def test_new_partner_resources_are_counted_up_to_a_limit(
    ground: Ground, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_services, "COUNTED", 2)
    cast = await sister_schools(ground)
    for number in range(2):
        clock.advance(timedelta(minutes=1))
        await ground.resource(cast.b, cast.b_teacher, title=f"Shared {number}")
    await ground.resource(cast.s, cast.s.admin, title="A stranger's")
    exact = (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]
    assert (exact["count"], exact["count_capped"]) == (2, False)
    clock.advance(timedelta(minutes=1))
    await ground.resource(cast.b, cast.b_teacher, title="Shared 2")
    capped = (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]
    assert (capped["count"], capped["count_capped"]) == (2, True)
    assert [r["title"] for r in capped["latest"]] == ["Shared 2", "Shared 1", "Shared 0"]


async def test_after_a_long_absence_the_newest_come_first_from_every_window(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    look = (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]["until"]
    await seen(cast.author, look)
    clock.advance(timedelta(days=365))
    now = clock.now()
    # Added in the year since the look: few lately, more and more further back.
    ages = [2, 10, 30, 31, 60, 61, 62, 150, 151, 152, 300, 301]
    for age in ages:
        await ground.resource(
            cast.b, cast.b_teacher, title=f"{age} days old", created_at=now - timedelta(days=age)
        )
    await ground.resource(
        cast.b, cast.b_teacher, title="Before the look", created_at=now - timedelta(days=400)
    )
    await ground.resource(cast.b, cast.b_teacher, title="Today")
    new = (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]
    assert new["basis"] == "last_look"
    assert (new["count"], new["count_capped"]) == (13, False)
    assert [r["title"] for r in new["latest"]] == ["Today"] + [
        f"{age} days old" for age in ages[:9]
    ]


async def test_reading_the_dashboard_records_no_look(ground: Ground, clock: ManualClock) -> None:
    cast = await sister_schools(ground)
    await ground.resource(cast.b, cast.b_teacher, title="Recent")
    for _ in range(2):
        clock.advance(timedelta(minutes=5))
        new = (await cast.author.get("/api/dashboard")).json()["new_partner_resources"]
        assert (new["basis"], new["count"]) == ("last_14_days", 1)
    assert await ground.all(select(DashboardVisit)) == []


async def test_a_look_never_moves_back_nor_past_now(ground: Ground, clock: ManualClock) -> None:
    cast = await sister_schools(ground)
    now = clock.now()
    later = await seen(cast.author, (now + timedelta(days=1)).isoformat())
    assert parse(later) == now
    earlier = await seen(cast.author, (now - timedelta(days=1)).isoformat())
    assert parse(earlier) == now
    (visit,) = await ground.all(select(DashboardVisit))
    assert visit.seen_at == now  # type: ignore[attr-defined]
    body = assert_problem(
        await cast.author.post("/api/dashboard/seen", json={"seen_until": "2026-03-01T09:00:00"}),
        422,
    )
    assert "time zone" in body["detail"]
    body = assert_problem(
        await cast.author.post("/api/dashboard/seen", json={"seen_until": 0}), 422
    )  # a number is not read as seconds since 1970
    assert "as text" in body["detail"]


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


async def seen(member: Actor, until: str) -> str:
    response = await member.post("/api/dashboard/seen", json={"seen_until": until})
    assert response.status_code == 200, response.text
    recorded: str = response.json()["seen_until"]
    return recorded
