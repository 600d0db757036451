from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column


class DashboardVisit(UUIDv7AuditBase):
    """When a member last looked at the dashboard: "new since your last look"."""

    __tablename__ = "dashboard_visits"

    member_id: Mapped[UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
