"""Activities of a partnership and their evaluations: planned, changed, done or cancelled,
evaluated once by each school; read by the two schools only, each writing its own part;
kept as a record, unchanged, once the partnership ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from exchange.activities.reminders import remind_evaluations
from tests.actors import Actor
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, QuickSchool, ground, upload
from tests.partnering import GOALS, invite
from tests.problems import assert_problem

# On SQLite and PostgreSQL: activities are read and written under the partnership rules, in SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]


async def _partners(inviter: QuickSchool, invitee: QuickSchool) -> str:
    invitation = await invite(inviter.admin, invitee.id)
    assert invitation.status_code == 201, invitation.text
    partnership_id = str(invitation.json()["id"])
    accepted = await invitee.admin.post(f"/api/partnerships/{partnership_id}/accept")
    assert accepted.status_code == 200, accepted.text
    return partnership_id


def _meeting(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "meeting",
        "title": "First meeting of the two staffs",
        "starts_on": "2027-02-10",
        "ends_on": "2027-02-11",
        "goals": [GOALS[0]],
        **fields,
    }


def _evaluation(**fields: Any) -> dict[str, Any]:
    return {
        "went_well": "The teachers met each other's classes.",
        "to_change": "Start earlier in the morning.",
        "goal_progress": {GOALS[0]: 4},
        "continue": True,
        **fields,
    }


async def _inbox_kinds(actor: Actor) -> list[str]:
    response = await actor.get("/api/notifications", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [item["kind"] for item in response.json()["items"]]


async def _plan(actor: Actor, partnership_id: str, **fields: Any) -> dict[str, Any]:
    response = await actor.post(
        f"/api/partnerships/{partnership_id}/activities", json=_meeting(**fields)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_activity_is_planned_changed_done_and_evaluated_once_by_each_school(
    ground: Ground,
) -> None:
    a, b = await ground.school("Naryn school"), await ground.school("Bishkek school")
    partnership_id = await _partners(a, b)
    a_teacher, b_teacher = await a.teacher("Aida Teacher"), await b.teacher("Bakyt Teacher")

    planned = await _plan(
        a.admin,
        partnership_id,
        responsible_member_ids=[str(a_teacher.member_id)],
        description="  Meet \u202eand plan\u200b the year.  ",
    )
    assert planned["status"] == "planned"
    assert planned["host_school_id"] == str(a.id)
    assert planned["description"] == "Meet and plan the year."
    assert planned["goals"] == [GOALS[0]]
    assert planned["responsible_member_ids"] == [str(a_teacher.member_id)]
    assert planned["awaiting_evaluation_from"] == []
    activity = planned["id"]
    assert "activity.planned" in await _inbox_kinds(a_teacher)

    # The partner school's admin names its own member; A's stays.
    changed = await b.admin.patch(
        f"/api/activities/{activity}",
        json={"responsible_member_ids": [str(b_teacher.member_id)], "title": "Staff meeting"},
    )
    assert changed.status_code == 200, changed.text
    assert set(changed.json()["responsible_member_ids"]) == {
        str(a_teacher.member_id),
        str(b_teacher.member_id),
    }
    assert changed.json()["title"] == "Staff meeting"
    assert "activity.changed" in await _inbox_kinds(a_teacher)
    assert "activity.changed" in await _inbox_kinds(b_teacher)

    listed = await b_teacher.get(f"/api/partnerships/{partnership_id}/activities")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [activity]

    too_early = await a_teacher.post(f"/api/activities/{activity}/evaluations", json=_evaluation())
    assert_problem(too_early, 409)

    done = await a_teacher.post(f"/api/activities/{activity}/done")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert set(done.json()["awaiting_evaluation_from"]) == {str(a.id), str(b.id)}

    waiting = (await b.admin.get("/api/dashboard")).json()["activities_waiting_for_evaluation"]
    assert waiting == {"total": 1, "from_your_school": 1}

    evaluated = await a_teacher.post(f"/api/activities/{activity}/evaluations", json=_evaluation())
    assert evaluated.status_code == 201, evaluated.text
    assert evaluated.json()["awaiting_evaluation_from"] == [str(b.id)]
    (evaluation,) = evaluated.json()["evaluations"]
    assert evaluation["school_id"] == str(a.id)
    assert evaluation["goal_progress"] == {GOALS[0]: 4}
    assert evaluation["continue"] is True

    for school, from_yours in ((a, 0), (b, 1)):
        dashboard = (await school.admin.get("/api/dashboard")).json()
        assert dashboard["activities_waiting_for_evaluation"] == {
            "total": 1,
            "from_your_school": from_yours,
        }

    twice = await a.admin.post(f"/api/activities/{activity}/evaluations", json=_evaluation())
    assert_problem(twice, 409)

    partner = await b_teacher.post(
        f"/api/activities/{activity}/evaluations", json=_evaluation(**{"continue": False})
    )
    assert partner.status_code == 201, partner.text
    assert partner.json()["awaiting_evaluation_from"] == []
    assert {e["school_id"] for e in partner.json()["evaluations"]} == {str(a.id), str(b.id)}
    dashboard = (await a.admin.get("/api/dashboard")).json()
    assert dashboard["activities_waiting_for_evaluation"] == {"total": 0, "from_your_school": 0}

    # Done is final: no change, no cancel.
    assert_problem(await a.admin.post(f"/api/activities/{activity}/cancel"), 409)
    assert_problem(await a.admin.patch(f"/api/activities/{activity}", json={"title": "X"}), 409)
    assert_problem(await a.admin.post(f"/api/activities/{activity}/done"), 409)


async def test_a_cancelled_activity_tells_its_members_and_stays_cancelled(ground: Ground) -> None:
    a, b = await ground.school(), await ground.school()
    partnership_id = await _partners(a, b)
    b_teacher = await b.teacher()
    planned = await _plan(
        b_teacher, partnership_id, responsible_member_ids=[str(b_teacher.member_id)]
    )
    cancelled = await a.admin.post(f"/api/activities/{planned['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert "activity.cancelled" in await _inbox_kinds(b_teacher)
    assert_problem(await a.admin.post(f"/api/activities/{planned['id']}/done"), 409)
    evaluation = await b_teacher.post(
        f"/api/activities/{planned['id']}/evaluations", json=_evaluation()
    )
    assert_problem(evaluation, 409)


async def test_dates_goals_hosts_and_progress_are_checked(ground: Ground) -> None:
    a, b = await ground.school(), await ground.school()
    stranger = await ground.school()
    partnership_id = await _partners(a, b)
    url = f"/api/partnerships/{partnership_id}/activities"

    backwards = await a.admin.post(url, json=_meeting(starts_on="2027-03-02", ends_on="2027-03-01"))
    assert assert_problem(backwards, 422)["errors"][0]["field"] == "ends_on"
    not_a_date = await a.admin.post(url, json=_meeting(starts_on="2027-02-30"))
    assert not_a_date.status_code in {400, 422}
    assert not_a_date.headers["content-type"].startswith("application/problem+json")
    other_goal = await a.admin.post(url, json=_meeting(goals=["Win the football cup"]))
    assert assert_problem(other_goal, 422)["errors"][0]["field"] == "goals"
    third_host = await a.admin.post(url, json=_meeting(host_school_id=str(stranger.id)))
    assert assert_problem(third_host, 422)["errors"][0]["field"] == "host_school_id"
    tasks_of_a_meeting = await a.admin.post(url, json=_meeting(tasks=[{"title": "Write tests"}]))
    assert assert_problem(tasks_of_a_meeting, 422)["errors"][0]["field"] == "tasks"
    blank_title = await a.admin.post(url, json=_meeting(title="\u200b \u202e"))
    assert_problem(blank_title, 422)
    long_title = await a.admin.post(url, json=_meeting(title="x" * 301))
    assert long_title.status_code in {400, 422}

    one_day = await _plan(a.admin, partnership_id, ends_on=None)
    assert one_day["ends_on"] == one_day["starts_on"]
    # A planned activity whose day is past asks to be marked done or cancelled: past on
    # Bishkek's clocks (UTC+6), 23:30 there is still its day, 00:30 the next is not.
    ground.clock.set(datetime(2027, 2, 10, 17, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    assert (await a.admin.get(f"/api/activities/{one_day['id']}")).json()["past_due"] is False
    ground.clock.set(datetime(2027, 2, 10, 18, 30, tzinfo=UTC))  # type: ignore[attr-defined]
    assert (await a.admin.get(f"/api/activities/{one_day['id']}")).json()["past_due"] is True
    moved = await a.admin.patch(f"/api/activities/{one_day['id']}", json={"ends_on": "2027-01-01"})
    assert assert_problem(moved, 422)["errors"][0]["field"] == "ends_on"

    closed = await a.admin.post(f"/api/activities/{one_day['id']}/done")
    assert closed.status_code == 200
    assert closed.json()["past_due"] is False
    wrong_goal = await a.admin.post(
        f"/api/activities/{one_day['id']}/evaluations",
        json=_evaluation(goal_progress={GOALS[1]: 3}),
    )
    assert assert_problem(wrong_goal, 422)["errors"][0]["field"] == "goal_progress"
    out_of_range = await a.admin.post(
        f"/api/activities/{one_day['id']}/evaluations",
        json=_evaluation(goal_progress={GOALS[0]: 6}),
    )
    assert out_of_range.status_code in {400, 422}
    # Nothing half-written: the school can still evaluate once.
    fine = await a.admin.post(f"/api/activities/{one_day['id']}/evaluations", json=_evaluation())
    assert fine.status_code == 201, fine.text


async def test_each_school_writes_only_its_own_part(ground: Ground) -> None:
    a, b = await ground.school(), await ground.school()
    partnership_id = await _partners(a, b)
    a_teacher, b_teacher = await a.teacher(), await b.teacher()
    url = f"/api/partnerships/{partnership_id}/activities"

    naming_theirs = await a.admin.post(
        url, json=_meeting(responsible_member_ids=[str(b_teacher.member_id)])
    )
    assert assert_problem(naming_theirs, 422)["errors"][0]["field"] == "responsible_member_ids"
    # A teacher plans only by naming themselves responsible.
    assert_problem(await a_teacher.post(url, json=_meeting()), 403)

    project = await _plan(
        a.admin,
        partnership_id,
        kind="joint_project",
        responsible_member_ids=[str(a_teacher.member_id)],
        tasks=[
            {
                "title": "Write the grade 7 assessment methods",
                "owner_member_id": str(a_teacher.member_id),
                "due_on": "2027-03-01",
            }
        ],
    )
    activity = f"/api/activities/{project['id']}"
    # B's admin adds B's tasks; A's task stays; B cannot give a task to A's member.
    b_tasks = await b.admin.patch(
        activity, json={"tasks": [{"title": "Write the grade 8 methods", "done": True}]}
    )
    assert b_tasks.status_code == 200, b_tasks.text
    assert sorted((t["school_id"], t["title"]) for t in b_tasks.json()["tasks"]) == sorted(
        [
            (str(a.id), "Write the grade 7 assessment methods"),
            (str(b.id), "Write the grade 8 methods"),
        ]
    )
    assigning_theirs = await b.admin.patch(
        activity,
        json={"tasks": [{"title": "Yours", "owner_member_id": str(a_teacher.member_id)}]},
    )
    assert assert_problem(assigning_theirs, 422)["errors"][0]["field"] == "tasks"
    # A teacher of B not responsible for it changes nothing.
    assert_problem(await b_teacher.patch(activity, json={"title": "Ours now"}), 403)
    assert_problem(await b_teacher.post(f"{activity}/cancel"), 403)

    assert (await a_teacher.post(f"{activity}/done")).status_code == 200
    # B's teacher is not responsible: B's admin evaluates for B.
    assert_problem(await b_teacher.post(f"{activity}/evaluations", json=_evaluation()), 403)
    assert (await b.admin.post(f"{activity}/evaluations", json=_evaluation())).status_code == 201


async def test_a_linked_resource_is_shown_only_to_those_who_may_read_it(ground: Ground) -> None:
    a, b = await ground.school(), await ground.school()
    partnership_id = await _partners(a, b)
    shared = await upload(a.admin, title="Shared fractions plan", visibility="partners")
    private = await upload(a.admin, title="Our staff rota", visibility="school")
    assert shared.status_code == 201 and private.status_code == 201
    shared_id, private_id = shared.json()["id"], private.json()["id"]
    b_private = await upload(b.admin, title="Bishkek inner plan", visibility="school")
    b_private_id = b_private.json()["id"]

    planned = await _plan(a.admin, partnership_id, resource_ids=[shared_id, private_id])
    assert planned["resource_ids"] == [shared_id, private_id]
    activity = f"/api/activities/{planned['id']}"

    seen_by_b = (await b.admin.get(activity)).json()
    assert seen_by_b["resource_ids"] == [shared_id]
    assert [r["title"] for r in seen_by_b["resources"]] == ["Shared fractions plan"]
    assert "Our staff rota" not in (await b.admin.get(activity)).text

    # B cannot link what it may not read, and does not unlink what it cannot see.
    refused = await b.admin.patch(activity, json={"resource_ids": [private_id]})
    assert assert_problem(refused, 422)["errors"][0]["field"] == "resource_ids"
    replaced = await b.admin.patch(activity, json={"resource_ids": [b_private_id]})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["resource_ids"] == [b_private_id]
    assert (await a.admin.get(activity)).json()["resource_ids"] == [private_id]


async def test_a_stranger_school_is_told_404_on_every_route(ground: Ground) -> None:
    a, b = await ground.school(), await ground.school()
    stranger = await ground.school()
    partnership_id = await _partners(a, b)
    planned = await _plan(a.admin, partnership_id)
    activity = f"/api/activities/{planned['id']}"
    assert (await a.admin.post(f"{activity}/done")).status_code == 200
    outsider = stranger.admin
    for response in (
        await outsider.get(f"/api/partnerships/{partnership_id}/activities"),
        await outsider.post(f"/api/partnerships/{partnership_id}/activities", json=_meeting()),
        await outsider.get(activity),
        await outsider.patch(activity, json={"title": "Mine"}),
        await outsider.post(f"{activity}/done"),
        await outsider.post(f"{activity}/cancel"),
        await outsider.post(f"{activity}/evaluations", json=_evaluation()),
    ):
        body = assert_problem(response, 404)
        assert "First meeting" not in body["detail"]


async def test_an_ended_partnership_keeps_its_activities_as_a_record(ground: Ground) -> None:
    a, b = await ground.school(), await ground.school()
    partnership_id = await _partners(a, b)
    planned = await _plan(a.admin, partnership_id)
    done = await _plan(a.admin, partnership_id, title="Open day")
    activity, finished = f"/api/activities/{planned['id']}", f"/api/activities/{done['id']}"
    assert (await a.admin.post(f"{finished}/done")).status_code == 200
    ended = await b.admin.post(f"/api/partnerships/{partnership_id}/end")
    assert ended.status_code == 200, ended.text

    for school in (a, b):
        listed = await school.admin.get(f"/api/partnerships/{partnership_id}/activities")
        assert listed.status_code == 200
        assert {item["title"] for item in listed.json()["items"]} == {
            "First meeting of the two staffs",
            "Open day",
        }
        assert (await school.admin.get(activity)).status_code == 200
    for response in (
        await a.admin.post(f"/api/partnerships/{partnership_id}/activities", json=_meeting()),
        await a.admin.patch(activity, json={"title": "Later"}),
        await b.admin.post(f"{activity}/done"),
        await b.admin.post(f"{activity}/cancel"),
        await b.admin.post(f"{finished}/evaluations", json=_evaluation()),
    ):
        body = assert_problem(response, 409)
        assert "ended" in body["detail"]
    assert (await a.admin.get(activity)).json()["title"] == "First meeting of the two staffs"


async def _notices(actor: Actor, kind: str) -> list[dict[str, Any]]:
    response = await actor.get("/api/notifications", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [item for item in response.json()["items"] if item["kind"] == kind]


async def test_a_week_after_it_is_done_the_schools_still_to_evaluate_are_reminded_once(
    ground: Ground, clock: ManualClock
) -> None:
    a, b = await ground.school("Naryn school"), await ground.school("Osh school")
    partnership_id = await _partners(a, b)
    a_teacher, b_teacher = await a.teacher("Aida Teacher"), await b.teacher("Bakyt Teacher")
    russian = await b_teacher.patch("/api/me", json={"language": "ru"})
    assert russian.status_code == 200, russian.text
    activity = (
        await _plan(
            a.admin,
            partnership_id,
            starts_on=clock.now().date().isoformat(),
            ends_on=clock.now().date().isoformat(),
            responsible_member_ids=[str(a_teacher.member_id)],
        )
    )["id"]
    named = await b.admin.patch(
        f"/api/activities/{activity}", json={"responsible_member_ids": [str(b_teacher.member_id)]}
    )
    assert named.status_code == 200, named.text
    assert (await a_teacher.post(f"/api/activities/{activity}/done")).status_code == 200

    # A school that evaluates within the week is not reminded.
    clock.advance(timedelta(days=3))
    evaluated = await a_teacher.post(f"/api/activities/{activity}/evaluations", json=_evaluation())
    assert evaluated.status_code == 201, evaluated.text
    clock.advance(timedelta(days=3, hours=23))
    await ground.run_escalation()
    assert await _notices(b_teacher, "activity.evaluation_due") == []

    clock.advance(timedelta(hours=2))
    await ground.run_escalation()
    (reminder,) = await _notices(b_teacher, "activity.evaluation_due")
    assert reminder["subject_id"] == activity
    assert "First meeting of the two staffs" in reminder["message"]
    assert "отмечено как проведённое" in reminder["message"]  # her language: Russian
    assert await _notices(a_teacher, "activity.evaluation_due") == []
    assert await _notices(b.admin, "activity.evaluation_due") == []

    # Once: later runs, and two workers at once, remind nobody again.
    clock.advance(timedelta(days=7))
    await ground.run_escalation()
    async with ground.session() as first, ground.session() as second:
        assert await asyncio.gather(
            remind_evaluations(first, clock), remind_evaluations(second, clock)
        ) == [0, 0]
    assert len(await _notices(b_teacher, "activity.evaluation_due")) == 1


async def test_a_school_that_named_nobody_is_reminded_through_its_admins_and_only_once(
    ground: Ground, clock: ManualClock
) -> None:
    a, b = await ground.school("Bishkek school"), await ground.school("Naryn school")
    partnership_id = await _partners(a, b)
    activities = []
    for number in range(3):
        planned = await _plan(
            a.admin,
            partnership_id,
            title=f"Open day number {number}",
            starts_on=clock.now().date().isoformat(),
            ends_on=clock.now().date().isoformat(),
        )
        assert (await a.admin.post(f"/api/activities/{planned['id']}/done")).status_code == 200
        activities.append(planned["id"])
    clock.advance(timedelta(days=8))
    async with ground.session() as first, ground.session() as second:
        counts = await asyncio.gather(
            remind_evaluations(first, clock), remind_evaluations(second, clock)
        )
    assert sum(counts) == 3
    for school in (a, b):
        reminders = await _notices(school.admin, "activity.evaluation_due")
        assert sorted(r["subject_id"] for r in reminders) == sorted(activities)
        assert all("has not evaluated it yet" in r["message"] for r in reminders)
