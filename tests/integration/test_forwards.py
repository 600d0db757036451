"""Forwarding (rules 6 and 7): only under a share grant, only to one's own partner,
never confidential; the chain is recorded, and cutting the grant cuts the access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange.models import AuditEvent
from exchange.search.index import SearchIndex
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, can_read, grant_by_request, ground, sister_schools
from tests.problems import assert_problem
from tests.searching import search, titles

# On SQLite and PostgreSQL: grants and forwards are SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]


async def test_a_share_grant_lets_the_partner_pass_it_to_its_own_partner(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    c = await ground.school("Talas Gymnasium")
    await ground.partnership(cast.b, c)
    d = await ground.school("Another partner of A")
    await ground.partnership(cast.a, d)
    assert not await can_read(ground, c, cast.resource_id)
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "share")

    response = await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    assert response.status_code == 201, response.text
    hop = response.json()
    assert [s["name"] for s in hop["path"]] == [
        "Osh School 5",
        "Naryn Village School",
        "Talas Gymnasium",
    ]
    assert hop["standing"] is True
    assert await can_read(ground, c, cast.resource_id)
    assert (await c.admin.get(f"/api/resources/{cast.resource_id}/grants")).status_code == 200

    owner_view = (await cast.a.admin.get(f"/api/resources/{cast.resource_id}/forwards")).json()
    assert [f["to_school"]["name"] for f in owner_view["forwards"]] == ["Talas Gymnasium"]
    for involved in (cast.b.admin, c.admin):
        view = (await involved.get(f"/api/resources/{cast.resource_id}/forwards")).json()
        assert len(view["forwards"]) == 1
    bystander = (await d.admin.get(f"/api/resources/{cast.resource_id}/forwards")).json()
    assert bystander["forwards"] == []
    events = await ground.all(select(AuditEvent).where(AuditEvent.action == "resource.forwarded"))
    assert len(events) == 1
    assert events[0].owner_school_id == cast.a.id  # type: ignore[attr-defined]
    assert events[0].other_school_id == c.id  # type: ignore[attr-defined]


async def test_forwarding_without_a_share_grant_names_rule_7_and_the_next_step(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    c = await ground.school()
    await ground.partnership(cast.b, c)
    body = assert_problem(
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
        ),
        403,
        rule=7,
    )
    assert "Ask the authors for permission to share it." in body["detail"]
    # An adapt grant is not a share grant.
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "adapt")
    assert_problem(
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
        ),
        403,
        rule=7,
    )
    refused = await ground.all(
        select(AuditEvent).where(AuditEvent.action == "resource.forward_refused")
    )
    assert len(refused) == 2
    for entry in refused:
        assert entry.outcome == "refused"  # type: ignore[attr-defined]
        assert entry.details == {"rule": 7}  # type: ignore[attr-defined]
        assert entry.owner_school_id == cast.a.id  # type: ignore[attr-defined]
        assert entry.other_school_id == c.id  # type: ignore[attr-defined]
        assert entry.actor_member_id == cast.b_teacher.member_id  # type: ignore[attr-defined]


async def test_forwarding_only_goes_to_an_active_partner_of_the_forwarder(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    invited_only = await ground.school()
    await ground.partnership(cast.b, invited_only, status="invited")
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "share")
    for target in (cast.s.id, invited_only.id):
        assert_problem(
            await cast.b_teacher.post(
                f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(target)}
            ),
            403,
            rule=7,
        )
    # The owner school itself already reads it; the owner shares by visibility instead.
    assert_problem(
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(cast.a.id)}
        ),
        409,
    )
    assert_problem(
        await cast.a.admin.post(
            f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(cast.b.id)}
        ),
        422,
    )


async def test_a_confidential_resource_is_never_forwarded(ground: Ground) -> None:
    cast = await sister_schools(ground, kind="policy", confidential=True)
    c = await ground.school()
    await ground.partnership(cast.b, c)
    assert_problem(
        await cast.b.admin.post(
            f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
        ),
        403,
        rule=6,
    )


async def test_revoking_the_share_grant_cuts_the_access_it_forwarded(ground: Ground) -> None:
    cast = await sister_schools(ground)
    c = await ground.school("Talas Gymnasium")
    await ground.partnership(cast.b, c)
    grant_id = await grant_by_request(
        ground, cast.b_teacher, cast.author, cast.resource_id, "share"
    )
    await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    revoke_url = f"/api/resources/{cast.resource_id}/grants/{grant_id}/revoke"
    assert_problem(await cast.b.admin.post(revoke_url), 403)
    assert_problem(await cast.colleague.post(revoke_url), 403)
    assert_problem(await c.admin.post(revoke_url), 404)
    revoked = await cast.author.post(revoke_url)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert not await can_read(ground, c, cast.resource_id)
    assert_problem(await c.admin.get(f"/api/resources/{cast.resource_id}/grants"), 404)
    assert await can_read(ground, cast.b, cast.resource_id)  # B itself still reads it
    chain = (await cast.a.admin.get(f"/api/resources/{cast.resource_id}/forwards")).json()
    assert chain["forwards"][0]["standing"] is False
    assert "withdrawn" in chain["forwards"][0]["cut_reason"]
    assert_problem(await cast.a.admin.post(revoke_url), 409)
    events = await ground.all(select(AuditEvent).where(AuditEvent.action == "grant.revoked"))
    assert events[0].details == {  # type: ignore[attr-defined]
        "grant_id": str(grant_id),
        "scope": "share",
        "reason": "withdrawn",
        "forwards_cut": 1,
    }
    assert events[0].actor_member_id == cast.author.member_id  # type: ignore[attr-defined]
    assert events[0].partnership_id is None  # type: ignore[attr-defined]
    # A later grant does not bring back the forward that was cut; a new forward would.
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "share")
    assert not await can_read(ground, c, cast.resource_id)


async def test_an_expired_share_grant_cuts_the_forward_without_any_job(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    c = await ground.school()
    await ground.partnership(cast.b, c)
    await grant_by_request(
        ground,
        cast.b_teacher,
        cast.a.admin,
        cast.resource_id,
        "share",
        expires_at=clock.now() + timedelta(days=30),
    )
    await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    clock.advance(timedelta(days=29))
    assert await can_read(ground, c, cast.resource_id)
    clock.advance(timedelta(days=2))
    assert not await can_read(ground, c, cast.resource_id)
    grants = (await cast.a.admin.get(f"/api/resources/{cast.resource_id}/grants")).json()["items"]
    assert grants[0]["status"] == "expired"
    chain = (await cast.a.admin.get(f"/api/resources/{cast.resource_id}/forwards")).json()
    assert "expired" in chain["forwards"][0]["cut_reason"]
    # Once expired, B cannot forward again.
    d = await ground.school()
    await ground.partnership(cast.b, d)
    assert_problem(
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(d.id)}
        ),
        403,
        rule=7,
    )


async def test_a_chain_of_forwards_and_cutting_it_upstream(ground: Ground) -> None:
    cast = await sister_schools(ground)
    c = await ground.school("C school")
    d = await ground.school("D school")
    await ground.partnership(cast.b, c)
    c_d = await ground.partnership(c, d)
    b_grant = await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "share")
    await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    # C, now a reader, asks the authors itself before passing it further.
    await grant_by_request(ground, c.admin, cast.author, cast.resource_id, "share")
    hop = await c.admin.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(d.id)}
    )
    assert hop.status_code == 201, hop.text
    assert [s["name"] for s in hop.json()["path"]] == [
        "Osh School 5",
        "Naryn Village School",
        "C school",
        "D school",
    ]
    assert await can_read(ground, d, cast.resource_id)
    chain = (await cast.a.admin.get(f"/api/resources/{cast.resource_id}/forwards")).json()
    assert len(chain["forwards"]) == 2

    # Ending C–D cuts D only.
    await ground.end_partnership(c_d)
    assert not await can_read(ground, d, cast.resource_id)
    assert await can_read(ground, c, cast.resource_id)
    # Revoking B's grant cuts C, and with it everything C passed on.
    await cast.author.post(f"/api/resources/{cast.resource_id}/grants/{b_grant}/revoke")
    assert not await can_read(ground, c, cast.resource_id)


async def test_ending_the_owner_partnership_cuts_the_forwarded_school_too(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    c = await ground.school()
    await ground.partnership(cast.b, c)
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "share")
    await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    await ground.end_partnership(cast.partnership_id)
    assert not await can_read(ground, cast.b, cast.resource_id)
    assert not await can_read(ground, c, cast.resource_id)
    chain = (await cast.a.admin.get(f"/api/resources/{cast.resource_id}/forwards")).json()
    (forward,) = chain["forwards"]
    assert forward["cut_reason"] == (
        "The partnership between Osh School 5 and Naryn Village School ended."
    )
    assert forward["cut_at"] is not None


async def test_an_open_licence_forward_lasts_as_long_as_the_licence(ground: Ground) -> None:
    cast = await sister_schools(ground, licence="cc-by")
    c = await ground.school()
    await ground.partnership(cast.b, c)
    grants = (await cast.b_teacher.get(f"/api/resources/{cast.resource_id}/grants")).json()["items"]
    assert sorted((g["scope"], g["source"], g["id"]) for g in grants) == [
        ("adapt", "licence", None),
        ("publish", "licence", None),
        ("share", "licence", None),
    ]
    forwarded = await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    assert forwarded.status_code == 201
    assert forwarded.json()["grant_id"] is None
    assert await can_read(ground, c, cast.resource_id)
    await ground.set_resource(cast.resource_id, licence="all_rights_reserved")
    assert not await can_read(ground, c, cast.resource_id)


async def test_making_a_resource_confidential_cuts_its_forwards(ground: Ground) -> None:
    cast = await sister_schools(ground)
    c = await ground.school()
    await ground.partnership(cast.b, c)
    await grant_by_request(ground, cast.b_teacher, cast.author, cast.resource_id, "share")
    await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    await ground.set_resource(cast.resource_id, confidential=True)
    assert not await can_read(ground, c, cast.resource_id)
    assert await can_read(ground, cast.b, cast.resource_id)


async def test_the_school_a_resource_is_forwarded_to_finds_it_in_search(ground: Ground) -> None:
    # The school it reaches has one partner and none of the owner's: search finds the
    # resource among what is forwarded to it, not among its partners' resources.
    cast = await sister_schools(ground, licence="cc-by", title="Manas epic for grade 7")
    c = await ground.school()
    await ground.partnership(cast.b, c)
    async with ground.session() as session:
        await SearchIndex(session).refresh(cast.resource_id)
        await session.commit()
    assert (await search(c.admin, q="manas"))["total"] == 0
    forwarded = await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    assert forwarded.status_code == 201, forwarded.text

    page = await search(c.admin, q="mana")
    assert titles(page) == ["Manas epic for grade 7"] and page["total"] == 1
    assert page["facets"]["school"][0]["value"] == str(cast.a.id)
    assert (await search(cast.s.admin, q="manas"))["total"] == 0
