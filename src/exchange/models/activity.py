from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.enums import ActivityKind, ActivityStatus
from exchange.models.types import JsonDocument, StoredEnum


class Activity(UUIDv7AuditBase):
    """Something two partner schools do together: a meeting, an open day, a joint project.

    `goals` holds the partnership goals it serves as their sentences (a partnership's goals
    are a list that may be rewritten; the sentence keeps what the activity served).
    `responsible_member_ids` and `tasks` hold both schools' parts: each task is a mapping
    with `title`, `school_id`, `owner_member_id`, `due_on` (ISO date) and `done`.
    `resource_ids` are the linked resources; each reader sees only those they may read.
    """

    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_partnership_starts", "partnership_id", "starts_on"),
        Index("ix_activities_evaluation_reminder", "status", "done_at"),
    )

    partnership_id: Mapped[UUID] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"))
    kind: Mapped[ActivityKind] = mapped_column(StoredEnum(ActivityKind, 32))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    host_school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    goals: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    responsible_member_ids: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    cover_arrangements: Mapped[str] = mapped_column(Text, default="")
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    approval_obtained: Mapped[bool] = mapped_column(Boolean, default=False)
    resource_ids: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
    tasks: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)
    status: Mapped[ActivityStatus] = mapped_column(StoredEnum(ActivityStatus, 16))
    planned_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    # When it was marked done; its responsible members are reminded to evaluate it once,
    # `EVALUATION_REMINDER_AFTER` later (`evaluation_reminded_at` is that claim).
    done_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    evaluation_reminded_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )


class ActivityEvaluation(UUIDv7AuditBase):
    """One school's evaluation of a done activity: one per school, never rewritten."""

    __tablename__ = "activity_evaluations"
    __table_args__ = (UniqueConstraint("activity_id", "school_id"),)

    activity_id: Mapped[UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"))
    school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    went_well: Mapped[str] = mapped_column(Text)
    to_change: Mapped[str] = mapped_column(Text)
    # goal sentence -> progress 1..5
    goal_progress: Mapped[dict[str, int]] = mapped_column(JsonDocument, default=dict)
    continue_: Mapped[bool] = mapped_column("continue", Boolean)
    evaluated_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
