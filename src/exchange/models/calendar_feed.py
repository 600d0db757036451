from __future__ import annotations

from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column


class CalendarFeed(UUIDv7AuditBase):
    """A member's private calendar address: the secret in its path is the only key a
    calendar app sends, so only its SHA-256 is stored. One per member; turning it on again
    replaces it, and revoking deletes it."""

    __tablename__ = "calendar_feeds"

    member_id: Mapped[UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
