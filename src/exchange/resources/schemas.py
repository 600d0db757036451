"""Shapes of the resources API.

Uploads are multipart forms read by `exchange.resources.upload`; their fields are
described in `exchange.resources.metadata.FORM_FIELDS`. Changes are JSON.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from exchange.kernel.paging import Page
from exchange.kernel.refs import MemberRef, SchoolRef
from exchange.previews import PreviewState
from exchange.search.schemas import ExtractionState


class ResourceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A change of metadata: only the fields sent change. The file changes by uploading a
    new version; `derived_from` never changes (provenance is fixed at upload)."""

    title: str | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    subject: str | UnsetType | None = UNSET
    grades: list[int] | UnsetType = UNSET
    language: str | UnsetType | None = UNSET
    description: str | UnsetType | None = UNSET
    visibility: str | UnsetType = UNSET
    shared_with: list[UUID] | UnsetType = UNSET
    confidential: bool | UnsetType = UNSET
    licence: str | UnsetType = UNSET
    author_ids: list[UUID] | UnsetType = UNSET
    co_authors: list[str] | UnsetType = UNSET
    # A student's work: 'parents' | 'not_needed_anonymous' records the consent on file;
    # null withdraws it, which narrows a shared student's work to visibility 'school'.
    student_consent: str | UnsetType | None = UNSET


class VersionOut(msgspec.Struct):
    number: int
    original_name: str
    media_type: str
    size: int
    sha256: str
    created_at: datetime
    uploaded_by: MemberRef | None = None
    # What changed from the version before, as its uploader wrote it.
    change_note: str | None = None
    # Its preview image (`.../versions/{number}/preview`): ready | pending (being made) |
    # none; the pages of a PDF or document and the seconds of a sound or video file,
    # where the file says.
    preview: PreviewState = "none"
    pages: int | None = None
    duration_seconds: float | None = None


class OriginalOut(msgspec.Struct):
    """A resource this one was adapted from: credited whether or not the reader can open
    it (rule 7: a derived resource always shows the original's authors and school)."""

    id: UUID
    version: int | None
    title: str
    school: SchoolRef
    authors: list[MemberRef]
    co_authors: list[str]
    licence: str


class ResourceOut(msgspec.Struct):
    id: UUID
    title: str
    kind: str
    subject: str | None
    grades: list[int]
    language: str | None
    description: str
    visibility: str
    # The partners it is shared with: shown to the owner school only.
    shared_with: list[UUID]
    confidential: bool
    licence: str
    school: SchoolRef
    authors: list[MemberRef]
    co_authors: list[str]
    media_type: str
    size: int
    sha256: str
    current_version: VersionOut
    derived_from: OriginalOut | None
    # The chain of originals, nearest first, up to the first resource of the line.
    provenance: list[OriginalOut]
    # The consent on file that lets a student's work leave its school ('parents',
    # 'not_needed_anonymous' or null), who recorded it and when (null if never).
    student_consent: str | None
    student_consent_recorded_by: MemberRef | None
    student_consent_recorded_at: datetime | None
    can_edit: bool
    created_at: datetime
    updated_at: datetime
    # Whether the text inside the current file is searchable yet: pending | done |
    # no_text | unsupported | failed, and a sentence when it is not (fully).
    extraction_status: ExtractionState
    extraction_reason: str | None
    # The status in words a teacher reads, in the request's language.
    extraction_label: str = ""
    # The current version's preview image (`/api/resources/{id}/preview`): ready |
    # pending (being made) | none; its pages and duration where they apply.
    preview: PreviewState = "none"
    pages: int | None = None
    duration_seconds: float | None = None


class VersionPage(Page[VersionOut]):
    """One page of a resource's versions, newest first."""
