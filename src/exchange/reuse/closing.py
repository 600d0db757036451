"""Rule 9 when a partnership ends: the pending requests made under it, and those of a
school that can no longer see the resource, are closed, and both sides are told why
(`ReuseRequestClosed`), instead of waiting forever."""

from __future__ import annotations

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.clock import Clock
from exchange.events import ReuseRequestClosed
from exchange.kernel.refs import Names
from exchange.models import Forward, Partnership, Resource, ReuseRequest, ReuseRequestStatus
from exchange.reuse import reasons
from exchange.reuse.requests import move_pending
from exchange.unit_of_work import unit_of_work

PENDING = ReuseRequestStatus.PENDING


async def close_requests_after_partnership_end(
    session: AsyncSession, clock: Clock, partnership: Partnership
) -> int:
    """Close the pending requests the ended partnership left without a reader.

    Runs inside the transaction that ends the partnership, last of what ends with it
    (`exchange.reuse.partnership_end`); the caller commits. Closes the two schools'
    requests on each other's resources, whatever else lets them read the resource,
    and the requests of schools downstream of a forward one of them made that can no
    longer read it. Each closed request records `ReuseRequestClosed`: its trail entry
    and the notices to both sides follow it.
    """
    await session.flush()
    now = clock.now()
    sides = [partnership.inviting_school_id, partnership.invited_school_id]
    forwarded_by_a_side = exists(
        select(Forward.id).where(
            Forward.resource_id == Resource.id, Forward.from_school_id.in_(sides)
        )
    )
    made_under_the_partnership = or_(
        and_(ReuseRequest.requesting_school_id == sides[0], Resource.owner_school_id == sides[1]),
        and_(ReuseRequest.requesting_school_id == sides[1], Resource.owner_school_id == sides[0]),
    )
    rows = (
        await session.execute(
            select(ReuseRequest, Resource)
            .join(Resource, Resource.id == ReuseRequest.resource_id)
            .where(
                ReuseRequest.status == PENDING,
                or_(
                    made_under_the_partnership,
                    and_(
                        or_(
                            ReuseRequest.requesting_school_id.in_(sides),
                            Resource.owner_school_id.in_(sides),
                            forwarded_by_a_side,
                        ),
                        not_(
                            policy.readable_by_school(
                                ReuseRequest.requesting_school_id, now, Resource
                            )
                        ),
                    ),
                ),
            )
            .order_by(ReuseRequest.created_at, ReuseRequest.id)
        )
    ).all()
    loaded = await Names.load(session, schools=sides)
    names = {school_id: loaded.school(school_id).name for school_id in set(sides)}
    reason = reasons.partnership_ended(sides[0], sides[1])
    closed = 0
    for request, resource in rows:
        if not await move_pending(
            session,
            request,
            status=ReuseRequestStatus.CLOSED,
            closed_at=now,
            closed_reason=reason,
            updated_at=now,
        ):
            continue
        unit_of_work(session, clock).record(
            ReuseRequestClosed(
                request=request,
                resource=resource,
                partnership=partnership,
                school_a=names[sides[0]],
                school_b=names[sides[1]],
            )
        )
        closed += 1
    return closed
