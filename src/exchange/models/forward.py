from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column


class Forward(UUIDv7AuditBase):
    """A holder of a `share` grant passed a partner's resource on to its own partner.

    The forward gives `to_school_id` read access only while it stands: the grant it was
    made under is valid (or, with no grant, the licence is still open), the resource is
    not confidential, the two schools are still active partners and the forwarding
    school can still read the resource itself. That is computed in SQL by the policy;
    `cut_at` records a cut that is final (the grant was revoked).
    """

    __tablename__ = "forwards"
    __table_args__ = (Index("ix_forwards_resource_to", "resource_id", "to_school_id"),)

    resource_id: Mapped[UUID] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    from_school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    to_school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    # NULL when the forward rests on an open licence rather than a stored grant.
    grant_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), default=None, index=True
    )
    forwarded_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    cut_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    cut_reason: Mapped[str | None] = mapped_column(String(200), default=None)
