"""Shapes of the partnerships and code-of-conduct API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from exchange.display_text import LINE, PARAGRAPHS, CleanedInput
from exchange.kernel.paging import Page
from exchange.kernel.refs import MemberRef, SchoolRef

LetterLanguage = Literal["ky", "ru", "en"]
Goal = Annotated[
    str,
    msgspec.Meta(
        max_length=500,
        extra=LINE,
        description="A concrete sentence, e.g. 'Exchange lesson plans for grade 7 mathematics'",
    ),
]
Characteristic = Annotated[
    str,
    msgspec.Meta(
        max_length=32,
        extra=LINE,
        description="local | international, virtual and/or real, urban_rural, formal | informal",
    ),
]
Note = Annotated[str, msgspec.Meta(max_length=2000, extra=PARAGRAPHS)]


class PartnershipInvite(CleanedInput, forbid_unknown_fields=True):
    partner_school_id: UUID
    goals: Annotated[list[Goal], msgspec.Meta(max_length=50)]
    language: LetterLanguage
    characteristics: Annotated[list[Characteristic], msgspec.Meta(max_length=20)] = []
    coordinator_id: UUID | None = None


class PartnershipAccept(msgspec.Struct, forbid_unknown_fields=True):
    """The invited school's coordinator may be named when accepting."""

    coordinator_id: UUID | None = None


class PartnershipClose(CleanedInput, forbid_unknown_fields=True):
    """An optional word to the other school when declining, withdrawing or ending."""

    note: Note | None = None


class PartnershipUpdate(CleanedInput, forbid_unknown_fields=True):
    """Only the fields sent change; `coordinator_id` is the caller's own side's."""

    characteristics: Annotated[list[Characteristic], msgspec.Meta(max_length=20)] | UnsetType = (
        UNSET
    )
    goals: Annotated[list[Goal], msgspec.Meta(max_length=50)] | UnsetType = UNSET
    coordinator_id: UUID | UnsetType | None = UNSET


class MemberContact(MemberRef):
    """A member named in a partnership: the partner school sees who to talk to."""

    position: str | None
    email: str


class PartnershipSideOut(msgspec.Struct):
    school: SchoolRef
    coordinator: MemberContact | None
    # The code-of-conduct version this side agreed to, who agreed and when (the inviter
    # agrees when inviting, the invited school when accepting).
    agreed_conduct_version: int | None
    agreed_by: MemberContact | None
    agreed_at: datetime | None


class PartnershipOut(msgspec.Struct):
    id: UUID
    status: str
    my_side: Literal["inviting", "invited"]
    partner_school: SchoolRef
    inviting: PartnershipSideOut
    invited: PartnershipSideOut
    characteristics: list[str]
    goals: list[str]
    language: str
    invitation_letter: str
    invited_at: datetime
    accepted_at: datetime | None
    closed_at: datetime | None
    closed_by: MemberContact | None
    # The reason given when the invitation was declined or withdrawn or the partnership
    # ended, as its school wrote it (both schools read it).
    closed_reason: str | None
    # Rule 9 for an open invitation: `respond_by` is 30 days after it was sent; past it
    # the invitation is `overdue`, and the inviting school may remind the invited school
    # once (`reminded_at`). Both are null/false once the invitation is answered.
    respond_by: datetime | None
    overdue: bool
    reminded_at: datetime | None
    updated_at: datetime


class ConductRuleOut(msgspec.Struct):
    number: int
    text: dict[str, str]


class CodeOfConductOut(msgspec.Struct):
    """One version of the code of conduct, in Kyrgyz (the original), Russian and English."""

    version: int
    published_at: datetime
    title: dict[str, str]
    preamble: dict[str, str]
    rules: list[ConductRuleOut]


class PartnershipPage(Page[PartnershipOut]):
    """One page of the school's partnerships."""
