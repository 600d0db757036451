from __future__ import annotations

from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.types import JsonDocument


class School(UUIDv7AuditBase):
    """The tenant: everything in the exchange belongs to one school."""

    __tablename__ = "schools"

    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(100), default=None)
    locality: Mapped[str | None] = mapped_column(String(16), default=None)
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    languages: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    address: Mapped[str | None] = mapped_column(Text, default=None)
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(64), default=None)
    website: Mapped[str | None] = mapped_column(String(500), default=None)
    # The profile: what the school offers and needs (the handbook's appendix 2).
    offers: Mapped[str | None] = mapped_column(Text, default=None)
    needs: Mapped[str | None] = mapped_column(Text, default=None)
    strong_subjects: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    self_assessment: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    # Name, region, offers and needs folded the same way on every database, so that
    # Cyrillic search is case-insensitive whatever the database's collation.
    search_text: Mapped[str] = mapped_column(Text, default="")
    storage_used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
