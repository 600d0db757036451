"""Rule 9: a request past its answer date is escalated to the owner school's admins,
exactly once, whichever worker sees it first; a question between partners past its
answer date, the same way, to the admins of the school that was asked.

It runs as a periodic background job (`ESCALATION`, every `ESCALATION_EVERY`, by the
app's worker or `exchange jobs run`), and `exchange requests escalate` runs it at once.
Reading the lists or the dashboard never escalates: they show what is overdue from the
answer dates. Each request is claimed with a conditional UPDATE (`escalated_at IS
NULL`), which the database lets only one transaction win, so two workers never both
notify; the claim records `ReuseRequestOverdue` or `QuestionOverdue`, whose audit entry
and notices (`exchange.consequences`) are committed with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.events import QuestionOverdue, ReuseRequestOverdue
from exchange.jobs.worker import JobContext, JobKind
from exchange.models import PartnerQuestion, Resource, ReuseRequest, ReuseRequestStatus
from exchange.questions import waiting as questions
from exchange.unit_of_work import unit_of_work

PENDING = ReuseRequestStatus.PENDING
ESCALATION_EVERY = timedelta(minutes=15)


async def escalate_overdue(session: AsyncSession, clock: Clock) -> int:
    """Escalate every overdue, not yet escalated request and question; commits. Returns
    how many this call escalated."""
    return await _escalate(session, clock) + await _escalate_questions(session, clock)


async def _escalate(session: AsyncSession, clock: Clock) -> int:
    now = clock.now()
    uow = unit_of_work(session, clock)
    candidates = list(
        await session.scalars(
            select(ReuseRequest.id)
            .where(
                ReuseRequest.status == PENDING,
                ReuseRequest.respond_by < now,
                ReuseRequest.escalated_at.is_(None),
            )
            .order_by(ReuseRequest.respond_by)
        )
    )
    escalated = 0
    for request_id in candidates:
        if not await _claim(session, ReuseRequest, request_id, ReuseRequest.status == PENDING, now):
            continue
        request, resource = (
            await session.execute(
                select(ReuseRequest, Resource)
                .join(Resource, Resource.id == ReuseRequest.resource_id)
                .where(ReuseRequest.id == request_id)
                .execution_options(populate_existing=True)
            )
        ).one()
        uow.record(ReuseRequestOverdue(request=request, resource=resource))
        escalated += 1
    await uow.commit()  # also ends the read transaction when nothing was due
    return escalated


async def _escalate_questions(session: AsyncSession, clock: Clock) -> int:
    now = clock.now()
    uow = unit_of_work(session, clock)
    candidates = list(
        await session.scalars(
            select(PartnerQuestion.id)
            .where(questions.overdue(now), PartnerQuestion.escalated_at.is_(None))
            .order_by(PartnerQuestion.respond_by)
        )
    )
    escalated = 0
    for question_id in candidates:
        if not await _claim(session, PartnerQuestion, question_id, questions.overdue(now), now):
            continue
        question = (
            await session.scalars(
                select(PartnerQuestion)
                .where(PartnerQuestion.id == question_id)
                .execution_options(populate_existing=True)
            )
        ).one()
        uow.record(QuestionOverdue(question=question))
        escalated += 1
    await uow.commit()
    return escalated


async def _claim(
    session: AsyncSession,
    model: type[ReuseRequest] | type[PartnerQuestion],
    row_id: UUID,
    still_waiting: ColumnElement[bool],
    now: datetime,
) -> bool:
    """Set `escalated_at` if no one did yet and it still waits: the database lets only
    one transaction win this conditional UPDATE."""
    claimed = await session.execute(
        update(model)
        .where(model.id == row_id, model.escalated_at.is_(None), still_waiting)
        .values(escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


async def _escalate_job(context: JobContext, _payload: dict[str, Any]) -> None:
    async with context.session_factory() as session:
        await escalate_overdue(session, context.clock)


ESCALATION = JobKind(_escalate_job, every=ESCALATION_EVERY)
