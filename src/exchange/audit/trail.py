"""Writing to the audit trail. Rows are only ever inserted (the database refuses more)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.events import (
    GrantRevoked,
    PartnershipChanged,
    ResourceChanged,
    ResourceForwarded,
    ReuseRequestChanged,
    ReuseRequestOverdue,
)
from exchange.models import AuditEvent, Resource
from exchange.policy import audits_reads_by
from exchange.unit_of_work import UnitOfWork


def record_event(
    session: AsyncSession,
    clock: Clock,
    *,
    action: str,
    owner_school_id: UUID,
    actor: Identity | None = None,
    outcome: str = "ok",
    resource_id: UUID | None = None,
    partnership_id: UUID | None = None,
    reuse_request_id: UUID | None = None,
    other_school_id: UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the session; it is committed with the change it describes."""
    event = AuditEvent(
        occurred_at=clock.now(),
        action=action,
        outcome=outcome,
        owner_school_id=owner_school_id,
        actor_member_id=actor.member_id if actor else None,
        actor_school_id=actor.school_id if actor else None,
        resource_id=resource_id,
        partnership_id=partnership_id,
        reuse_request_id=reuse_request_id,
        other_school_id=other_school_id,
        details=details or {},
    )
    session.add(event)
    return event


async def record_partnership_change(uow: UnitOfWork, event: PartnershipChanged) -> None:
    """One event in each school's trail: each side reads its own trail only."""
    partnership = event.partnership
    for owner in (partnership.inviting_school_id, partnership.invited_school_id):
        record_event(
            uow.session,
            uow.clock,
            action=event.action,
            owner_school_id=owner,
            actor=event.actor,
            partnership_id=partnership.id,
            other_school_id=partnership.other_school_id(owner),
            details=event.details,
        )


def _in_owner_trail(
    uow: UnitOfWork,
    *,
    action: str,
    actor: Identity,
    resource: Resource,
    details: dict[str, Any],
    reuse_request_id: UUID | None = None,
    other_school_id: UUID | None = None,
) -> None:
    """One entry about a resource, in its owner school's trail."""
    record_event(
        uow.session,
        uow.clock,
        action=action,
        owner_school_id=resource.owner_school_id,
        actor=actor,
        resource_id=resource.id,
        reuse_request_id=reuse_request_id,
        other_school_id=other_school_id,
        details=details,
    )


async def record_resource_change(uow: UnitOfWork, event: ResourceChanged) -> None:
    _in_owner_trail(
        uow, action=event.action, actor=event.actor, resource=event.resource, details=event.details
    )


async def record_request_change(uow: UnitOfWork, event: ReuseRequestChanged) -> None:
    """With the requesting school as the other side."""
    _in_owner_trail(
        uow,
        action=event.action,
        actor=event.actor,
        resource=event.resource,
        details=event.details,
        reuse_request_id=event.request.id,
        other_school_id=event.request.requesting_school_id,
    )


async def record_grant_revoked(uow: UnitOfWork, event: GrantRevoked) -> None:
    """With the school that held the permission as the other side."""
    _in_owner_trail(
        uow,
        action="grant.revoked",
        actor=event.actor,
        resource=event.resource,
        details=event.details,
        reuse_request_id=event.grant.reuse_request_id,
        other_school_id=event.grant.school_id,
    )


async def record_forward(uow: UnitOfWork, event: ResourceForwarded) -> None:
    """With the receiving school as the other side."""
    _in_owner_trail(
        uow,
        action="resource.forwarded",
        actor=event.actor,
        resource=event.resource,
        details=event.details,
        other_school_id=event.forward.to_school_id,
    )


async def record_request_escalated(uow: UnitOfWork, event: ReuseRequestOverdue) -> None:
    request, resource = event.request, event.resource
    record_event(
        uow.session,
        uow.clock,
        action="reuse_request.escalated",
        owner_school_id=resource.owner_school_id,
        resource_id=resource.id,
        reuse_request_id=request.id,
        other_school_id=request.requesting_school_id,
        details={"respond_by": request.respond_by.isoformat(), "scope": request.scope},
    )


DOWNLOADED = "resource.downloaded"
READ = "resource.read"


def record_download(
    session: AsyncSession,
    clock: Clock,
    *,
    actor: Identity,
    resource: Resource,
    version_number: int,
    range_start: int | None = None,
    presigned: bool = False,
) -> bool:
    """Audit a download by another school ("who downloaded my resource"); the caller
    commits. A resumed download (a Range not starting at byte 0) continues one already
    counted, so it is not counted again. Returns whether an event was added."""
    if actor.school_id == resource.owner_school_id or (range_start or 0) > 0:
        return False
    record_event(
        session,
        clock,
        action=DOWNLOADED,
        owner_school_id=resource.owner_school_id,
        actor=actor,
        resource_id=resource.id,
        other_school_id=actor.school_id,
        details={
            "version": version_number,
            "confidential": resource.confidential,
            "presigned": presigned,
        },
    )
    return True


def record_read(
    session: AsyncSession, clock: Clock, *, actor: Identity, resource: Resource, what: str
) -> bool:
    """Rule 6: audit a read of a confidential resource by another school (`what`:
    "metadata", "versions", ...); the caller commits. Returns whether an event was added."""
    if not audits_reads_by(actor, resource):
        return False
    record_event(
        session,
        clock,
        action=READ,
        owner_school_id=resource.owner_school_id,
        actor=actor,
        resource_id=resource.id,
        other_school_id=actor.school_id,
        details={"what": what, "confidential": True},
    )
    return True
