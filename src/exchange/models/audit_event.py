from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7Base
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.types import JsonDocument


class AuditEvent(UUIDv7Base):
    """Append-only record of who did what, when, and with what outcome.

    The ids are plain columns, not foreign keys: the trail outlives what it speaks of
    (a deleted resource keeps its history), and nothing may ever update a row. The
    migration adds triggers that refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_owner_at", "owner_school_id", "occurred_at"),
        Index("ix_audit_events_resource_at", "resource_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32), default="ok")
    # Whose trail this is: the school that owns the resource or is a side of the
    # partnership. A partnership move is written once to each side's trail.
    owner_school_id: Mapped[UUID] = mapped_column(GUID)
    actor_member_id: Mapped[UUID | None] = mapped_column(GUID, default=None)
    actor_school_id: Mapped[UUID | None] = mapped_column(GUID, default=None)
    resource_id: Mapped[UUID | None] = mapped_column(GUID, default=None)
    partnership_id: Mapped[UUID | None] = mapped_column(GUID, default=None)
    reuse_request_id: Mapped[UUID | None] = mapped_column(GUID, default=None)
    other_school_id: Mapped[UUID | None] = mapped_column(GUID, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
