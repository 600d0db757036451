"""The audit trail API and the download report: owner admins read what happened to
their resources; nobody else does; nothing edits it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from exchange.models import AuditEvent, Resource
from exchange.policy import cache_control_for
from exchange.resources.services import ResourceService
from tests.actors import Actor
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, grant_by_request, ground, identity_of, sister_schools
from tests.problems import assert_problem

# On SQLite and PostgreSQL: the trail is append-only by a trigger of each database, paged in SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]

ASK = {"scope": "adapt", "purpose": "Our grade 5", "audience": "Our pupils"}


async def _audited(ground: Ground, action: str) -> list[AuditEvent]:
    rows = await ground.all(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.occurred_at)
    )
    return [row for row in rows if isinstance(row, AuditEvent)]


async def _download(ground: Ground, actor: Actor, resource_id: uuid.UUID, start: int = 0) -> bool:
    """What a download (from byte `start`) records, as the GET that serves it does;
    whether it was audited."""
    before = len(await _audited(ground, "resource.downloaded"))
    async with ground.session() as session:
        store = ground.client.app.state.blob_store
        resources = ResourceService(session, ground.settings, ground.clock, store)
        resource, version = await resources.version_to_download(identity_of(actor), resource_id)
        await resources.record_download(identity_of(actor), resource, version, range_start=start)
    return len(await _audited(ground, "resource.downloaded")) > before


async def test_owner_admins_read_every_request_decision_forward_and_revocation(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    c = await ground.school()
    await ground.partnership(cast.b, c)
    grant_id = await grant_by_request(
        ground, cast.b_teacher, cast.author, cast.resource_id, "share"
    )
    clock.advance(timedelta(minutes=1))
    await cast.b_teacher.post(
        f"/api/resources/{cast.resource_id}/forward", json={"school_id": str(c.id)}
    )
    clock.advance(timedelta(minutes=1))
    await cast.a.admin.post(f"/api/resources/{cast.resource_id}/grants/{grant_id}/revoke")
    page = (await cast.a.admin.get(f"/api/audit?resource_id={cast.resource_id}")).json()
    actions = [item["action"] for item in page["items"]]
    assert actions == [
        "grant.revoked",
        "resource.forwarded",
        "reuse_request.approved",
        "reuse_request.created",
    ]
    created = page["items"][-1]
    assert created["actor"]["id"] == str(cast.b_teacher.member_id)
    assert created["actor_school"]["name"] == "Naryn Village School"
    assert created["outcome"] == "ok"
    assert created["reuse_request_id"]
    # B's admins see none of it: it is A's trail.
    assert (await cast.b.admin.get("/api/audit")).json()["items"] == []


async def test_the_trail_pages_with_a_cursor_and_filters_by_time(
    ground: Ground, clock: ManualClock
) -> None:
    cast = await sister_schools(ground)
    start = clock.now()
    for scope in ("adapt", "share", "publish"):
        clock.advance(timedelta(minutes=1))
        await cast.b_teacher.post(
            f"/api/resources/{cast.resource_id}/reuse-requests", json={**ASK, "scope": scope}
        )
    first = (await cast.a.admin.get("/api/audit?limit=2")).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = (
        await cast.a.admin.get("/api/audit", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert second["next_cursor"] is None
    seen = [i["details"]["scope"] for i in first["items"] + second["items"]]
    assert seen == ["publish", "share", "adapt"]
    since = (start + timedelta(minutes=2)).isoformat()
    recent = (await cast.a.admin.get("/api/audit", params={"since": since})).json()
    assert [i["details"]["scope"] for i in recent["items"]] == ["publish", "share"]
    assert_problem(await cast.a.admin.get("/api/audit", params={"cursor": "nonsense"}), 422)


async def test_only_owner_admins_read_the_trail_and_another_schools_resource_is_404(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground)
    assert_problem(await cast.author.get("/api/audit"), 403)
    assert_problem(await cast.b.admin.get(f"/api/audit?resource_id={cast.resource_id}"), 404)
    assert_problem(await cast.a.admin.get(f"/api/audit?resource_id={uuid.uuid4()}"), 404)
    assert (await cast.a.admin.get(f"/api/audit?resource_id={cast.resource_id}")).status_code == 200


async def test_a_deleted_resource_keeps_its_history(ground: Ground) -> None:
    cast = await sister_schools(ground)
    await cast.b_teacher.post(f"/api/resources/{cast.resource_id}/reuse-requests", json=ASK)
    async with ground.session() as session:
        await session.delete(await session.get_one(Resource, cast.resource_id))
        await session.commit()
    page = (await cast.a.admin.get(f"/api/audit?resource_id={cast.resource_id}")).json()
    assert [i["action"] for i in page["items"]] == ["reuse_request.created"]


async def test_who_downloaded_my_resource(ground: Ground) -> None:
    cast = await sister_schools(ground)
    b_admin = cast.b.admin
    assert await _download(ground, cast.b_teacher, cast.resource_id)
    assert await _download(ground, b_admin, cast.resource_id, start=0)
    # Resuming a download over a slow link is the same download.
    assert not await _download(ground, b_admin, cast.resource_id, start=65536)
    # The owner's own downloads are not other schools' downloads.
    assert not await _download(ground, cast.colleague, cast.resource_id)
    other = await ground.school("Karakol School 2")
    await ground.partnership(cast.a, other)
    assert await _download(ground, other.admin, cast.resource_id)

    url = f"/api/resources/{cast.resource_id}/downloads"
    for allowed in (cast.author, cast.a.admin):
        report = (await allowed.get(url)).json()
        assert report["total"] == 3
        assert [(s["school"]["name"], s["downloads"]) for s in report["schools"]] == [
            ("Naryn Village School", 2),
            ("Karakol School 2", 1),
        ]
        assert report["schools"][0]["last_downloaded_at"]
    assert_problem(await cast.colleague.get(url), 403)
    assert_problem(await cast.b.admin.get(url), 403)
    assert_problem(await cast.s.admin.get(url), 404)
    events = (await cast.a.admin.get(f"/api/audit?resource_id={cast.resource_id}")).json()
    assert {i["action"] for i in events["items"]} == {"resource.downloaded"}
    first = (await _audited(ground, "resource.downloaded"))[0]
    assert first.details == {"version": 1, "confidential": False, "presigned": False}
    assert first.actor_member_id == identity_of(cast.b_teacher).member_id
    assert first.other_school_id == cast.b.id


async def test_reads_of_a_confidential_resource_by_another_school_are_audited(
    ground: Ground,
) -> None:
    cast = await sister_schools(ground, kind="policy", confidential=True)
    plain = await ground.resource(cast.a, cast.author, title="Open day plan")
    # Reads are GETs: each audited one commits its entry, and nothing else.
    for reader, resource_id in (
        (cast.b_teacher, cast.resource_id),  # a partner reads the confidential one
        (cast.colleague, cast.resource_id),  # its own school does not count
        (cast.b_teacher, plain),  # nor does reading what is not confidential
    ):
        assert (await reader.get(f"/api/resources/{resource_id}")).status_code == 200
    async with ground.session() as session:
        secret = await session.get_one(Resource, cast.resource_id)
        ordinary = await session.get_one(Resource, plain)
        assert cache_control_for(secret) == "no-store"
        assert cache_control_for(ordinary) is None
    page = (await cast.a.admin.get(f"/api/audit?resource_id={cast.resource_id}")).json()
    assert [(i["action"], i["actor_school"]["name"]) for i in page["items"]] == [
        ("resource.read", "Naryn Village School")
    ]
    (read,) = await _audited(ground, "resource.read")
    assert read.details == {"what": "metadata", "confidential": True}
    assert read.actor_member_id == identity_of(cast.b_teacher).member_id
    assert read.other_school_id == cast.b.id
    assert read.owner_school_id == cast.a.id
    assert (await cast.a.admin.get(f"/api/audit?resource_id={plain}")).json()["items"] == []
