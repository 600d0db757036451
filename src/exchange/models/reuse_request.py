from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.enums import ReuseRequestStatus, ReuseScope
from exchange.models.types import StoredEnum


class ReuseRequest(UUIDv7AuditBase):
    """A school asks a resource's authors for permission to use it beyond its own walls.

    `pending_key` holds "<resource>:<school>:<scope>" while the request is pending and
    NULL afterwards; its unique constraint keeps one pending request per (resource,
    school, scope) on every database, even when two arrive at the same moment.
    """

    __tablename__ = "reuse_requests"
    __table_args__ = (
        Index("ix_reuse_requests_status_respond_by", "status", "respond_by"),
        Index("ix_reuse_requests_school_status", "requesting_school_id", "status"),
    )

    resource_id: Mapped[UUID] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    requesting_school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    requested_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None, index=True
    )
    scope: Mapped[ReuseScope] = mapped_column(StoredEnum(ReuseScope, 16))
    purpose: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(Text)
    status: Mapped[ReuseRequestStatus] = mapped_column(
        StoredEnum(ReuseRequestStatus, 16), default=ReuseRequestStatus.PENDING
    )
    pending_key: Mapped[str | None] = mapped_column(String(120), unique=True, default=None)
    respond_by: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    decided_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)
    # The expiry the decider gave the grant, when approved with one.
    grant_expires_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
    # Set once, by whichever app instance first saw the request overdue (rule 9).
    escalated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Withdrawn by the requester or closed by the exchange, and why.
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    closed_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    closed_reason: Mapped[str | None] = mapped_column(Text, default=None)
