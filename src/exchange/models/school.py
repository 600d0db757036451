from __future__ import annotations

from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import BigInteger, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from exchange.kernel.text import fold
from exchange.models.enums import SchoolKind, SchoolLocality
from exchange.models.types import JsonDocument, StoredEnum


class School(UUIDv7AuditBase):
    """The tenant: everything in the exchange belongs to one school."""

    __tablename__ = "schools"

    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(100), default=None)
    locality: Mapped[SchoolLocality | None] = mapped_column(
        StoredEnum(SchoolLocality, 16), default=None
    )
    kind: Mapped[SchoolKind | None] = mapped_column(StoredEnum(SchoolKind, 16), default=None)
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
    # Name, region, strong subjects, offers and needs folded the same way on every
    # database, so that Cyrillic search is case-insensitive whatever the collation.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The region folded alone, for the directory's region filter ("osh" finds "Osh").
    region_key: Mapped[str] = mapped_column(String(100), default="", index=True)
    storage_used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)

    def refresh_search_keys(self) -> None:
        # One field per line, so a query word never matches across two fields.
        parts = [self.name, self.region, *(self.strong_subjects or []), self.offers, self.needs]
        self.search_text = "\n".join(fold(part) for part in parts if part)
        self.region_key = fold(self.region)


# Every path that writes a school (the API, the CLI, tests) keeps the folded columns true.
@event.listens_for(School, "before_insert")
@event.listens_for(School, "before_update")
def _fold_search_keys(_mapper: Any, _connection: Any, school: School) -> None:
    school.refresh_search_keys()
