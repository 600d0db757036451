from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.types import JsonDocument


class DirectoryEntry(UUIDv7AuditBase):
    """A school, or a sister city, the handbook lists (appendices 4 and 5) that is not on
    the exchange: shown in the directory so that a school can be invited by e-mail, or
    claim its own entry once. Nobody signs in to an entry; it becomes a school when it is
    claimed or when its invitation is taken up (`claimed_school_id`).

    `kind` is `school` (appendix 5) or `sister_city` (appendix 4, a town abroad twinned
    with `town_key`). `texts` holds the names the handbook gives in Kyrgyz with their
    Russian and English forms: `name`, `town`, `country`.
    """

    __tablename__ = "directory_entries"

    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200))
    texts: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    town_key: Mapped[str] = mapped_column(String(40), index=True)
    region: Mapped[str | None] = mapped_column(String(100), default=None)
    school_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    director: Mapped[str | None] = mapped_column(String(200), default=None)
    address: Mapped[str | None] = mapped_column(Text, default=None)
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(200), default=None)
    website: Mapped[str | None] = mapped_column(String(500), default=None)
    # Every name and place folded the same way on every database, for the search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    claimed_school_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("schools.id", ondelete="SET NULL"), default=None
    )
    claimed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
