"""Rule 9 when a partnership ends: a pending request from a school that can no longer
see the resource is closed, and both sides are told why, instead of waiting forever."""

from __future__ import annotations

from sqlalchemy import exists, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.audit.trail import record_event
from exchange.clock import Clock
from exchange.models import Forward, Partnership, Resource, ReuseRequest, ReuseRequestStatus
from exchange.partnerships.effects import on_partnership_end
from exchange.reuse import notices

PENDING = ReuseRequestStatus.PENDING.value


async def close_requests_after_partnership_end(
    session: AsyncSession, clock: Clock, partnership: Partnership
) -> int:
    """Close the pending requests the ended partnership left without a reader.

    Runs inside the transaction that ends the partnership (registered in
    `exchange.partnerships.effects.partnership_end_hooks`); the caller commits.
    Covers the two schools' requests on each other's resources and requests of
    schools downstream of a forward one of them made.
    """
    await session.flush()
    now = clock.now()
    sides = [partnership.inviting_school_id, partnership.invited_school_id]
    forwarded_by_a_side = exists(
        select(Forward.id).where(
            Forward.resource_id == Resource.id, Forward.from_school_id.in_(sides)
        )
    )
    rows = (
        await session.execute(
            select(ReuseRequest, Resource)
            .join(Resource, Resource.id == ReuseRequest.resource_id)
            .where(
                ReuseRequest.status == PENDING,
                or_(
                    ReuseRequest.requesting_school_id.in_(sides),
                    Resource.owner_school_id.in_(sides),
                    forwarded_by_a_side,
                ),
                not_(policy.readable_by_school(ReuseRequest.requesting_school_id, now, Resource)),
            )
        )
    ).all()
    names = {school_id: await notices.school_name(session, school_id) for school_id in set(sides)}
    reason = (
        f"The partnership between {names[sides[0]]} and {names[sides[1]]} ended, so the "
        "requesting school can no longer see the resource."
    )
    closed = 0
    for request, resource in rows:
        moved = await session.execute(
            update(ReuseRequest)
            .where(ReuseRequest.id == request.id, ReuseRequest.status == PENDING)
            .values(
                status=ReuseRequestStatus.CLOSED.value,
                pending_key=None,
                closed_at=now,
                closed_reason=reason,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            continue
        await session.refresh(request)
        record_event(
            session,
            clock,
            action="reuse_request.closed",
            owner_school_id=resource.owner_school_id,
            resource_id=resource.id,
            reuse_request_id=request.id,
            partnership_id=partnership.id,
            other_school_id=request.requesting_school_id,
            details={"scope": request.scope, "reason": reason},
        )
        await notices.request_closed(session, clock, request, resource)
        closed += 1
    return closed


@on_partnership_end
async def _close_when_a_partnership_ends(
    session: AsyncSession, clock: Clock, partnership: Partnership
) -> None:
    await close_requests_after_partnership_end(session, clock, partnership)
