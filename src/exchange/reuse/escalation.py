"""Rule 9: a request past its answer date is escalated to the owner school's admins,
exactly once, whichever app instance or job sees it first.

There is no timer in any process: `exchange requests escalate` (cron) and every read
of the request lists and the dashboard run the same check. Each request is claimed
with a conditional UPDATE (`escalated_at IS NULL`), which the database lets only one
transaction win, so two instances never both notify.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.audit.trail import record_event
from exchange.clock import Clock
from exchange.models import Resource, ReuseRequest, ReuseRequestStatus
from exchange.reuse import notices

logger = structlog.get_logger("exchange.reuse")
PENDING = ReuseRequestStatus.PENDING.value


async def escalate_overdue(
    session: AsyncSession, clock: Clock, *, school_id: UUID | None = None
) -> int:
    """Escalate every overdue, not yet escalated request (those touching `school_id`
    when given); commits. Returns how many this call escalated.

    When run on the way to answering a read, a busy database is not an error: the
    next read or the scheduled job does it.
    """
    try:
        return await _escalate(session, clock, school_id)
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
        claimed = await session.execute(
            update(ReuseRequest)
            .where(
                ReuseRequest.id == request_id,
                ReuseRequest.status == PENDING,
                ReuseRequest.escalated_at.is_(None),
            )
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
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
