"""Shapes of the audit API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from exchange.kernel.refs import MemberRef, SchoolRef


class AuditEventOut(msgspec.Struct):
    id: UUID
    occurred_at: datetime
    action: str
    outcome: str
    actor: MemberRef | None
    actor_school: SchoolRef | None
    resource_id: UUID | None
    partnership_id: UUID | None
    reuse_request_id: UUID | None
    other_school: SchoolRef | None
    details: dict[str, Any]
    # The title of the school's own resource the entry is about (as it is now, or as it
    # was when deleted), and the member an account entry is about: what a reader needs
    # to read the entry as a sentence.
    resource_title: str | None = None
    member: MemberRef | None = None


class AuditPage(msgspec.Struct):
    items: list[AuditEventOut]
    next_cursor: str | None


class SchoolDownloads(msgspec.Struct):
    school: SchoolRef
    downloads: int
    last_downloaded_at: datetime


class DownloadReport(msgspec.Struct):
    """Who downloaded the resource: each other school, how often, and when last.

    Downloads by the owner school itself are not counted."""

    resource_id: UUID
    total: int
    schools: list[SchoolDownloads]
