"""Writing to the audit trail. Rows are only ever inserted (the database refuses more)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.models import AuditEvent


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
