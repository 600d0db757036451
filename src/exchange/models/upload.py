from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.types import JsonDocument


class Upload(UUIDv7AuditBase):
    """A resumable (tus) upload: a file arriving in pieces, maybe over days.

    Its metadata was checked when it was created and its size counts against the
    school's quota (`schools.storage_used_bytes`) from then until it is abandoned,
    refused or expires; once done, those bytes are the new version's. `offset` is how
    many bytes are durable in the store; `store_state` is what the store needs to go on
    (an S3 multipart upload's id and parts), so any app instance can continue it.
    `writer` marks the request appending to it (with `writer_seen_at` as its pulse), so
    two requests never write the same upload at once.
    """

    __tablename__ = "uploads"

    school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    # For a new version: the resource it adds to. Once done: the resource it made.
    resource_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("resources.id", ondelete="SET NULL"), default=None
    )
    for_version: Mapped[bool] = mapped_column(Boolean, default=False)
    fields: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    filename: Mapped[str] = mapped_column(String(300))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), default="receiving")
    problem: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, default=None)
    blob_key: Mapped[str] = mapped_column(String(64))
    store_state: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    writer: Mapped[str | None] = mapped_column(String(32), default=None)
    writer_seen_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )
