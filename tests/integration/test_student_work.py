"""Students' work leaves its school only with consent on file.

A student's work (`kind=student_work`) is shared with partners only when its uploader
records `student_consent`: `parents` (the parents agreed) or `not_needed_anonymous` (it
names and shows no student), with who recorded it and when. Without it the work stays
at visibility `school`, every way of widening it is refused with a 422 naming the field,
and withdrawing the consent narrows it back to the school at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from exchange.models import AuditEvent, Forward, Resource
from tests.actors import Actor
from tests.clock import ManualClock
from tests.conduct_fixtures import (
    Ground,
    QuickSchool,
    can_read,
    grant_by_request,
    ground,
    identity_of,
)
from tests.problems import assert_problem

# On SQLite and PostgreSQL: consent narrows what the rules let through, in SQL, and a migration.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]

ASK_FOR_CONSENT = (
    "Record that parents agreed, or that the work is anonymous, before sharing a "
    "student's work with partners."
)


async def _upload(actor: Actor, **fields: Any) -> Any:
    """Upload through the real endpoint; a field given as None is left out."""
    data: dict[str, Any] = {"title": "Aibek's essay on Issyk-Kul", "kind": "student_work"}
    data.update(fields)
    return await actor.post(
        "/api/resources",
        data={name: value for name, value in data.items() if value is not None},
        files={"file": ("essay.txt", b"My summer at Issyk-Kul, by Aibek.\n", "text/plain")},
    )


async def _created(actor: Actor, **fields: Any) -> dict[str, Any]:
    response = await _upload(actor, **fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _refused_for_consent(response: Any) -> dict[str, Any]:
    body = assert_problem(response, 422)
    assert ASK_FOR_CONSENT in body["detail"]
    assert "student_consent" in [error["field"] for error in body["errors"]], body
    return body


async def _schools(ground: Ground) -> tuple[QuickSchool, Actor, QuickSchool]:
    a = await ground.school("Osh School 5")
    teacher = await a.teacher("Gulnara Teacher")
    b = await ground.school("Naryn Village School")
    await ground.partnership(a, b)
    return a, teacher, b


async def _consent_events(ground: Ground, resource_id: str) -> list[dict[str, Any]]:
    events = await ground.all(
        select(AuditEvent)
        .where(
            AuditEvent.resource_id == UUID(resource_id),
            AuditEvent.action == "resource.student_consent_changed",
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return [dict(event.details) for event in events]  # type: ignore[attr-defined]


async def _stored_resources(ground: Ground) -> int:
    return len(await ground.all(select(Resource.id)))


# --- uploading --------------------------------------------------------------------------


async def test_a_students_work_without_consent_stays_in_its_school(ground: Ground) -> None:
    _a, teacher, b = await _schools(ground)

    work = await _created(teacher)

    assert work["visibility"] == "school"
    assert work["student_consent"] is None
    assert work["student_consent_recorded_by"] is None
    assert work["student_consent_recorded_at"] is None
    assert not await can_read(ground, b, UUID(work["id"]))
    assert_problem(await b.admin.get(f"/api/resources/{work['id']}"), 404)
    # Any other kind keeps the default, visibility `partners`.
    plan = await _created(teacher, kind="lesson_plan", title="Fractions")
    assert plan["visibility"] == "partners"


async def test_sharing_a_students_work_without_consent_is_refused(ground: Ground) -> None:
    _a, teacher, b = await _schools(ground)

    for fields in (
        {"visibility": "partners"},
        {"visibility": "selected", "shared_with": str(b.id)},
        {"visibility": "partners", "student_consent": ""},
    ):
        _refused_for_consent(await _upload(teacher, **fields))

    assert await _stored_resources(ground) == 0


async def test_an_unknown_consent_is_refused_naming_the_field(ground: Ground) -> None:
    _a, teacher, _b = await _schools(ground)

    body = assert_problem(await _upload(teacher, student_consent="teacher_said_so"), 422)

    assert [e["field"] for e in body["errors"]] == ["student_consent"]
    assert "'parents'" in body["detail"] and "'not_needed_anonymous'" in body["detail"]
    assert await _stored_resources(ground) == 0


async def test_with_consent_on_file_a_students_work_is_shared_and_the_record_kept(
    ground: Ground,
) -> None:
    _a, teacher, b = await _schools(ground)

    work = await _created(teacher, visibility="partners", student_consent="parents")
    anonymous = await _created(teacher, student_consent="not_needed_anonymous")

    assert work["visibility"] == "partners"
    assert work["student_consent"] == "parents"
    assert work["student_consent_recorded_by"] == {
        "id": str(teacher.member_id),
        "full_name": "Gulnara Teacher",
    }
    assert datetime.fromisoformat(work["student_consent_recorded_at"]) == ground.clock.now()
    # With consent on file the default visibility is the usual one.
    assert anonymous["visibility"] == "partners"
    assert anonymous["student_consent"] == "not_needed_anonymous"
    seen = (await b.admin.get(f"/api/resources/{work['id']}")).json()
    assert seen["student_consent"] == "parents"
    assert await _consent_events(ground, work["id"]) == [
        {"student_consent": "parents", "previous": None}
    ]


# --- changing it ------------------------------------------------------------------------


async def test_widening_a_students_work_needs_consent_in_every_way(ground: Ground) -> None:
    _a, teacher, b = await _schools(ground)
    work = await _created(teacher)
    plan = await _created(teacher, kind="lesson_plan", title="Our class's essays")
    url = f"/api/resources/{work['id']}"

    _refused_for_consent(await teacher.patch(url, json={"visibility": "partners"}))
    _refused_for_consent(
        await teacher.patch(url, json={"visibility": "selected", "shared_with": [str(b.id)]})
    )
    # A resource already shared with partners cannot become a student's work without it.
    _refused_for_consent(
        await teacher.patch(f"/api/resources/{plan['id']}", json={"kind": "student_work"})
    )

    assert (await teacher.get(url)).json()["visibility"] == "school"
    assert (await teacher.get(f"/api/resources/{plan['id']}")).json()["kind"] == "lesson_plan"
    shared = await teacher.patch(
        url, json={"visibility": "partners", "student_consent": "not_needed_anonymous"}
    )
    assert shared.status_code == 200, shared.text
    assert shared.json()["visibility"] == "partners"
    assert shared.json()["student_consent_recorded_by"]["id"] == str(teacher.member_id)
    assert await can_read(ground, b, UUID(work["id"]))
    assert await _consent_events(ground, work["id"]) == [
        {"student_consent": "not_needed_anonymous", "previous": None}
    ]


async def test_a_change_of_consent_is_recorded_with_who_and_when(ground: Ground) -> None:
    a, teacher, _b = await _schools(ground)
    work = await _created(teacher, visibility="partners", student_consent="parents")
    url = f"/api/resources/{work['id']}"
    clock = ground.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(days=3))

    changed = await a.admin.patch(url, json={"student_consent": "not_needed_anonymous"})
    again = await a.admin.patch(url, json={"student_consent": "not_needed_anonymous"})

    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["student_consent"] == "not_needed_anonymous"
    assert body["student_consent_recorded_by"]["id"] == str(a.admin.member_id)
    assert body["student_consent_recorded_at"] != work["student_consent_recorded_at"]
    assert again.json()["student_consent_recorded_at"] == body["student_consent_recorded_at"]
    assert await _consent_events(ground, work["id"]) == [
        {"student_consent": "parents", "previous": None},
        {"student_consent": "not_needed_anonymous", "previous": "parents"},
    ]


async def test_withdrawing_consent_narrows_the_work_to_its_school_and_cuts_forwards(
    ground: Ground,
) -> None:
    _a, teacher, b = await _schools(ground)
    c = await ground.school("Talas Gymnasium")
    await ground.partnership(b, c)
    b_teacher = await b.teacher()
    work = await _created(
        teacher, visibility="selected", shared_with=str(b.id), student_consent="parents"
    )
    url = f"/api/resources/{work['id']}"
    await grant_by_request(ground, b_teacher, teacher, UUID(work["id"]), "share")
    forwarded = await b_teacher.post(f"{url}/forward", json={"school_id": str(c.id)})
    assert forwarded.status_code == 201, forwarded.text
    assert await can_read(ground, c, UUID(work["id"]))

    # Consent withdrawn while asking to stay shared: refused, nothing changes.
    _refused_for_consent(
        await teacher.patch(url, json={"student_consent": None, "visibility": "partners"})
    )
    withdrawn = await teacher.patch(url, json={"student_consent": None})

    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert (body["visibility"], body["shared_with"], body["student_consent"]) == (
        "school",
        [],
        None,
    )
    assert body["student_consent_recorded_by"]["id"] == str(teacher.member_id)
    for school in (b, c):
        assert not await can_read(ground, school, UUID(work["id"]))
        assert_problem(await school.admin.get(url), 404)
    (forward,) = await ground.all(select(Forward))
    assert forward.cut_at is not None  # type: ignore[attr-defined]
    # Recording consent again does not bring the old forward back.
    await teacher.patch(url, json={"student_consent": "parents", "visibility": "partners"})
    assert await can_read(ground, b, UUID(work["id"]))
    assert not await can_read(ground, c, UUID(work["id"]))
    assert await _consent_events(ground, work["id"]) == [
        {"student_consent": "parents", "previous": None},
        {"student_consent": None, "previous": "parents", "visibility": "school"},
        {"student_consent": "parents", "previous": None},
    ]


async def test_withdrawing_consent_revokes_the_permissions_to_pass_the_work_on(
    ground: Ground,
) -> None:
    _a, teacher, b = await _schools(ground)
    b_teacher = await b.teacher()
    work = await _created(teacher, visibility="partners", student_consent="parents")
    resource_id = UUID(work["id"])
    url = f"/api/resources/{work['id']}"
    share = await grant_by_request(ground, b_teacher, teacher, resource_id, "share")
    publish = await grant_by_request(ground, b_teacher, teacher, resource_id, "publish")
    adapt = await grant_by_request(ground, b_teacher, teacher, resource_id, "adapt")

    await teacher.patch(url, json={"student_consent": None})
    # The parents agree again: the work is shared, the old permissions stay revoked.
    await teacher.patch(url, json={"student_consent": "parents", "visibility": "partners"})

    grants = {g["id"]: g for g in (await teacher.get(f"{url}/grants")).json()["items"]}
    for revoked in (share, publish):
        assert grants[revoked]["status"] == "revoked"
        assert grants[revoked]["revoked_reason"] == "student_consent_withdrawn"
        assert "consent" in grants[revoked]["why"]
    assert grants[adapt]["status"] == "active"
    inbox = (await b_teacher.get("/api/notifications", params={"limit": 100})).json()["items"]
    told = sorted(n["payload"]["scope"] for n in inbox if n["kind"] == "grant.revoked")
    assert told == ["publish", "share"]
    assert {n["payload"]["reason"] for n in inbox if n["kind"] == "grant.revoked"} == {
        "student_consent_withdrawn"
    }
    revocations = await ground.all(
        select(AuditEvent).where(
            AuditEvent.resource_id == resource_id, AuditEvent.action == "grant.revoked"
        )
    )
    assert sorted(
        (e.details["scope"], e.details["reason"], e.details["forwards_cut"])  # type: ignore[attr-defined]
        for e in revocations
    ) == [("publish", "student_consent_withdrawn", 0), ("share", "student_consent_withdrawn", 0)]
    assert {e.actor_member_id for e in revocations} == {identity_of(teacher).member_id}  # type: ignore[attr-defined]
    forwarded = await b_teacher.post(f"{url}/forward", json={"school_id": str(uuid4())})
    assert_problem(forwarded, 403, rule=7)


# --- what leaves the receiving school ---------------------------------------------------


async def test_a_request_to_publish_a_work_whose_consent_was_withdrawn_cannot_be_approved(
    ground: Ground,
) -> None:
    _a, teacher, b = await _schools(ground)
    work = await _created(teacher, visibility="partners", student_consent="parents")
    url = f"/api/resources/{work['id']}"
    asked = {}
    for scope in ("publish", "share", "adapt"):
        response = await b.admin.post(
            f"{url}/reuse-requests",
            json={"scope": scope, "purpose": "The district's newsletter", "audience": "Parents"},
        )
        assert response.status_code == 201, response.text
        asked[scope] = response.json()["id"]

    await teacher.patch(url, json={"student_consent": None})

    for scope in ("publish", "share"):
        _refused_for_consent(
            await teacher.post(
                f"/api/reuse-requests/{asked[scope]}/decision", json={"decision": "approve"}
            )
        )
    # Adapting stays inside the receiving school: not a matter of consent.
    adapt = await teacher.post(
        f"/api/reuse-requests/{asked['adapt']}/decision", json={"decision": "approve"}
    )
    assert adapt.status_code == 200, adapt.text


# --- new versions -----------------------------------------------------------------------


async def test_a_new_version_may_record_the_consent_and_nothing_else(ground: Ground) -> None:
    _a, teacher, _b = await _schools(ground)
    work = await _created(teacher)
    url = f"/api/resources/{work['id']}/versions"
    file = {"file": ("essay-v2.txt", b"My summer at Issyk-Kul, names removed.\n", "text/plain")}

    refused = await teacher.post(url, data={"title": "A new title"}, files=file)
    recorded = await teacher.post(url, data={"student_consent": "not_needed_anonymous"}, files=file)

    assert_problem(refused, 422)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["current_version"]["number"] == 2
    assert recorded.json()["student_consent"] == "not_needed_anonymous"
    assert recorded.json()["visibility"] == "school"
    assert await _consent_events(ground, work["id"]) == [
        {"student_consent": "not_needed_anonymous", "previous": None}
    ]


async def test_a_new_file_of_a_shared_anonymous_work_must_be_anonymous_too(
    ground: Ground,
) -> None:
    _a, teacher, _b = await _schools(ground)
    work = await _created(teacher, student_consent="not_needed_anonymous")
    url = f"/api/resources/{work['id']}/versions"
    file = {"file": ("essay-v2.txt", b"My summer at Issyk-Kul, by Aibek.\n", "text/plain")}

    refused = await teacher.post(url, files=file)
    restated = await teacher.post(url, data={"student_consent": "not_needed_anonymous"}, files=file)

    body = _refused_for_consent(refused)
    assert "anonymous" in body["detail"]
    assert restated.status_code == 201, restated.text
    assert restated.json()["current_version"]["number"] == 2
    assert len(await _consent_events(ground, work["id"])) == 2


# --- the upgrade ------------------------------------------------------------------------


@pytest.mark.own_database  # takes the schema down and up again
async def test_the_upgrade_brings_students_work_shared_without_consent_home(
    ground: Ground,
) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    from exchange.models import ResourceAuthor, ResourceShare, ResourceVersion
    from exchange.schema import _run_outside_event_loop, alembic_config, upgrade

    a, teacher, b = await _schools(ground)
    recorded = await _created(teacher, visibility="partners", student_consent="parents")
    shared_work = await ground.resource(a, teacher, kind="student_work", visibility="partners")
    listed_work = await ground.resource(
        a, teacher, kind="student_work", visibility="selected", shared_with=[b]
    )
    home_work = await ground.resource(a, teacher, kind="student_work", visibility="school")
    plan = await ground.resource(a, teacher, visibility="selected", shared_with=[b])
    config = alembic_config(ground.settings)
    (before,) = [
        script.down_revision
        for script in ScriptDirectory.from_config(config).walk_revisions()
        if script.path.endswith("_student_consent.py")
    ]
    await ground.engine.dispose()

    _run_outside_event_loop(command.downgrade, config, before)
    upgrade(ground.settings)

    visibility = {
        resource_id: await ground.scalar(
            select(Resource.visibility).where(Resource.id == resource_id)
        )
        for resource_id in (shared_work, listed_work, home_work, plan)
    }
    assert visibility == {
        shared_work: "school",
        listed_work: "school",
        home_work: "school",
        plan: "selected",
    }
    shares = await ground.all(select(ResourceShare.resource_id))
    assert shares == [plan]
    # Nothing else of any resource is lost on the way (SQLite never recreates the table).
    every = (shared_work, listed_work, home_work, plan, UUID(recorded["id"]))
    assert len(await ground.all(select(ResourceVersion.id))) == len(every)
    assert sorted(await ground.all(select(ResourceAuthor.resource_id)), key=str) == sorted(
        every, key=str
    )
    # A consent recorded before the way down is gone with its columns; the work stays home.
    assert (
        await ground.scalar(select(Resource.visibility).where(Resource.id == UUID(recorded["id"])))
        == "school"
    )
    for fresh in (
        await _created(teacher, visibility="partners", student_consent="parents"),
        await _created(teacher),
    ):
        assert (await teacher.get(f"/api/resources/{fresh['id']}")).status_code == 200
    assert not await can_read(ground, b, shared_work)
    assert await can_read(ground, b, plan)
