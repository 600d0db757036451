from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import UUIDv7Base
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column


class SignInFailure(UUIDv7Base):
    """One failed sign-in, kept in the database so every app instance counts the same."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "occurred_at"),)

    # "account:<email>" or "address:<ip>"
    key: Mapped[str] = mapped_column(String(400))
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
