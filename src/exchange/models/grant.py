from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.enums import GrantRevocation, GrantSource, ReuseScope
from exchange.models.types import StoredEnum


class Grant(UUIDv7AuditBase):
    """A standing permission of one scope for one school on one resource.

    Stored grants come from approved requests. Grants implied by an open licence are
    not stored: they follow the licence and are computed where they are listed.
    """

    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_resource_school_scope", "resource_id", "school_id", "scope"),
    )

    resource_id: Mapped[UUID] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[ReuseScope] = mapped_column(StoredEnum(ReuseScope, 16))
    source: Mapped[GrantSource] = mapped_column(
        StoredEnum(GrantSource, 16), default=GrantSource.REQUEST
    )
    reuse_request_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("reuse_requests.id", ondelete="SET NULL"), default=None, index=True
    )
    granted_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    # Why it was revoked: `GrantRevocation` ('withdrawn' by the owner school, or
    # 'partnership_ended'). A revoked grant stays revoked whatever happens later.
    revoked_reason: Mapped[GrantRevocation | None] = mapped_column(
        StoredEnum(GrantRevocation, 32), default=None
    )
