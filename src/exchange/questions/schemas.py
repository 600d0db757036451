"""Shapes of questions between partner schools and their answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from exchange.display_text import PARAGRAPHS, CleanedInput
from exchange.kernel.refs import MemberRef, SchoolRef

QuestionText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000, extra=PARAGRAPHS)]
AnswerText = Annotated[str, msgspec.Meta(max_length=8000, extra=PARAGRAPHS)]
MAX_LINKED = 20


class QuestionCreate(CleanedInput, forbid_unknown_fields=True):
    """Ask the partner school a concrete question ("How do you help students who fall
    behind in maths?"). `addressed_to_member_id`: a member of the partner school who is
    told first; without it the partner school's admins are told."""

    question: QuestionText
    addressed_to_member_id: UUID | None = None


class AnswerCreate(CleanedInput, forbid_unknown_fields=True):
    """Answer a question your school was asked: in words, with resources your partner can
    read, or by saying you cannot help now (`cannot_help: true`, the answer then says why
    if you like). Any member of the school that was asked may answer; a school may answer
    more than once (a later answer adds to the first)."""

    answer: AnswerText = ""
    resource_ids: Annotated[list[UUID], msgspec.Meta(max_length=MAX_LINKED)] = []
    cannot_help: bool = False


class LinkedResource(msgspec.Struct):
    """A resource linked to an answer. `title` is null and `readable` false when your
    school cannot read it (any more)."""

    id: UUID
    title: str | None
    readable: bool


class AnswerOut(msgspec.Struct):
    id: UUID
    answered_by: MemberRef | None
    answer: str
    cannot_help: bool
    resources: list[LinkedResource]
    created_at: datetime


class QuestionOut(msgspec.Struct):
    """`status`: `open` while waiting for its first answer, `answered` once answered (also
    with "we cannot help now"), `closed` when the partnership ended before an answer.
    `overdue`: open past `respond_by` (rule 9)."""

    id: UUID
    partnership_id: UUID
    asking_school: SchoolRef
    answering_school: SchoolRef
    asked_by: MemberRef | None
    addressed_to: MemberRef | None
    question: str
    status: Literal["open", "answered", "closed"]
    created_at: datetime
    respond_by: datetime
    overdue: bool
    escalated_at: datetime | None
    answered_at: datetime | None
    answers: list[AnswerOut]


class QuestionList(msgspec.Struct):
    """A page of questions, newest first, and how many of this direction are overdue."""

    items: list[QuestionOut]
    next_cursor: str | None
    direction: Literal["incoming", "outgoing"]
    overdue: int
