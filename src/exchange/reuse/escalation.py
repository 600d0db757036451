"""Rule 9 for reuse requests: a request past its answer date is escalated to the owner
school's admins, exactly once, whichever worker sees it first.

The periodic job that runs this with the escalation of questions is
`exchange.escalation`. Each request is claimed with a conditional UPDATE
(`exchange.kernel.claims`), which the database lets only one transaction win, so two
workers never both notify; the claim records `ReuseRequestOverdue`, whose audit entry
and notices (`exchange.consequences`) are committed with it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.events import ReuseRequestOverdue
from exchange.kernel.claims import claim_escalation
from exchange.models import Resource, ReuseRequest, ReuseRequestStatus
from exchange.unit_of_work import unit_of_work

PENDING = ReuseRequestStatus.PENDING


async def escalate_overdue_requests(session: AsyncSession, clock: Clock) -> int:
    """Escalate every overdue, not yet escalated request; commits. Returns how many this
    call escalated."""
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
        if not await claim_escalation(
            session, ReuseRequest, request_id, ReuseRequest.status == PENDING, now
        ):
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
