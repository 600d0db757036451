from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column


class PasswordLink(UUIDv7AuditBase):
    """A one-time link with which a member sets their password: on joining, or when an
    admin of their school issues a new one. Only the SHA-256 of its token is stored."""

    __tablename__ = "password_links"

    member_id: Mapped[UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "join" (the member was added without a password) or "reset".
    purpose: Mapped[str] = mapped_column(String(16))
    issued_by_member_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Set when a newer link for the member, or a password change, makes this one void.
    replaced_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
