from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column


class SetupCode(DefaultBase):
    """The one-time code that guards a fresh install's first-run page: `exchange serve`
    prints it on the console while the database holds no school, so nobody else on the
    network can take the install. Only its SHA-256 is kept, a row for each instance that
    printed one."""

    __tablename__ = "setup_codes"

    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
