from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.types import JsonDocument


class Notification(UUIDv7AuditBase):
    """One message in one member's in-app inbox.

    `kind` names the event ("partnership.invited", "reuse_request.created", ...);
    `subject_type`/`subject_id` point at what it is about; `payload` holds what the inbox
    shows without further look-ups (the other school's name, an English `message`, and
    the values a client needs to word it in Kyrgyz or Russian). `created_at` is set from
    the service clock, so the inbox order is the order of events.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_recipient_created", "recipient_member_id", "created_at"),
        Index("ix_notifications_recipient_read", "recipient_member_id", "read_at"),
    )

    recipient_member_id: Mapped[UUID] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[UUID] = mapped_column(GUID)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    read_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
