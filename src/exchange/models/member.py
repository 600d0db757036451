from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.models.enums import MemberRole
from exchange.models.school import School
from exchange.models.types import StoredEnum


class Member(UUIDv7AuditBase):
    """A person in one school. E-mail addresses are unique across the exchange."""

    __tablename__ = "members"

    school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[MemberRole] = mapped_column(StoredEnum(MemberRole, 16))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The language the member reads the exchange in (`ky`, `ru`, `en`); None until they
    # choose, when their browser's or their school's language is used.
    language: Mapped[str | None] = mapped_column(String(2), default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    school: Mapped[School] = relationship(lazy="joined", innerjoin=True)
