from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.models.enums import Licence, ResourceKind, StudentConsent, Visibility
from exchange.models.types import JsonDocument, StoredEnum


class Resource(UUIDv7AuditBase):
    """Something a school shares, with one or more stored versions."""

    __tablename__ = "resources"
    # A school's resources by time: what partners added lately (the dashboard), and a
    # school's resources at all (the search's owners).
    __table_args__ = (Index("ix_resources_owner_created", "owner_school_id", "created_at"),)

    owner_school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    created_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[ResourceKind] = mapped_column(StoredEnum(ResourceKind, 32))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(String(100), default=None)
    grades: Mapped[list[int]] = mapped_column(JsonDocument, default=list)
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    licence: Mapped[Licence] = mapped_column(
        StoredEnum(Licence, 32), default=Licence.ALL_RIGHTS_RESERVED
    )
    visibility: Mapped[Visibility] = mapped_column(
        StoredEnum(Visibility, 16), default=Visibility.PARTNERS, index=True
    )
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    co_authors: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    derived_from_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("resources.id", ondelete="SET NULL"), default=None, index=True
    )
    # The number of the original's version this one was adapted from.
    derived_from_version: Mapped[int | None] = mapped_column(Integer, default=None)
    current_version_number: Mapped[int] = mapped_column(Integer, default=0)
    # A student's work leaves its school only with consent on file (`StudentConsent`),
    # recorded by a member at a time; the audit trail keeps every change.
    student_consent: Mapped[StudentConsent | None] = mapped_column(
        StoredEnum(StudentConsent, 32), default=None
    )
    student_consent_recorded_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    student_consent_recorded_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )

    authors: Mapped[list[ResourceAuthor]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", passive_deletes=True
    )
    shares: Mapped[list[ResourceShare]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", passive_deletes=True
    )


class ResourceAuthor(UUIDv7AuditBase):
    """A member of the owner school credited as an author (may decide its requests)."""

    __tablename__ = "resource_authors"
    __table_args__ = (UniqueConstraint("resource_id", "member_id"),)

    resource_id: Mapped[UUID] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    member_id: Mapped[UUID] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )


class ResourceShare(UUIDv7AuditBase):
    """A partner school named in `shared_with` for visibility `selected`."""

    __tablename__ = "resource_shares"
    __table_args__ = (UniqueConstraint("resource_id", "school_id"),)

    resource_id: Mapped[UUID] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    school_id: Mapped[UUID] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )


class ResourceVersion(UUIDv7AuditBase):
    """One stored file of a resource. `blob_key` is random: it never holds user text."""

    __tablename__ = "resource_versions"
    __table_args__ = (UniqueConstraint("resource_id", "number"),)

    resource_id: Mapped[UUID] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(200), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(255))
    # The encoding of a text file (an IANA name such as utf-8 or windows-1251), sent in
    # the download's Content-Type; None for every other kind of file.
    charset: Mapped[str | None] = mapped_column(String(40), default=None)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    # What changed from the version before, in the uploader's words; None for the first
    # version and for versions uploaded without a note.
    change_note: Mapped[str | None] = mapped_column(Text, default=None)
    # The small image shown before a download (`exchange.previews`): `pending` until the
    # preview job has run, then `ready` (stored under `preview_blob_key`, a key of the
    # same store, served with `preview_etag`) or `none`. Versions from before previews
    # existed have none.
    preview_state: Mapped[str] = mapped_column(String(16), default="pending", server_default="none")
    preview_blob_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    preview_etag: Mapped[str | None] = mapped_column(String(80), default=None)
    # What a download costs besides its size: a PDF's or document's pages, the seconds
    # of a sound or video file; None where the file does not say.
    pages: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_seconds: Mapped[float | None] = mapped_column(Float, default=None)
