"""Shapes of the schools API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from exchange.accounts.schemas import Email
from exchange.display_text import LINE, PARAGRAPHS, CleanedInput
from exchange.partnerships.content import load_self_assessment

LanguageCode = Annotated[
    str,
    msgspec.Meta(pattern=r"^[a-z]{2,3}$", description="ISO 639 code, e.g. ky, ru, en, uz"),
]
LongText = Annotated[str, msgspec.Meta(max_length=4000, extra=PARAGRAPHS)]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=100, extra=LINE)]


# Answers keyed by the questions of the handbook's self-assessment shipped with the
# package: the document names the keys; another key is refused with `unknown_keys`.
SelfAssessmentAnswers = Annotated[
    dict[str, LongText],
    msgspec.Meta(
        extra_json_schema={
            "extra": {"propertyNames": {"enum": [q.key for q in load_self_assessment().questions]}}
        }
    ),
]


class ProfileUpdate(CleanedInput, forbid_unknown_fields=True):
    """The whole profile: a field left out is cleared."""

    region: Annotated[str, msgspec.Meta(max_length=100, extra=LINE)] | None = None
    locality: Literal["urban", "rural"] | None = None
    kind: Literal["state", "private", "international"] | None = None
    languages: Annotated[list[LanguageCode], msgspec.Meta(max_length=10)] = []
    address: Annotated[str, msgspec.Meta(max_length=500, extra=LINE)] | None = None
    contact_email: Email | None = None
    contact_phone: Annotated[str, msgspec.Meta(max_length=64, extra=LINE)] | None = None
    website: Annotated[str, msgspec.Meta(max_length=500, pattern=r"^https?://\S+$")] | None = None
    strong_subjects: Annotated[list[Subject], msgspec.Meta(max_length=30)] = []
    offers: LongText | None = None
    needs: LongText | None = None
    # Answers to the handbook's self-assessment, keyed by the question keys of
    # GET /api/schools/self-assessment.
    self_assessment: SelfAssessmentAnswers = {}


class SchoolOut(msgspec.Struct):
    """A school as the directory shows it: its published contact, never its members'."""

    id: UUID
    name: str
    region: str | None
    locality: str | None
    kind: str | None
    languages: list[str]
    address: str | None
    contact_email: str | None
    contact_phone: str | None
    website: str | None
    strong_subjects: list[str]
    offers: str | None
    needs: str | None
    # The self-assessment's answers, keyed by question: shown to the school itself and to
    # the schools it has an open invitation (either way) or an active partnership with;
    # null for every other school (rule 6: what a school says of its weaknesses stays
    # between partners).
    self_assessment: dict[str, str] | None
    is_own: bool
    # The caller's school's open partnership with this school, if any.
    partnership_id: UUID | None
    partnership_status: str | None
    updated_at: datetime


class SchoolPage(msgspec.Struct):
    """A page of the directory, by name, and how many schools match in all."""

    items: list[SchoolOut]
    next_cursor: str | None
    total: int


class SelfAssessmentQuestionOut(msgspec.Struct):
    key: str
    text: dict[str, str]


class SelfAssessmentOut(msgspec.Struct):
    version: int
    questions: list[SelfAssessmentQuestionOut]


class ReasonOut(msgspec.Struct):
    kind: Literal[
        "they_offer_what_you_need",
        "they_need_what_you_offer",
        "strong_in_what_you_need",
        "need_what_you_are_strong_in",
    ]
    words: list[str]
    message: str


class SuggestionOut(msgspec.Struct):
    school: SchoolOut
    score: int
    # Both schools have something the other needs: the handbook's two-way partnership.
    two_way: bool
    reasons: list[ReasonOut]


class SuggestionsOut(msgspec.Struct):
    """The best matches, best first: a short list (at most `limit`), never more pages,
    so `next_cursor` is always null."""

    items: list[SuggestionOut]
    next_cursor: None
    hint: str | None = None
