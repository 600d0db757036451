"""What ends with a partnership, for good (rules 1, 7 and 9 of the code of conduct).

A partnership's access rests on rows as well as on its status: the `shared_with`
entries naming the partner, the grants from requests made under it and the forwards
made with them. Computing access from the status alone brought all of it back when
the two schools partnered again, so when a partnership ends, in the transaction that
ends it:

1. the `shared_with` entries naming the former partner are removed (the owner chooses
   again after a new partnership);
2. the grants each school holds on the other's resources are revoked, reason
   `partnership_ended`;
3. the forwards that carried access just before the end and no longer do are cut
   (`cut_at`): those made between the two schools, those made with the revoked grants,
   and those further down a chain whose forwarding school can no longer read the
   resource (a forward that had already lapsed, by an expiry, is left as it was);
4. the grants of the schools those forwards reached, who can no longer read the
   resource, are revoked too;
5. pending requests are closed (`exchange.reuse.closing`).

A revoked grant and a cut forward never carry access again; a new partnership starts
with nothing but the resources its schools share with all their partners. Each of these
is recorded as an event (`SharedWithRemoved`, `GrantRevoked` with the reason
`partnership_ended`, `ForwardCutByPartnershipEnd`, `ReuseRequestClosed`): the audit trail and the
notices that tell the schools that lose a grant or a forwarded resource why follow them
(`exchange.consequences`), in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, exists, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from exchange import policy
from exchange.clock import Clock
from exchange.events import (
    ForwardCutByPartnershipEnd,
    GrantRevoked,
    PartnershipEnded,
    SharedWithRemoved,
)
from exchange.kernel.refs import Names
from exchange.models import (
    Forward,
    Grant,
    GrantRevocation,
    Partnership,
    PartnershipStatus,
    Resource,
    ResourceShare,
)
from exchange.reuse import reasons
from exchange.reuse.closing import close_requests_after_partnership_end
from exchange.unit_of_work import UnitOfWork, unit_of_work

ENDED = GrantRevocation.PARTNERSHIP_ENDED


@dataclass
class PartnershipEnding:
    """What one partnership's end took away (for the audit trail and the tests)."""

    shares_removed: int = 0
    grants_revoked: list[UUID] = field(default_factory=list)
    forwards_cut: list[UUID] = field(default_factory=list)
    requests_closed: int = 0


def _between(owner: Any, school: Any, a: UUID, b: UUID) -> Any:
    """SQL: (`owner`, `school`) is the pair of the partnership's two schools."""
    return or_(and_(owner == a, school == b), and_(owner == b, school == a))


async def end_what_rested_on_the_partnership(
    session: AsyncSession, clock: Clock, partnership: Partnership
) -> PartnershipEnding:
    """Run inside the transaction that ended `partnership` (its status is already
    `ended`); the caller commits its unit of work, which carries the consequences of
    what is recorded here."""
    await session.flush()
    now = clock.now()
    a, b = partnership.inviting_school_id, partnership.invited_school_id
    loaded = await Names.load(session, schools=(a, b))
    names = {school: loaded.school(school).name for school in (a, b)}
    ending = PartnershipEnding()

    carried_before = await _as_it_was(
        session, partnership, lambda: _carrying_forwards(session, now, (a, b))
    )
    ending.shares_removed = await _remove_shares(session, clock, partnership, a, b)
    side_grants = await _revoke(
        session,
        now,
        select(Grant.id)
        .join(Resource, Resource.id == Grant.resource_id)
        .where(
            _between(Resource.owner_school_id, Grant.school_id, a, b),
            policy.grant_in_force(Grant, now),
        ),
    )
    cut = await _cut_forwards(
        session,
        now,
        carried_before - await _carrying_forwards(session, now, (a, b)),
        reasons.partnership_ended(a, b),
    )
    # The schools the cut forwards reached, that no longer read the resource, lose what
    # they were granted on it (their own forwards of it were cut above).
    reached = {(forward.to_school_id, forward.resource_id) for forward in cut}
    downstream_grants: list[UUID] = []
    if reached:
        downstream_grants = await _revoke(
            session,
            now,
            select(Grant.id)
            .join(Resource, Resource.id == Grant.resource_id)
            .where(
                or_(
                    *(
                        and_(Grant.school_id == school, Grant.resource_id == resource)
                        for school, resource in reached
                    )
                ),
                policy.grant_in_force(Grant, now),
                not_(policy.readable_by_school(Grant.school_id, now, Resource)),
            ),
        )
    ending.grants_revoked = side_grants + downstream_grants
    ending.forwards_cut = [forward.id for forward in cut]

    await _record_and_tell(session, clock, partnership, ending, cut, names)
    ending.requests_closed = await close_requests_after_partnership_end(session, clock, partnership)
    return ending


async def _remove_shares(
    session: AsyncSession, clock: Clock, partnership: Partnership, a: UUID, b: UUID
) -> int:
    rows = (
        await session.execute(
            select(ResourceShare.id, ResourceShare.school_id, Resource.id, Resource.owner_school_id)
            .join(Resource, Resource.id == ResourceShare.resource_id)
            .where(_between(Resource.owner_school_id, ResourceShare.school_id, a, b))
            .order_by(Resource.id)
        )
    ).all()
    if not rows:
        return 0
    await session.execute(
        delete(ResourceShare)
        .where(ResourceShare.id.in_([row[0] for row in rows]))
        .execution_options(synchronize_session=False)
    )
    unit_of_work(session, clock).record(
        *(
            SharedWithRemoved(
                owner_school_id=owner_id,
                resource_id=resource_id,
                school_id=school_id,
                partnership=partnership,
            )
            for _share_id, school_id, resource_id, owner_id in rows
        )
    )
    return len(rows)


async def _revoke(session: AsyncSession, now: datetime, grant_ids: Any) -> list[UUID]:
    """Revoke the grants `grant_ids` (a select of ids) selects; returns their ids."""
    ids = list(await session.scalars(grant_ids.order_by(Grant.id)))
    if ids:
        await session.execute(
            update(Grant)
            .where(Grant.id.in_(ids), Grant.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=ENDED, revoked_by_id=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return ids


async def _carrying_forwards(
    session: AsyncSession, now: datetime, sides: tuple[UUID, UUID]
) -> set[UUID]:
    """The forwards that carry access now, among those the end of a partnership between
    `sides` may touch: on a resource of one of them, or forwarded by or to one of them."""
    hop = aliased(Forward)
    touches_a_side = or_(
        Resource.owner_school_id.in_(sides),
        exists(
            select(hop.id).where(
                hop.resource_id == Resource.id,
                or_(hop.from_school_id.in_(sides), hop.to_school_id.in_(sides)),
            )
        ),
    )
    rows = await session.scalars(
        select(Forward.id)
        .join(Resource, Resource.id == Forward.resource_id)
        .where(
            touches_a_side,
            policy.forward_stands(Forward, Resource, now),
            policy.readable_by_school(Forward.from_school_id, now, Resource),
        )
    )
    return set(rows)


async def _as_it_was(
    session: AsyncSession,
    partnership: Partnership,
    reading: Callable[[], Awaitable[set[UUID]]],
) -> set[UUID]:
    """`reading` judged as just before the end: the partnership's row is active again
    for that one statement, inside the transaction that ends it (no one else sees it)."""

    async def status(value: str) -> None:
        await session.execute(
            update(Partnership)
            .where(Partnership.id == partnership.id)
            .values(status=value)
            .execution_options(synchronize_session=False)
        )

    await status(PartnershipStatus.ACTIVE)
    try:
        return await reading()
    finally:
        await status(PartnershipStatus.ENDED)


async def _cut_forwards(
    session: AsyncSession, now: datetime, ids: set[UUID], reason: str
) -> list[Forward]:
    """Cut the forwards `ids` (those the end took the access from), for `reason` (a
    code, `exchange.reuse.reasons`); returns them."""
    if not ids:
        return []
    await session.execute(
        update(Forward)
        .where(Forward.id.in_(ids), Forward.cut_at.is_(None))
        .values(cut_at=now, cut_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    cut = list(
        await session.scalars(
            select(Forward)
            .where(Forward.id.in_(ids))
            .order_by(Forward.created_at, Forward.id)
            .execution_options(populate_existing=True)
        )
    )
    return cut


async def _record_and_tell(
    session: AsyncSession,
    clock: Clock,
    partnership: Partnership,
    ending: PartnershipEnding,
    cut: list[Forward],
    names: dict[UUID, str],
) -> None:
    """Record what the end took away; the trail entries and the notices follow those
    events (`exchange.consequences`)."""
    now = clock.now()
    uow = unit_of_work(session, clock)
    a, b = partnership.inviting_school_id, partnership.invited_school_id
    cut_per_grant = Counter(forward.grant_id for forward in cut if forward.grant_id)
    grants = (
        (
            await session.execute(
                select(Grant, Resource)
                .join(Resource, Resource.id == Grant.resource_id)
                .where(Grant.id.in_(ending.grants_revoked))
                .order_by(Grant.id)
            )
        ).all()
        if ending.grants_revoked
        else []
    )
    for grant, resource in grants:
        await session.refresh(grant)
        uow.record(
            GrantRevoked(
                grant=grant,
                resource=resource,
                reason=ENDED,
                forwards_cut=cut_per_grant[grant.id],
                partnership=partnership,
            )
        )
    told: set[tuple[UUID, UUID]] = set()
    for forward in cut:
        resource = await session.get_one(Resource, forward.resource_id)
        key = (forward.to_school_id, resource.id)
        lost = key not in told and not await policy.school_can_read(
            session, forward.to_school_id, resource.id, now
        )
        if lost:
            told.add(key)
        uow.record(
            ForwardCutByPartnershipEnd(
                forward=forward,
                resource=resource,
                partnership=partnership,
                school_a=names[a],
                school_b=names[b],
                receiver_lost_access=lost,
            )
        )


async def end_what_rested_on_it(uow: UnitOfWork, event: PartnershipEnded) -> None:
    """Subscribed to `PartnershipEnded`, within the transaction that ends it."""
    await end_what_rested_on_the_partnership(uow.session, uow.clock, event.partnership)
