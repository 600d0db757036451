"""Ending a partnership ends, for good, what rested on it: the grants from requests made
under it, the forwards that depended on them, the `shared_with` entries naming the
former partner and the pending requests. Partnering again starts afresh: only what the
owner shares with all its partners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text

from exchange.models import Partnership
from exchange.search.index import SearchIndex
from tests.actors import Actor
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, QuickSchool, ground, upload
from tests.migration_modules import migration
from tests.partnering import invite
from tests.problems import assert_problem
from tests.searching import search, titles

# On SQLite and PostgreSQL: ending a partnership closes what it allowed, in SQL, and a migration.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]


async def _resource(actor: Actor, **fields: Any) -> str:
    response = await upload(actor, **fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _share_grant(requester: Actor, decider: Actor, resource_id: str) -> str:
    asked = await requester.post(
        f"/api/resources/{resource_id}/reuse-requests",
        json={"scope": "share", "purpose": "Our partner teaches grade 5", "audience": "Teachers"},
    )
    assert asked.status_code == 201, asked.text
    decided = await decider.post(
        f"/api/reuse-requests/{asked.json()['id']}/decision", json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.text
    return str(decided.json()["grant_id"])


async def _inbox(actor: Actor) -> list[dict[str, Any]]:
    response = await actor.get("/api/notifications", params={"limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _partners(inviter: QuickSchool, invitee: QuickSchool) -> str:
    """Invite and accept over HTTP, as the two schools' admins do."""
    invitation = await invite(inviter.admin, invitee.id)
    assert invitation.status_code == 201, invitation.text
    partnership_id = str(invitation.json()["id"])
    accepted = await invitee.admin.post(f"/api/partnerships/{partnership_id}/accept")
    assert accepted.status_code == 200, accepted.text
    return partnership_id


async def test_partnering_again_does_not_bring_back_what_the_end_took_away(
    ground: Ground,
) -> None:
    # The reviewer's scenario: A approved B's share request; B forwarded to D; A ended the
    # partnership; B invited A again and A accepted.
    a = await ground.school("Osh School 5")
    b = await ground.school("Naryn Village School")
    d = await ground.school("Talas Gymnasium")
    a_b = await _partners(a, b)
    await _partners(b, d)
    plan = await _resource(a.admin, title="Fractions for grade 5")
    chosen = await _resource(a.admin, title="Reading club", visibility="selected", shared_with=[b])
    policy = await _resource(
        a.admin,
        title="Staff appraisal policy",
        kind="policy",
        visibility="selected",
        shared_with=[b],
        confidential=True,
    )
    grant_id = await _share_grant(b.admin, a.admin, plan)
    forwarded = await b.admin.post(f"/api/resources/{plan}/forward", json={"school_id": str(d.id)})
    assert forwarded.status_code == 201, forwarded.text
    assert (await d.admin.get(f"/api/resources/{plan}")).status_code == 200
    pending = await b.admin.post(
        f"/api/resources/{chosen}/reuse-requests",
        json={"scope": "adapt", "purpose": "A version for grade 4", "audience": "Our pupils"},
    )
    assert pending.status_code == 201, pending.text

    ended = await a.admin.post(f"/api/partnerships/{a_b}/end")
    assert ended.status_code == 200, ended.text
    for resource_id in (plan, chosen, policy):
        assert_problem(await b.admin.get(f"/api/resources/{resource_id}"), 404)
    assert_problem(await d.admin.get(f"/api/resources/{plan}"), 404)

    await _partners(b, a)

    # D no longer reads what B passed on, and B's forward stays cut.
    assert_problem(await d.admin.get(f"/api/resources/{plan}"), 404)
    assert_problem(await d.admin.get(f"/api/resources/{plan}/content"), 404)
    chain = (await a.admin.get(f"/api/resources/{plan}/forwards")).json()["forwards"]
    assert len(chain) == 1
    assert chain[0]["standing"] is False
    assert chain[0]["cut_at"] is not None
    assert "ended" in chain[0]["cut_reason"]
    # B reads what A shares with all its partners, and nothing A had chosen for it.
    assert (await b.admin.get(f"/api/resources/{plan}")).status_code == 200
    assert_problem(await b.admin.get(f"/api/resources/{chosen}"), 404)
    assert_problem(await b.admin.get(f"/api/resources/{policy}"), 404)
    assert_problem(await b.admin.get(f"/api/resources/{policy}/content"), 404)
    mine = (await a.admin.get(f"/api/resources/{chosen}")).json()
    assert mine["shared_with"] == []
    # The old grant is revoked, and says why.
    grants = (await a.admin.get(f"/api/resources/{plan}/grants")).json()["items"]
    (grant,) = [g for g in grants if g["id"] == grant_id]
    assert grant["status"] == "revoked"
    assert grant["revoked_reason"] == "partnership_ended"
    assert grant["revoked_at"] is not None
    assert "ended" in grant["why"]
    # Without a new permission B cannot pass it on again.
    assert_problem(
        await b.admin.post(f"/api/resources/{plan}/forward", json={"school_id": str(d.id)}),
        403,
        rule=7,
    )
    # B's pending request was closed when the partnership ended.
    closed = (await b.admin.get(f"/api/reuse-requests/{pending.json()['id']}")).json()
    assert closed["status"] == "closed"


async def test_search_finds_nothing_the_end_took_away_after_partnering_again(
    ground: Ground,
) -> None:
    a = await ground.school("Osh School 5")
    b = await ground.school("Naryn Village School")
    d = await ground.school("Talas Gymnasium")
    a_b = await _partners(a, b)
    await _partners(b, d)
    plan = await _resource(a.admin, title="Fractions for grade five")
    club = await _resource(a.admin, title="Fractions club", visibility="selected", shared_with=[b])
    await _share_grant(b.admin, a.admin, plan)
    forwarded = await b.admin.post(f"/api/resources/{plan}/forward", json={"school_id": str(d.id)})
    assert forwarded.status_code == 201, forwarded.text
    async with ground.session() as session:
        for resource_id in (plan, club):
            await SearchIndex(session).refresh(UUID(resource_id))
        await session.commit()
    assert titles(await search(d.admin, q="fractions")) == ["Fractions for grade five"]
    assert sorted(titles(await search(b.admin, q="fractions"))) == [
        "Fractions club",
        "Fractions for grade five",
    ]

    await a.admin.post(f"/api/partnerships/{a_b}/end")
    await _partners(b, a)

    assert titles(await search(d.admin, q="fractions")) == []
    assert titles(await search(b.admin, q="fractions")) == ["Fractions for grade five"]


@dataclass
class ForwardedOn:
    """A (Osh) shares a plan with its partner B (Naryn), which holds a share grant and
    passed it on to its own partner D (Talas)."""

    a: QuickSchool
    b: QuickSchool
    d: QuickSchool
    a_b: str
    plan: str
    grant_id: str


async def _forwarded_on(ground: Ground) -> ForwardedOn:
    a = await ground.school("Osh School 5")
    b = await ground.school("Naryn Village School")
    d = await ground.school("Talas Gymnasium")
    a_b = await _partners(a, b)
    await _partners(b, d)
    plan = await _resource(a.admin, title="Fractions for grade 5")
    grant_id = await _share_grant(b.admin, a.admin, plan)
    forwarded = await b.admin.post(f"/api/resources/{plan}/forward", json={"school_id": str(d.id)})
    assert forwarded.status_code == 201, forwarded.text
    return ForwardedOn(a, b, d, a_b, plan, grant_id)


async def test_the_schools_that_lose_access_are_told_why(ground: Ground) -> None:
    world = await _forwarded_on(ground)
    b, d, a_b, plan = world.b, world.d, world.a_b, world.plan

    ended = await b.admin.post(f"/api/partnerships/{a_b}/end")
    assert ended.status_code == 200, ended.text

    (told_d,) = [n for n in await _inbox(d.admin) if n["kind"] == "resource.access_ended"]
    assert told_d["payload"]["resource_id"] == plan
    assert told_d["payload"]["reason"] == "partnership_ended"
    for name in ("Osh School 5", "Naryn Village School"):
        assert name in told_d["message"]
    assert "ended" in told_d["message"]
    assert "can no longer read" in told_d["message"]
    (told_b,) = [n for n in await _inbox(b.admin) if n["kind"] == "grant.revoked"]
    assert told_b["payload"]["reason"] == "partnership_ended"
    assert told_b["payload"]["forwards_cut"] == 1
    assert "ended" in told_b["message"]
    assert "Talas Gymnasium" in told_b["message"] or "passed it to" in told_b["message"]


async def test_the_owner_school_s_trail_says_what_the_end_took_away(ground: Ground) -> None:
    world = await _forwarded_on(ground)
    a, b, d, a_b, plan, grant_id = world.a, world.b, world.d, world.a_b, world.plan, world.grant_id
    chosen = await _resource(a.admin, title="Reading club", visibility="selected", shared_with=[b])
    pending = await b.admin.post(
        f"/api/resources/{chosen}/reuse-requests",
        json={"scope": "adapt", "purpose": "A version for grade 4", "audience": "Our pupils"},
    )
    assert pending.status_code == 201, pending.text

    assert (await a.admin.post(f"/api/partnerships/{a_b}/end")).status_code == 200

    trail = (await a.admin.get("/api/audit", params={"limit": 100})).json()["items"]
    ended = {
        e["action"]: e
        for e in trail
        if e["partnership_id"] == a_b and not e["action"].startswith("partnership.")
    }
    assert set(ended) == {
        "resource.shared_with_removed",
        "grant.revoked",
        "resource.forward_cut",
        "reuse_request.closed",
    }
    revoked = ended["grant.revoked"]
    assert revoked["actor"] is None  # the end of the partnership took it, nobody withdrew it
    assert revoked["resource_id"] == plan
    assert revoked["other_school"]["name"] == "Naryn Village School"
    assert revoked["details"] == {
        "grant_id": grant_id,
        "scope": "share",
        "reason": "partnership_ended",
        "forwards_cut": 1,
    }
    removed = ended["resource.shared_with_removed"]
    assert (removed["resource_id"], removed["other_school"]["name"]) == (
        chosen,
        "Naryn Village School",
    )
    assert removed["details"] == {"reason": "partnership_ended"}
    cut = ended["resource.forward_cut"]
    assert cut["other_school"]["name"] == "Talas Gymnasium"
    assert cut["details"]["reason"] == "partnership_ended"
    assert cut["details"]["to_school_id"] == str(d.id)
    closed = ended["reuse_request.closed"]
    assert closed["reuse_request_id"] == pending.json()["id"]
    assert closed["details"]["scope"] == "adapt"
    assert "ended" in closed["details"]["reason"]


async def test_outgoing_requests_hide_the_title_of_a_resource_the_school_no_longer_reads(
    ground: Ground,
) -> None:
    a = await ground.school("Osh School 5")
    b = await ground.school("Naryn Village School")
    a_b = await _partners(a, b)
    chosen = await _resource(
        a.admin,
        title="Staff appraisal policy",
        kind="policy",
        visibility="selected",
        shared_with=[b],
    )
    asked = await b.admin.post(
        f"/api/resources/{chosen}/reuse-requests",
        json={"scope": "adapt", "purpose": "Our own policy", "audience": "Our staff"},
    )
    assert asked.status_code == 201, asked.text
    outgoing = (await b.admin.get("/api/reuse-requests", params={"direction": "outgoing"})).json()
    assert [item["resource"]["title"] for item in outgoing["items"]] == ["Staff appraisal policy"]

    await a.admin.post(f"/api/partnerships/{a_b}/end")

    outgoing = (await b.admin.get("/api/reuse-requests", params={"direction": "outgoing"})).json()
    (item,) = outgoing["items"]
    assert item["resource"]["title"] == "a resource you can no longer read"
    assert item["resource"]["readable"] is False
    assert item["resource"]["id"] == chosen
    one = (await b.admin.get(f"/api/reuse-requests/{asked.json()['id']}")).json()
    assert one["resource"]["title"] == "a resource you can no longer read"
    # The owner still sees its own title.
    incoming = (await a.admin.get("/api/reuse-requests", params={"direction": "incoming"})).json()
    assert [i["resource"]["title"] for i in incoming["items"]] == ["Staff appraisal policy"]


async def test_the_migration_ends_what_a_past_partnership_end_left_standing(
    ground: Ground, clock: ManualClock
) -> None:
    # What an end before this fix left: the status changed, nothing else; then the two
    # schools partnered again and everything came back.
    a = await ground.school("Osh School 5")
    b = await ground.school("Naryn Village School")
    d = await ground.school("Talas Gymnasium")
    old = await ground.partnership(a, b)
    await ground.partnership(b, d)
    plan = await _resource(a.admin, title="Fractions for grade 5")
    chosen = await _resource(a.admin, title="Reading club", visibility="selected", shared_with=[b])
    grant_id = await _share_grant(b.admin, a.admin, plan)
    forwarded = await b.admin.post(f"/api/resources/{plan}/forward", json={"school_id": str(d.id)})
    assert forwarded.status_code == 201, forwarded.text
    clock.advance(timedelta(hours=1))
    async with ground.session() as session:
        partnership = await session.get_one(Partnership, old)
        partnership.status, partnership.open_pair = "ended", None
        partnership.closed_at = clock.now()
        await session.commit()
    clock.advance(timedelta(hours=1))
    await ground.partnership(b, a)
    assert (await d.admin.get(f"/api/resources/{plan}")).status_code == 200
    assert (await b.admin.get(f"/api/resources/{chosen}")).status_code == 200

    async with ground.session() as session:
        for statement in migration("0011_partnership_end_is_final").REPAIR_PAST_ENDS:
            await session.execute(text(statement))
        await session.commit()

    assert_problem(await d.admin.get(f"/api/resources/{plan}"), 404)
    assert_problem(await b.admin.get(f"/api/resources/{chosen}"), 404)
    assert (await b.admin.get(f"/api/resources/{plan}")).status_code == 200
    grants = (await a.admin.get(f"/api/resources/{plan}/grants")).json()["items"]
    (grant,) = [g for g in grants if g["id"] == grant_id]
    assert (grant["status"], grant["revoked_reason"]) == ("revoked", "partnership_ended")
    chain = (await a.admin.get(f"/api/resources/{plan}/forwards")).json()["forwards"]
    assert [(f["standing"], f["cut_at"] is not None) for f in chain] == [(False, True)]
    assert (await a.admin.get(f"/api/resources/{chosen}")).json()["shared_with"] == []
