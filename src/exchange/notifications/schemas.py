"""Shapes of the notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class NotificationOut(msgspec.Struct):
    id: UUID
    kind: str
    subject_type: str
    subject_id: UUID
    message: str
    payload: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    unread: bool


class NotificationPage(msgspec.Struct):
    """Newest first; pass `next_cursor` back as `cursor` for the next page."""

    items: list[NotificationOut]
    unread_count: int
    next_cursor: str | None


class ReadAllOut(msgspec.Struct):
    marked: int
    unread_count: int
