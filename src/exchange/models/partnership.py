from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.enums import PartnershipStatus
from exchange.models.types import JsonDocument, StoredEnum


class Partnership(UUIDv7AuditBase):
    """Two schools that agreed to exchange under the code of conduct.

    `open_pair` holds "<lower id>:<higher id>" while the partnership is invited or
    active and NULL otherwise; its unique constraint keeps at most one open
    partnership between two schools on every database.
    """

    __tablename__ = "partnerships"

    inviting_school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    invited_school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[PartnershipStatus] = mapped_column(StoredEnum(PartnershipStatus, 16), index=True)
    open_pair: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    characteristics: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    goals: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    language: Mapped[str] = mapped_column(String(8))
    invitation_letter: Mapped[str] = mapped_column(Text, default="")
    inviting_coordinator_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    invited_coordinator_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    invited_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    # The code-of-conduct version each side agreed to: the inviter when inviting, the
    # invited school when accepting. A later version does not change what was agreed.
    inviter_conduct_version: Mapped[int] = mapped_column(
        Integer, ForeignKey("code_of_conduct_versions.version")
    )
    invited_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    accepted_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    accepter_conduct_version: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("code_of_conduct_versions.version"), default=None
    )
    accepted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    closed_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # The one reminder the inviting school may send once the invitation is overdue.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    reminded_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    # The reason the closing school gave (declined, withdrawn or ended), kept as written.
    closed_reason: Mapped[str | None] = mapped_column(Text, default=None)

    def other_school_id(self, school_id: UUID) -> UUID:
        return (
            self.invited_school_id
            if school_id == self.inviting_school_id
            else self.inviting_school_id
        )
