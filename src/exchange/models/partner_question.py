from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from exchange.models.types import JsonDocument


class PartnerQuestion(UUIDv7AuditBase):
    """A school asks its partner school a concrete question ("how do you help students
    who fall behind in maths?"), maybe addressed to one of the partner's members.

    Rule 9 holds as for reuse requests: the partner answers by `respond_by`; the first
    answer (which may be "we cannot help now") sets `answered_at`.
    """

    __tablename__ = "partner_questions"
    __table_args__ = (
        Index("ix_partner_questions_answering_open", "answering_school_id", "answered_at"),
        Index("ix_partner_questions_asking_open", "asking_school_id", "answered_at"),
        Index("ix_partner_questions_respond_by", "respond_by"),
    )

    partnership_id: Mapped[UUID] = mapped_column(
        ForeignKey("partnerships.id", ondelete="CASCADE"), index=True
    )
    asking_school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    answering_school_id: Mapped[UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    asked_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    addressed_to_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    question: Mapped[str] = mapped_column(Text)
    respond_by: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Set once, by whichever app instance first saw the question overdue (rule 9).
    escalated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)


class QuestionAnswer(UUIDv7AuditBase):
    """One answer of the partner school to a question: text and linked resources, or
    "we cannot help now" (`cannot_help`), which is an answer too (rule 9)."""

    __tablename__ = "question_answers"

    question_id: Mapped[UUID] = mapped_column(
        ForeignKey("partner_questions.id", ondelete="CASCADE"), index=True
    )
    answered_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), default=None
    )
    answer: Mapped[str] = mapped_column(Text, default="")
    cannot_help: Mapped[bool] = mapped_column(Boolean, default=False)
    # Ids of the linked resources (as strings), in the order the answerer gave them.
    resource_ids: Mapped[list[str]] = mapped_column(JsonDocument, default=list)
