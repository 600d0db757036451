"""Reuse requests (rules 6, 7, 9): asking, answering, withdrawing, overdue, closing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select

from exchange.clock import days_later
from exchange.config import Settings
from exchange.errors import Conflict
from exchange.escalation import escalate_overdue
from exchange.models import AuditEvent, ReuseRequest
from exchange.reuse.requests import ReuseRequestService
from exchange.reuse.schemas import ReuseRequestCreate
from tests.actors import Actor
from tests.background import PERIODIC_JOBS
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, ground, identity_of, sister_schools
from tests.problems import assert_problem
from tests.settings import settings_env

# On SQLite and PostgreSQL: requests, grants and escalation are SQL, with concurrent decisions.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]

ASK = {"scope": "adapt", "purpose": "Use it in our grade 5 maths", "audience": "Our pupils"}


async def test_a_partner_asks_and_the_request_reaches_the_deciders_only(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    response = await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["overdue"] is False
    assert body["scope"] == "adapt"
    assert body["requesting_school"]["name"] == "Naryn Village School"
    respond_by = days_later(clock.now(), 14)  # the end of the 14th day in Bishkek
    assert body["respond_by"].startswith(respond_by.isoformat()[:16])

    for decider in (cast.author, cast.a.admin):
        incoming = (await decider.get("/api/reuse-requests?direction=incoming")).json()
        assert [item["id"] for item in incoming["items"]] == [body["id"]]
        assert (await decider.get(f"/api/reuse-requests/{body['id']}")).status_code == 200
    # A teacher of the owner school who is not an author neither sees nor decides it.
    assert (await cast.colleague.get("/api/reuse-requests?direction=incoming")).json()[
        "items"
    ] == []
    assert_problem(await cast.colleague.get(f"/api/reuse-requests/{body['id']}"), 404)
    assert_problem(
        await cast.colleague.post(
            f"/api/reuse-requests/{body['id']}/decision", json={"decision": "approve"}
        ),
        404,
    )
    outgoing = (await cast.b.admin.get("/api/reuse-requests?direction=outgoing")).json()
    assert [item["id"] for item in outgoing["items"]] == [body["id"]]
    assert_problem(await cast.s.admin.get(f"/api/reuse-requests/{body['id']}"), 404)


async def test_one_pending_request_per_resource_school_and_scope(ground: Ground) -> None:
    cast = await sister_schools(ground)
    url = f"/api/resources/{cast.resource_id}/reuse-requests"
    first = await cast.b_teacher.post(url, json=ASK)
    assert first.status_code == 201
    body = assert_problem(await cast.b.admin.post(url, json=ASK), 409)
    assert body["existing_request_id"] == first.json()["id"]
    assert (await cast.b.admin.post(url, json={**ASK, "scope": "share"})).status_code == 201


async def test_two_requests_at_the_same_moment_make_one_pending_request(
    ground: Ground, settings: Settings, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    data = ReuseRequestCreate(scope="adapt", purpose="Grade 5", audience="Pupils")

    async def ask(actor: Actor) -> str:
        async with ground.session() as session:
            try:
                await ReuseRequestService(session, settings, clock).create(
                    identity_of(actor), cast.resource_id, data
                )
            except Conflict:
                return "conflict"
            return "created"

    outcomes = await asyncio.gather(ask(cast.b_teacher), ask(cast.b.admin))
    assert sorted(outcomes) == ["conflict", "created"]


async def test_who_may_not_ask(ground: Ground) -> None:
    cast = await sister_schools(ground)
    url = f"/api/resources/{cast.resource_id}/reuse-requests"
    assert_problem(await cast.author.post(url, json=ASK), 422)
    assert_problem(await cast.s.admin.post(url, json=ASK), 404)
    invalid = await cast.b_teacher.post(url, json={**ASK, "scope": "sell"})
    assert_problem(invalid, 400 if invalid.status_code == 400 else 422)


async def test_confidential_resource_refuses_share_and_publish_naming_rule_6(
    ground: Ground,
) -> None:
    cast = await sister_schools(
        ground, title="Staff contract template", kind="policy", confidential=True
    )
    url = f"/api/resources/{cast.resource_id}/reuse-requests"
    for scope in ("share", "publish"):
        body = assert_problem(
            await cast.b_teacher.post(url, json={**ASK, "scope": scope}), 403, rule=6
        )
        assert "adapt" in body["detail"]
    assert (await cast.b_teacher.post(url, json=ASK)).status_code == 201
    refused = await ground.all(
        select(AuditEvent).where(
            AuditEvent.action == "reuse_request.refused", AuditEvent.owner_school_id == cast.a.id
        )
    )
    assert len(refused) == 2
    assert {e.outcome for e in refused} == {"refused"}  # type: ignore[attr-defined]
    assert sorted(e.details["scope"] for e in refused) == ["publish", "share"]  # type: ignore[attr-defined]
    assert {e.details["rule"] for e in refused} == {6}  # type: ignore[attr-defined]
    assert {(e.actor_member_id, e.other_school_id) for e in refused} == {  # type: ignore[attr-defined]
        (cast.b_teacher.member_id, cast.b.id)
    }


async def test_an_open_licence_needs_no_request(ground: Ground) -> None:
    cast = await sister_schools(ground, licence="cc-by-sa")
    body = assert_problem(
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK),
        409,
    )
    assert "no request is needed" in body["detail"]


async def test_approval_creates_a_grant_and_tells_the_requester(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/reuse-requests", json={**ASK, "scope": "share"}
        )
    ).json()
    decision_url = f"/api/reuse-requests/{created['id']}/decision"
    # The requesting side sees the request but cannot answer it.
    assert_problem(await cast.b.admin.post(decision_url, json={"decision": "approve"}), 403)
    until = (clock.now() + timedelta(days=90)).isoformat()
    response = await cast.author.post(
        decision_url, json={"decision": "approve", "note": "Gladly", "expires_at": until}
    )
    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided["status"] == "approved"
    assert decided["decided_by"]["id"] == str(cast.author.member_id)
    assert decided["grant_id"]
    grants = (await cast.b_teacher.get(f"/api/resources/{cast.resource_id}/grants")).json()["items"]
    assert [(g["scope"], g["source"], g["status"], g["school"]["id"]) for g in grants] == [
        ("share", "request", "active", str(cast.b.id))
    ]
    assert grants[0]["until"] is not None
    assert_problem(
        await cast.a.admin.post(decision_url, json={"decision": "deny", "note": "x"}), 409
    )
    # Asking again for what is already granted is a conflict, not a second grant.
    assert_problem(
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/reuse-requests", json={**ASK, "scope": "share"}
        ),
        409,
    )


async def test_a_refusal_needs_a_note_and_the_school_may_ask_again(ground: Ground) -> None:
    cast = await sister_schools(ground)
    url = f"/api/resources/{cast.resource_id}/reuse-requests"
    created = (await cast.b_teacher.post(url, json=ASK)).json()
    decision_url = f"/api/reuse-requests/{created['id']}/decision"
    assert_problem(await cast.a.admin.post(decision_url, json={"decision": "deny"}), 422)
    denied = await cast.a.admin.post(
        decision_url, json={"decision": "deny", "note": "It is being rewritten; ask in May."}
    )
    assert denied.json()["status"] == "denied"
    assert denied.json()["decision_note"] == "It is being rewritten; ask in May."
    assert (await cast.b_teacher.post(url, json=ASK)).status_code == 201


async def test_an_expiry_in_the_past_is_refused(ground: Ground, clock: ManualClock) -> None:
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    past = (clock.now() - timedelta(days=1)).isoformat()
    assert_problem(
        await cast.author.post(
            f"/api/reuse-requests/{created['id']}/decision",
            json={"decision": "approve", "expires_at": past},
        ),
        422,
    )


async def test_only_the_requesting_side_withdraws_a_pending_request(ground: Ground) -> None:
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    url = f"/api/reuse-requests/{created['id']}/withdraw"
    assert_problem(await cast.author.post(url), 403)
    withdrawn = await cast.b_teacher.post(url)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert_problem(await cast.b_teacher.post(url), 409)
    assert_problem(
        await cast.author.post(
            f"/api/reuse-requests/{created['id']}/decision", json={"decision": "approve"}
        ),
        409,
    )


async def test_overdue_requests_are_shown_to_both_sides_and_escalated_once(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    clock.advance(timedelta(days=13))
    assert (await cast.a.admin.get(f"/api/reuse-requests/{created['id']}")).json()[
        "overdue"
    ] is False
    clock.advance(timedelta(days=2))
    incoming = (await cast.a.admin.get("/api/reuse-requests?direction=incoming")).json()
    outgoing = (await cast.b_teacher.get("/api/reuse-requests?direction=outgoing")).json()
    assert incoming["items"][0]["overdue"] is True
    assert incoming["overdue"] == 1
    assert outgoing["items"][0]["overdue"] is True
    # Reading shows it overdue from its date; escalating is the periodic job's.
    assert incoming["items"][0]["escalated_at"] is None
    assert await ground.run_escalation() == PERIODIC_JOBS
    incoming = (await cast.a.admin.get("/api/reuse-requests?direction=incoming")).json()
    assert incoming["items"][0]["escalated_at"] is not None
    # Every further read, on any instance, and the job run again, find nothing to do.
    await cast.a.admin.get("/api/dashboard")
    await cast.b.admin.get("/api/reuse-requests?direction=outgoing")
    async with ground.session() as session:
        assert await escalate_overdue(session, clock) == 0
    clock.advance(timedelta(hours=1))
    assert await ground.run_escalation() == PERIODIC_JOBS
    escalations = await ground.all(
        select(AuditEvent).where(AuditEvent.action == "reuse_request.escalated")
    )
    assert len(escalations) == 1
    only_overdue = (
        await cast.a.admin.get("/api/reuse-requests?direction=incoming&overdue=true")
    ).json()
    assert len(only_overdue["items"]) == 1


async def test_the_escalation_job_claims_each_request_once_when_run_twice_at_once(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    for scope in ("adapt", "share", "publish"):
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/reuse-requests", json={**ASK, "scope": scope}
        )
    clock.advance(timedelta(days=15))
    async with ground.session() as first, ground.session() as second:
        counts = await asyncio.gather(
            escalate_overdue(first, clock), escalate_overdue(second, clock)
        )
    assert sum(counts) == 3


async def test_ending_the_partnership_closes_the_pending_requests_and_says_why(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    other_resource = await ground.resource(cast.b, cast.b_teacher, title="Kyrgyz poetry")
    theirs = (
        await cast.author.post(f"/api/resources/{other_resource}/reuse-requests", json=ASK)
    ).json()
    assert await ground.end_partnership(cast.partnership_id) == 2
    closed = (await cast.b_teacher.get(f"/api/reuse-requests/{created['id']}")).json()
    assert closed["status"] == "closed"
    assert "partnership" in closed["closed_reason"]
    assert (await cast.author.get(f"/api/reuse-requests/{theirs['id']}")).json()[
        "status"
    ] == "closed"
    assert_problem(
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK),
        404,
    )


async def test_ending_through_the_partnership_api_closes_the_requests_and_tells_the_requester(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    ended = await cast.a.admin.post(f"/api/partnerships/{cast.partnership_id}/end")
    assert ended.status_code == 200, ended.text
    closed = (await cast.b_teacher.get(f"/api/reuse-requests/{created['id']}")).json()
    assert closed["status"] == "closed"
    inbox = (await cast.b_teacher.get("/api/notifications")).json()
    kinds = [item["kind"] for item in inbox["items"]]
    assert "reuse_request.closed" in kinds
    (entry,) = await ground.all(
        select(AuditEvent).where(AuditEvent.action == "reuse_request.closed")
    )
    assert str(entry.reuse_request_id) == created["id"]  # type: ignore[attr-defined]
    assert str(entry.partnership_id) == str(cast.partnership_id)  # type: ignore[attr-defined]
    assert entry.owner_school_id == cast.a.id  # type: ignore[attr-defined]
    assert entry.other_school_id == cast.b.id  # type: ignore[attr-defined]
    assert entry.details["scope"] == "adapt"  # type: ignore[attr-defined]
    assert entry.details["reason"].startswith("partnership_ended")  # type: ignore[attr-defined]


async def test_every_request_event_reaches_the_inbox_of_the_other_side(ground: Ground) -> None:
    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()

    async def kinds(actor: Actor) -> list[str]:
        inbox = (await actor.get("/api/notifications")).json()
        return [item["kind"] for item in inbox["items"]]

    assert await kinds(cast.author) == ["reuse_request.created"]
    assert await kinds(cast.a.admin) == ["reuse_request.created"]
    assert await kinds(cast.colleague) == []
    await cast.author.post(
        f"/api/reuse-requests/{created['id']}/decision",
        json={"decision": "deny", "note": "Not this term"},
    )
    assert await kinds(cast.b_teacher) == ["reuse_request.denied"]
    assert await kinds(cast.b.admin) == ["reuse_request.denied"]
    again = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    await cast.b_teacher.post(f"/api/reuse-requests/{again['id']}/withdraw")
    assert (await kinds(cast.author))[:2] == ["reuse_request.withdrawn", "reuse_request.created"]
    item = (await cast.b_teacher.get("/api/notifications")).json()["items"][0]
    assert item["payload"]["message"].startswith("Osh School 5 declined")


async def test_the_escalation_command_escalates_each_overdue_request_once(
    ground: Ground, settings: Settings, clock: ManualClock
) -> None:
    from click.testing import CliRunner

    from exchange.cli import main

    cast = await sister_schools(ground)
    created = (
        await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    ).json()
    # The command runs on the system clock: make the request overdue by that clock.
    async with ground.session() as session:
        request = await session.get_one(ReuseRequest, UUID(created["id"]))
        request.respond_by = datetime.now(UTC) - timedelta(days=1)
        await session.commit()
    runner = CliRunner()
    first = await asyncio.to_thread(
        runner.invoke, main, ["requests", "escalate"], env=settings_env(settings)
    )
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"escalated": 1}
    again = await asyncio.to_thread(
        runner.invoke, main, ["requests", "escalate"], env=settings_env(settings)
    )
    assert json.loads(again.stdout) == {"escalated": 0}
    inbox = (await cast.a.admin.get("/api/notifications")).json()
    assert [i["kind"] for i in inbox["items"]].count("reuse_request.overdue") == 1
