"""Questions between partner schools: asking, answering, rule 9 (overdue, escalated
once, "we cannot help now" is an answer), who may see them, and the end of a partnership."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from exchange.clock import days_later
from exchange.escalation import escalate_overdue
from tests.actors import Actor
from tests.background import PERIODIC_JOBS
from tests.clock import ManualClock
from tests.conduct_fixtures import Ground, QuickSchool, ground
from tests.problems import assert_problem

# On SQLite and PostgreSQL: questions are read under the partnership rules and escalated, in SQL.
pytestmark = pytest.mark.every_database

__all__ = ["ground"]

ASK = {"question": "How do you help students who fall behind in maths?"}


async def notices(member: Actor, kind: str) -> list[dict[str, Any]]:
    response = await member.get("/api/notifications")
    assert response.status_code == 200, response.text
    return [item for item in response.json()["items"] if item["kind"] == kind]


async def partners(ground: Ground) -> tuple[QuickSchool, QuickSchool, UUID]:
    naryn = await ground.school("Naryn Village School")
    bishkek = await ground.school("Bishkek School 61")
    return naryn, bishkek, await ground.partnership(naryn, bishkek)


async def ask(member: Actor, partnership_id: UUID, **body: Any) -> dict[str, Any]:
    response = await member.post(f"/api/partnerships/{partnership_id}/questions", json=body or ASK)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_question_reaches_the_addressed_member_and_the_answer_the_asker(
    ground: Ground, clock: ManualClock
) -> None:
    naryn, bishkek, partnership = await partners(ground)
    asker = await naryn.teacher("Aigul Asanova")
    maths = await bishkek.teacher("Bakyt Maths")
    asked = await ask(asker, partnership, **ASK, addressed_to_member_id=str(maths.member_id))
    assert asked["status"] == "open"
    assert asked["overdue"] is False
    assert asked["answers"] == []
    assert asked["addressed_to"]["full_name"] == "Bakyt Maths"
    assert asked["respond_by"].startswith(days_later(clock.now(), 14).isoformat()[:16])

    (notice,) = await notices(maths, "question.asked")
    assert "How do you help students who fall behind in maths?" in notice["message"]
    assert await notices(bishkek.admin, "question.asked") == []

    incoming = (await maths.get("/api/questions?direction=incoming")).json()
    assert [q["id"] for q in incoming["items"]] == [asked["id"]]
    outgoing = (await naryn.admin.get("/api/questions?direction=outgoing")).json()
    assert [q["id"] for q in outgoing["items"]] == [asked["id"]]
    assert (await asker.get("/api/questions?direction=incoming")).json()["items"] == []

    shared = await ground.resource(bishkek, maths, title="Catch-up maths groups")
    colleague = await bishkek.teacher()  # any member of the asked school may answer
    response = await colleague.post(
        f"/api/questions/{asked['id']}/answers",
        json={"answer": "We run catch-up groups after lessons.", "resource_ids": [str(shared)]},
    )
    assert response.status_code == 201, response.text
    answered = response.json()
    assert answered["status"] == "answered"
    assert answered["answered_at"] is not None
    (answer,) = answered["answers"]
    assert answer["answer"] == "We run catch-up groups after lessons."
    assert answer["resources"] == [
        {"id": str(shared), "title": "Catch-up maths groups", "readable": True}
    ]
    (told,) = await notices(asker, "question.answered")
    assert "We run catch-up groups after lessons." in told["message"]
    seen = (await asker.get(f"/api/questions/{asked['id']}")).json()
    assert seen["answers"][0]["resources"][0]["title"] == "Catch-up maths groups"


async def test_without_an_addressee_the_partner_admins_are_told(ground: Ground) -> None:
    naryn, bishkek, partnership = await partners(ground)
    await ask(naryn.admin, partnership)
    assert len(await notices(bishkek.admin, "question.asked")) == 1


async def test_the_addressed_member_must_belong_to_the_partner_school(ground: Ground) -> None:
    naryn, _bishkek, partnership = await partners(ground)
    own_colleague = await naryn.teacher()
    stranger = await (await ground.school("Osh School")).teacher()
    for member in (own_colleague, stranger):
        body = assert_problem(
            await naryn.admin.post(
                f"/api/partnerships/{partnership}/questions",
                json={**ASK, "addressed_to_member_id": str(member.member_id)},
            ),
            422,
        )
        assert "not a member of your partner school" in body["detail"]


async def test_an_unanswered_question_is_overdue_on_both_sides_and_escalated_once(
    ground: Ground, clock: ManualClock
) -> None:
    naryn, bishkek, partnership = await partners(ground)
    asked = await ask(await naryn.teacher(), partnership)
    clock.advance(timedelta(days=13))
    assert (await bishkek.admin.get(f"/api/questions/{asked['id']}")).json()["overdue"] is False
    assert await notices(bishkek.admin, "question.overdue") == []

    clock.advance(timedelta(days=2))
    incoming = (await bishkek.admin.get("/api/questions?direction=incoming")).json()
    assert incoming["overdue"] == 1
    assert incoming["items"][0]["overdue"] is True
    # Reading shows it overdue from its date; escalating is the periodic job's.
    assert incoming["items"][0]["escalated_at"] is None
    assert await notices(bishkek.admin, "question.overdue") == []
    assert await ground.run_escalation() == PERIODIC_JOBS
    incoming = (await bishkek.admin.get("/api/questions?direction=incoming")).json()
    assert incoming["items"][0]["escalated_at"] is not None
    outgoing = (await naryn.admin.get("/api/questions?direction=outgoing")).json()
    assert outgoing["items"][0]["overdue"] is True
    board = (await bishkek.admin.get("/api/dashboard")).json()
    assert board["incoming_questions"] == {"open": 1, "overdue": 1}
    assert board["outgoing_questions"] == {"open": 0, "overdue": 0}
    asking_board = (await naryn.admin.get("/api/dashboard")).json()
    assert asking_board["outgoing_questions"] == {"open": 1, "overdue": 1}

    # Further reads and the job, run again, find nothing more to do.
    await bishkek.admin.get(f"/api/questions/{asked['id']}")
    async with ground.session() as session:
        assert await escalate_overdue(session, clock) == 0
    clock.advance(timedelta(hours=1))
    assert await ground.run_escalation() == PERIODIC_JOBS
    (escalation,) = await notices(bishkek.admin, "question.overdue")
    assert "rule 9" in escalation["message"]
    assert await notices(naryn.admin, "question.overdue") == []


async def test_we_cannot_help_now_is_an_answer_and_silence_is_not(
    ground: Ground, clock: ManualClock
) -> None:
    naryn, bishkek, partnership = await partners(ground)
    asked = await ask(naryn.admin, partnership)
    for silence in ({}, {"answer": "   "}, {"answer": "\u200b", "resource_ids": []}):
        assert_problem(
            await bishkek.admin.post(f"/api/questions/{asked['id']}/answers", json=silence), 422
        )
    response = await bishkek.admin.post(
        f"/api/questions/{asked['id']}/answers", json={"cannot_help": True}
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "answered"
    assert response.json()["answers"][0]["cannot_help"] is True
    (told,) = await notices(naryn.admin, "question.answered")
    assert "cannot help now" in told["message"]

    clock.advance(timedelta(days=30))
    await ground.run_escalation()
    seen = (await naryn.admin.get(f"/api/questions/{asked['id']}")).json()
    assert seen["overdue"] is False
    board = (await bishkek.admin.get("/api/dashboard")).json()
    assert board["incoming_questions"] == {"open": 0, "overdue": 0}
    assert await notices(bishkek.admin, "question.overdue") == []


async def test_only_the_asked_school_answers(ground: Ground) -> None:
    naryn, _bishkek, partnership = await partners(ground)
    asked = await ask(naryn.admin, partnership)
    assert_problem(
        await naryn.admin.post(
            f"/api/questions/{asked['id']}/answers", json={"answer": "We answer ourselves."}
        ),
        403,
    )


async def test_a_stranger_is_told_404_on_every_route(ground: Ground) -> None:
    naryn, _bishkek, partnership = await partners(ground)
    asked = await ask(naryn.admin, partnership)
    osh = await ground.school("Osh School")
    for stranger in (osh.admin, await osh.teacher()):
        assert_problem(
            await stranger.post(f"/api/partnerships/{partnership}/questions", json=ASK), 404
        )
        assert_problem(await stranger.get(f"/api/questions/{asked['id']}"), 404)
        assert_problem(
            await stranger.post(
                f"/api/questions/{asked['id']}/answers", json={"answer": "We know this one."}
            ),
            404,
        )
        for direction in ("incoming", "outgoing"):
            listed = (await stranger.get(f"/api/questions?direction={direction}")).json()
            assert listed["items"] == []


async def test_after_the_partnership_ends_questions_are_a_record_only(
    ground: Ground, clock: ManualClock
) -> None:
    naryn, bishkek, partnership = await partners(ground)
    open_question = await ask(naryn.admin, partnership)
    answered = await ask(naryn.admin, partnership, question="Do you teach in Kyrgyz?")
    response = await bishkek.admin.post(
        f"/api/questions/{answered['id']}/answers", json={"answer": "Yes, from grade 1."}
    )
    assert response.status_code == 201, response.text
    await ground.end_partnership(partnership)

    assert_problem(
        await naryn.admin.post(f"/api/partnerships/{partnership}/questions", json=ASK), 409
    )
    assert_problem(
        await bishkek.admin.post(
            f"/api/questions/{open_question['id']}/answers", json={"answer": "Too late."}
        ),
        409,
    )
    for member in (naryn.admin, bishkek.admin):
        seen = (await member.get(f"/api/questions/{answered['id']}")).json()
        assert seen["answers"][0]["answer"] == "Yes, from grade 1."
        closed = (await member.get(f"/api/questions/{open_question['id']}")).json()
        assert closed["status"] == "closed"
    clock.advance(timedelta(days=30))
    await ground.run_escalation()
    assert (await bishkek.admin.get("/api/dashboard")).json()["incoming_questions"] == {
        "open": 0,
        "overdue": 0,
    }
    assert await notices(bishkek.admin, "question.overdue") == []


async def test_an_invitation_not_yet_accepted_takes_no_questions(ground: Ground) -> None:
    naryn = await ground.school()
    bishkek = await ground.school()
    invitation = await ground.partnership(naryn, bishkek, status="invited")
    assert_problem(
        await naryn.admin.post(f"/api/partnerships/{invitation}/questions", json=ASK), 409
    )


async def test_linked_resources_are_ones_the_asking_school_can_read(ground: Ground) -> None:
    naryn, bishkek, partnership = await partners(ground)
    asked = await ask(naryn.admin, partnership)
    home_only = await ground.resource(bishkek, title="Staff notes", visibility="school")
    osh = await ground.school("Osh School")
    elsewhere = await ground.resource(osh, title="Osh plan")
    missing = UUID("01890000-0000-7000-8000-000000000000")
    for resource_id in (home_only, elsewhere, missing):
        body = assert_problem(
            await bishkek.admin.post(
                f"/api/questions/{asked['id']}/answers",
                json={"answer": "See this.", "resource_ids": [str(resource_id)]},
            ),
            422,
        )
        assert "not one you can share with them" in body["detail"]
    # Nothing half-written: the question still waits.
    assert (await naryn.admin.get(f"/api/questions/{asked['id']}")).json()["status"] == "open"
    # The asking school's own resource is readable by both: it may be linked back.
    theirs = await ground.resource(naryn, title="Naryn fractions")
    response = await bishkek.admin.post(
        f"/api/questions/{asked['id']}/answers",
        json={"answer": "Your own plan does it well.", "resource_ids": [str(theirs)]},
    )
    assert response.status_code == 201, response.text


async def test_two_escalation_runs_at_once_tell_the_admins_once(
    ground: Ground, clock: ManualClock
) -> None:
    naryn, bishkek, partnership = await partners(ground)
    for number in range(3):
        await ask(naryn.admin, partnership, question=f"Question number {number}?")
    clock.advance(timedelta(days=15))
    async with ground.session() as first, ground.session() as second:
        counts = await asyncio.gather(
            escalate_overdue(first, clock), escalate_overdue(second, clock)
        )
    assert sum(counts) == 3
    assert len(await notices(bishkek.admin, "question.overdue")) == 3
