"""Shapes of the search API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import msgspec

from exchange.kernel.refs import MemberRef, SchoolRef
from exchange.previews import PreviewState

ExtractionState = Literal["pending", "done", "no_text", "unsupported", "failed"]
SortOrder = Literal["relevance", "newest"]


class VersionSummary(msgspec.Struct):
    number: int
    media_type: str
    size: int
    original_name: str
    # Its preview (`/api/resources/{id}/preview`): ready | pending | none; the pages of a
    # PDF or document, the seconds of a sound or video file, where the file says.
    preview: PreviewState = "none"
    pages: int | None = None
    duration_seconds: float | None = None


class TextExtraction(msgspec.Struct):
    """How far the text inside the resource's current file is searchable."""

    status: ExtractionState
    reason: str | None = None
    version: int | None = None
    truncated: bool = False
    # `status` in words a teacher reads, in the request's language.
    label: str = ""


class SearchItem(msgspec.Struct):
    id: UUID
    title: str
    kind: str
    subject: str | None
    grades: list[int]
    language: str | None
    licence: str
    visibility: str
    confidential: bool
    school: SchoolRef
    authors: list[MemberRef]
    co_authors: list[str]
    current_version: VersionSummary | None
    created_at: datetime
    extraction_status: ExtractionState
    # HTML: escaped text with the matches in <mark> elements; null without any text.
    snippet: str | None


class FacetCount(msgspec.Struct):
    value: str
    count: int


class GradeCount(msgspec.Struct):
    value: int
    count: int


class SchoolCount(msgspec.Struct):
    value: UUID
    name: str
    count: int


class Facets(msgspec.Struct):
    """Counts over the whole result set (every page), of what the caller may read."""

    kind: list[FacetCount]
    subject: list[FacetCount]
    grade: list[GradeCount]
    language: list[FacetCount]
    school: list[SchoolCount]


class SearchPage(msgspec.Struct):
    items: list[SearchItem]
    total: int
    # True when very many resources match (a common word, a short prefix): `total` and
    # the facets are then the share of a sample of the matches that the caller may read,
    # scaled to the number of matches (itself estimated on PostgreSQL, see migrations 0006
    # and 0007).
    total_is_estimate: bool
    facets: Facets
    next_cursor: str | None
    sort: SortOrder
