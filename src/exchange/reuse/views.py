"""Turning rows into the API's shapes, with the school and member names they mention."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.i18n import lazy_gettext
from exchange.kernel.refs import Names
from exchange.models import Grant, Resource, ReuseRequest
from exchange.reuse import reasons
from exchange.reuse.schemas import ResourceRef, ReuseRequestOut

# Shown instead of the title to a school that can no longer read the resource (its
# partnership with the owner ended): what it may not read, it is not shown.
UNREADABLE_TITLE = lazy_gettext("a resource you can no longer read")


def resource_ref(resource: Resource, names: Names, *, readable: bool = True) -> ResourceRef:
    return ResourceRef(
        id=resource.id,
        title=resource.title if readable else UNREADABLE_TITLE.render(),
        owner_school=names.school(resource.owner_school_id),
        confidential=resource.confidential,
        readable=readable,
    )


def readable_among_in(
    db: Session, identity: Identity, resources: Iterable[Resource], now: datetime
) -> set[UUID]:
    """The ids among `resources` the caller's school may read (its own always)."""
    others = {r.id for r in resources if r.owner_school_id != identity.school_id}
    readable = {r.id for r in resources if r.owner_school_id == identity.school_id}
    if others:
        rows = db.scalars(
            select(Resource.id).where(Resource.id.in_(others), policy.readable_by_caller()),
            policy.reading_parameters(identity, now),
        )
        readable |= set(rows)
    return readable


def is_overdue(request: ReuseRequest, now: datetime) -> bool:
    """Rule 9: a pending request past its answer date."""
    return request.status == "pending" and now > request.respond_by


async def request_views(
    session: AsyncSession,
    identity: Identity,
    pairs: list[tuple[ReuseRequest, Resource]],
    now: datetime,
) -> list[ReuseRequestOut]:
    """The requests as `identity` sees them (`request_views_in`)."""
    return await session.run_sync(request_views_in, identity, pairs, now)


def request_views_in(
    db: Session,
    identity: Identity,
    pairs: list[tuple[ReuseRequest, Resource]],
    now: datetime,
) -> list[ReuseRequestOut]:
    """The requests as `identity` sees them: the title of a resource its school can
    no longer read is not shown."""
    readable = readable_among_in(db, identity, [res for _, res in pairs], now)
    names = Names.load_in(
        db,
        schools=[r.requesting_school_id for r, _ in pairs]
        + [res.owner_school_id for _, res in pairs]
        + reasons.schools_named(r.closed_reason for r, _ in pairs),
        members=[m for r, _ in pairs for m in (r.requested_by_id, r.decided_by_id)],
    )
    request_ids = [r.id for r, _ in pairs]
    grants: dict[UUID, UUID] = {}
    if request_ids:
        rows = db.execute(
            select(Grant.reuse_request_id, Grant.id).where(Grant.reuse_request_id.in_(request_ids))
        )
        grants = {row.reuse_request_id: row.id for row in rows}
    return [
        ReuseRequestOut(
            id=request.id,
            resource=resource_ref(resource, names, readable=resource.id in readable),
            requesting_school=names.school(request.requesting_school_id),
            requested_by=names.member(request.requested_by_id),
            scope=request.scope,
            purpose=request.purpose,
            audience=request.audience,
            status=request.status,
            created_at=request.created_at,
            respond_by=request.respond_by,
            overdue=is_overdue(request, now),
            escalated_at=request.escalated_at,
            decided_by=names.member(request.decided_by_id),
            decided_at=request.decided_at,
            decision_note=request.decision_note,
            grant_expires_at=request.grant_expires_at,
            grant_id=grants.get(request.id),
            closed_at=request.closed_at,
            closed_reason=reasons.closed_in_words(request.closed_reason, names),
        )
        for request, resource in pairs
    ]
