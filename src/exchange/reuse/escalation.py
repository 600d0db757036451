"""Rule 9: a request past its answer date is escalated to the owner school's admins,
exactly once, whichever app instance or job sees it first; a question between partners
past its answer date, the same way, to the admins of the school that was asked.

There is no timer in any process: `exchange requests escalate` (cron) and every read
of the request lists and the dashboard run the same check. Each request is claimed
with a conditional UPDATE (`escalated_at IS NULL`), which the database lets only one
transaction win, so two instances never both notify.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import structlog
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.audit.trail import record_event
from exchange.clock import Clock
from exchange.models import PartnerQuestion, Resource, ReuseRequest, ReuseRequestStatus
from exchange.questions import notices as question_notices
from exchange.questions import waiting as questions
from exchange.reuse import notices

logger = structlog.get_logger("exchange.reuse")
PENDING = ReuseRequestStatus.PENDING.value


async def escalate_overdue(
    session: AsyncSession, clock: Clock, *, school_id: UUID | None = None
) -> int:
    """Escalate every overdue, not yet escalated request and question (those touching
    `school_id` when given); commits. Returns how many this call escalated.

    When run on the way to answering a read, a busy database is not an error: the
    next read or the scheduled job does it.
    """
    try:
        return await _escalate(session, clock, school_id) + await _escalate_questions(
            session, clock, school_id
        )
    except OperationalError as exc:
        await session.rollback()
        if school_id is None:
            raise
        logger.info("escalation postponed: database busy", error=str(exc))
        return 0


async def _escalate(session: AsyncSession, clock: Clock, school_id: UUID | None) -> int:
    now = clock.now()
    query = select(ReuseRequest.id).where(
        ReuseRequest.status == PENDING,
        ReuseRequest.respond_by < now,
        ReuseRequest.escalated_at.is_(None),
    )
    if school_id is not None:
        query = query.where(
            or_(
                ReuseRequest.requesting_school_id == school_id,
                ReuseRequest.resource_id.in_(
                    select(Resource.id).where(Resource.owner_school_id == school_id)
                ),
            )
        )
    candidates = list(await session.scalars(query.order_by(ReuseRequest.respond_by)))
    if not candidates:
        await session.commit()  # ends the read transaction the query opened
        return 0
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
        record_event(
            session,
            clock,
            action="reuse_request.escalated",
            owner_school_id=resource.owner_school_id,
            resource_id=resource.id,
            reuse_request_id=request.id,
            other_school_id=request.requesting_school_id,
            details={"respond_by": request.respond_by.isoformat(), "scope": request.scope},
        )
        await notices.request_overdue(session, clock, request, resource)
        escalated += 1
    await session.commit()
    return escalated


async def _escalate_questions(session: AsyncSession, clock: Clock, school_id: UUID | None) -> int:
    now = clock.now()
    query = select(PartnerQuestion.id).where(
        questions.overdue(now), PartnerQuestion.escalated_at.is_(None)
    )
    if school_id is not None:
        query = query.where(
            or_(
                PartnerQuestion.asking_school_id == school_id,
                PartnerQuestion.answering_school_id == school_id,
            )
        )
    candidates = list(await session.scalars(query.order_by(PartnerQuestion.respond_by)))
    if not candidates:
        await session.commit()
        return 0
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
        await question_notices.question_overdue(session, clock, question)
        escalated += 1
    await session.commit()
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
