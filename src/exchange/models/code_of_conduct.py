from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.types import JsonDocument


class CodeOfConductVersion(UUIDv7AuditBase):
    """One published wording of the code of conduct; the highest version is in force.

    Versions are never edited: a partnership records the version each side agreed to,
    and that wording must stay readable as it was agreed.
    """

    __tablename__ = "code_of_conduct_versions"

    version: Mapped[int] = mapped_column(Integer, unique=True)
    # {"ky": ..., "ru": ..., "en": ...}
    title: Mapped[dict[str, str]] = mapped_column(JsonDocument)
    preamble: Mapped[dict[str, str]] = mapped_column(JsonDocument)
    # [{"number": 1, "text": {"ky": ..., "ru": ..., "en": ...}}, ...]
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    published_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
