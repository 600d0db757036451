from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import IdentityAuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class SearchDocument(IdentityAuditBase):
    """What search knows of one resource: how extraction of its current version went,
    and the key of its row in the full-text index (its text is in `SearchText`).

    The index itself belongs to migration 0004, not to the models: on SQLite an FTS5
    table whose rowid is this row's integer `id`, on PostgreSQL the `search_vector`
    (everything, weighted) and `head_vector` (title and metadata only) tsvector columns of
    this table. `exchange.search.index` writes both from the same normalised text,
    and on PostgreSQL the resource's school with them (`owner_school_id`, migration
    0008, indexed: a search intersects a few schools' documents with the matches).
    """

    __tablename__ = "search_documents"

    resource_id: Mapped[UUID] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), unique=True
    )
    # pending | done | no_text | unsupported | failed (see exchange.text.extraction).
    extraction_status: Mapped[str] = mapped_column(String(16), default="pending")
    # A sentence for the resource page when the text is partial or missing.
    extraction_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # The version whose text `body` holds; a newer version is pending until extracted.
    extracted_version: Mapped[int | None] = mapped_column(Integer, default=None)
    extracted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    text_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Normalised names of the authors and co-authors, for the `author` filter.
    authors_text: Mapped[str] = mapped_column(Text, default="")


class SearchText(IdentityAuditBase):
    """The text extracted from a resource's current version, as extracted (not
    normalised): snippets are cut from it.

    Kept apart from `SearchDocument` so that the rows a search weighs by the thousand stay
    narrow; a text is read only for the page of results shown.
    """

    __tablename__ = "search_texts"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("search_documents.id", ondelete="CASCADE"), unique=True
    )
    body: Mapped[str] = mapped_column(Text, default="")
