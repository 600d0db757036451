"""A partnership's plan: goals, activities by status and date, evaluations and what waits
for whom; read by its two schools only, kept as a record after it ends; and a school
year's summary per goal, as JSON and as documents in the partnership's language."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from docx import Document

from tests.actors import Actor
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, QuickSchool, ground
from tests.partnering import GOALS, invite
from tests.problems import assert_problem

# On SQLite and PostgreSQL: the plan is read under the partnership rules, in SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]


@pytest.fixture
def clock(session_clock: ManualClock) -> ManualClock:
    """The apps' clock in mid-October of the 2026–2027 school year."""
    session_clock.set(datetime(2026, 10, 12, 9, 0, tzinfo=UTC))
    return session_clock


async def _partners(inviter: QuickSchool, invitee: QuickSchool, language: str = "en") -> str:
    invitation = await invite(inviter.admin, invitee.id, language=language)
    assert invitation.status_code == 201, invitation.text
    partnership_id = str(invitation.json()["id"])
    accepted = await invitee.admin.post(f"/api/partnerships/{partnership_id}/accept")
    assert accepted.status_code == 200, accepted.text
    return partnership_id


async def _plan_activity(actor: Actor, partnership_id: str, **fields: Any) -> dict[str, Any]:
    body = {"kind": "meeting", "title": "Meeting", "starts_on": "2026-10-01", "goals": [], **fields}
    response = await actor.post(f"/api/partnerships/{partnership_id}/activities", json=body)
    assert response.status_code == 201, response.text
    planned: dict[str, Any] = response.json()
    return planned


async def _done_and_evaluated(
    partnership_id: str,
    planner: Actor,
    evaluators: list[tuple[Actor, int, bool]],
    **fields: Any,
) -> str:
    activity = (await _plan_activity(planner, partnership_id, goals=[GOALS[0]], **fields))["id"]
    assert (await planner.post(f"/api/activities/{activity}/done")).status_code == 200
    for actor, progress, go_on in evaluators:
        response = await actor.post(
            f"/api/activities/{activity}/evaluations",
            json={
                "went_well": f"Went well, said with {progress}.",
                "to_change": f"Change, said with {progress}.",
                "goal_progress": {GOALS[0]: progress},
                "continue": go_on,
            },
        )
        assert response.status_code == 201, response.text
    return str(activity)


async def test_the_plan_shows_activities_by_status_and_what_waits_for_whom(
    ground: Ground, clock: ManualClock
) -> None:
    naryn, bishkek = await ground.school("Naryn school"), await ground.school("Bishkek school")
    partnership_id = await _partners(naryn, bishkek)
    naryn_teacher = await naryn.teacher("Aida Teacher")
    bishkek_teacher = await bishkek.teacher("Bakyt Teacher")

    later = await _plan_activity(
        naryn.admin, partnership_id, title="Open day", starts_on="2026-11-20", kind="open_day"
    )
    past = await _plan_activity(
        naryn.admin,
        partnership_id,
        title="Lesson visit",
        starts_on="2026-10-05",
        responsible_member_ids=[str(naryn_teacher.member_id)],
    )
    project = await _plan_activity(
        bishkek.admin,
        partnership_id,
        kind="joint_project",
        title="Assessment methods",
        starts_on="2026-10-20",
        ends_on="2026-12-20",
        tasks=[
            {
                "title": "Write the grade 7 tests",
                "owner_member_id": str(bishkek_teacher.member_id),
                "due_on": "2026-11-30",
            }
        ],
    )
    done = await _done_and_evaluated(
        partnership_id,
        naryn.admin,
        [(naryn.admin, 4, True)],
        title="First meeting",
        starts_on="2026-09-15",
    )
    cancelled = await _plan_activity(
        naryn.admin, partnership_id, title="Concert", starts_on="2026-12-01"
    )
    assert (await naryn.admin.post(f"/api/activities/{cancelled['id']}/cancel")).status_code == 200
    asked = await naryn.admin.post(
        f"/api/partnerships/{partnership_id}/questions",
        json={"question": "How do you help students who fall behind in maths?"},
    )
    assert asked.status_code == 201, asked.text

    response = await bishkek_teacher.get(f"/api/partnerships/{partnership_id}/plan")
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["goals"] == GOALS
    assert [s["name"] for s in plan["schools"]] == ["Naryn school", "Bishkek school"]
    by_status = plan["activities"]
    assert [a["title"] for a in by_status["planned"]] == [
        "Lesson visit",
        "Assessment methods",
        "Open day",
    ]
    assert [a["id"] for a in by_status["done"]] == [done]
    assert [a["id"] for a in by_status["cancelled"]] == [cancelled["id"]]
    (evaluation,) = by_status["done"][0]["evaluations"]
    assert evaluation["school_id"] == str(naryn.id)
    assert plan["school_years"] == [2026]

    waiting = {(w["what"], w["title"], w["school_id"]): w for w in plan["waiting"]}
    assert set(waiting) == {
        ("done_or_cancelled", "Lesson visit", str(naryn.id)),
        ("evaluation", "First meeting", str(bishkek.id)),
        ("task", "Write the grade 7 tests", str(bishkek.id)),
        ("answer", "How do you help students who fall behind in maths?", str(bishkek.id)),
    }
    past_due = waiting[("done_or_cancelled", "Lesson visit", str(naryn.id))]
    assert past_due["member_ids"] == [str(naryn_teacher.member_id)]
    assert past_due["activity_id"] == past["id"] and past_due["due_on"] == "2026-10-05"
    task = waiting[("task", "Write the grade 7 tests", str(bishkek.id))]
    assert task["member_ids"] == [str(bishkek_teacher.member_id)]
    assert task["due_on"] == "2026-11-30" and task["activity_id"] == project["id"]
    assert later["id"] not in {w["activity_id"] for w in plan["waiting"]}


async def test_only_the_two_schools_read_the_plan_and_it_stays_a_record_after_the_end(
    ground: Ground, clock: ManualClock
) -> None:
    naryn, osh = await ground.school("Naryn school"), await ground.school("Osh school")
    stranger = await ground.school("Stranger lyceum")
    partnership_id = await _partners(naryn, osh)
    await _done_and_evaluated(partnership_id, naryn.admin, [(naryn.admin, 3, True)])

    for path in ("plan", "plan/summary", "plan/summary.docx", "plan/summary.txt"):
        assert_problem(await stranger.admin.get(f"/api/partnerships/{partnership_id}/{path}"), 404)
        teacher = await stranger.teacher()
        assert_problem(await teacher.get(f"/api/partnerships/{partnership_id}/{path}"), 404)

    ended = await osh.admin.post(
        f"/api/partnerships/{partnership_id}/end", json={"note": "Moving on."}
    )
    assert ended.status_code == 200, ended.text
    for school in (naryn, osh):
        plan = (await school.admin.get(f"/api/partnerships/{partnership_id}/plan")).json()
        assert plan["status"] == "ended"
        assert len(plan["activities"]["done"]) == 1
        assert plan["waiting"] == []  # a record waits for nothing
        summary = await school.admin.get(f"/api/partnerships/{partnership_id}/plan/summary")
        assert summary.status_code == 200
    refused = await naryn.admin.post(
        f"/api/partnerships/{partnership_id}/activities",
        json={"kind": "meeting", "title": "One more", "starts_on": "2026-11-01", "goals": []},
    )
    assert_problem(refused, 409)


async def test_the_school_year_summary_gathers_each_goal_from_the_evaluations(
    ground: Ground, clock: ManualClock
) -> None:
    naryn, osh = await ground.school("Нарын мектеби"), await ground.school("Ош мектеби")
    partnership_id = await _partners(naryn, osh, language="ru")
    await _done_and_evaluated(
        partnership_id,
        naryn.admin,
        [(naryn.admin, 4, True), (osh.admin, 2, False)],
        title="Open lesson in Naryn",
        starts_on="2026-09-20",
    )
    await _done_and_evaluated(
        partnership_id,
        osh.admin,
        [(osh.admin, 5, True)],
        title="Visit to Osh",
        starts_on="2026-10-02",
    )
    # The previous school year's activity is in its own summary, not this one.
    await _done_and_evaluated(
        partnership_id,
        naryn.admin,
        [(naryn.admin, 1, True)],
        title="Spring visit",
        starts_on="2026-04-10",
    )

    response = await naryn.admin.get(f"/api/partnerships/{partnership_id}/plan/summary")
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["school_year"], summary["label"]) == (2026, "2026–2027")
    assert (summary["starts_on"], summary["ends_on"], summary["ended"]) == (
        "2026-09-01",
        "2027-08-31",
        False,
    )
    assert summary["activities_done"] == 2
    first, second = summary["goals"]
    assert (first["goal"], second["goal"]) == (GOALS[0], GOALS[1])
    assert [a["title"] for a in first["activities"]] == ["Open lesson in Naryn", "Visit to Osh"]
    assert first["evaluations"] == 3
    assert first["average_progress"] == pytest.approx(3.7)
    assert {p["school_id"]: p["average_progress"] for p in first["progress_by_school"]} == {
        str(naryn.id): 4.0,
        str(osh.id): 3.5,
    }
    assert (first["continue_yes"], first["continue_no"]) == (2, 1)
    assert {r["text"] for r in first["to_change"]} == {
        "Change, said with 4.",
        "Change, said with 2.",
        "Change, said with 5.",
    }
    assert second["activities"] == [] and second["average_progress"] is None

    last_year = (
        await osh.admin.get(
            f"/api/partnerships/{partnership_id}/plan/summary", params={"school_year": 2025}
        )
    ).json()
    assert last_year["ended"] is True
    assert [a["title"] for a in last_year["goals"][0]["activities"]] == ["Spring visit"]

    # The documents are written in the partnership's language (Russian), whoever reads them.
    text = await naryn.admin.get(f"/api/partnerships/{partnership_id}/plan/summary.txt")
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert "attachment" in text.headers["content-disposition"]
    assert "Итоги партнёрства, учебный год 2026–2027" in text.text
    assert "Open lesson in Naryn" in text.text and "Spring visit" not in text.text
    docx = await osh.admin.get(f"/api/partnerships/{partnership_id}/plan/summary.docx")
    assert docx.status_code == 200
    assert docx.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    document = Document(io.BytesIO(docx.content))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "Итоги партнёрства, учебный год 2026–2027"
    assert any(GOALS[0] in p for p in paragraphs)
    assert any("Change, said with 2." in p for p in paragraphs)

    assert_problem(
        await naryn.admin.get(
            f"/api/partnerships/{partnership_id}/plan/summary", params={"school_year": 1990}
        ),
        422,
    )
