from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.types import JsonDocument


class RegistrationLink(UUIDv7AuditBase):
    """A one-time link with which a school that is not on the exchange registers: its
    first admin chooses a password and the school is made. Only the SHA-256 of its token
    is stored.

    `purpose` is `invitation` (an admin of `inviting_school_id` invited the school at
    `email`, by a handbook entry or by name, with the partnership's `terms`) or `claim`
    (someone at `email`, an address of the entry's own, asked to claim `entry_id`).
    """

    __tablename__ = "registration_links"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320), index=True)
    school_name: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("directory_entries.id", ondelete="CASCADE"), default=None, index=True
    )
    inviting_school_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), default=None, index=True
    )
    invited_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    # The invitation's goals, characteristics and letter language, as the API takes them.
    terms: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    language: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    school_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("schools.id", ondelete="SET NULL"), default=None
    )
