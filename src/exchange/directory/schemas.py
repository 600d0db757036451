"""Shapes of the directory's unclaimed entries, invitations by e-mail, claims and
registration through a link."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from exchange.accounts.schemas import Email, NewPassword, PersonName
from exchange.display_text import LINE, CleanedInput
from exchange.partnerships.schemas import Characteristic, Goal, LetterLanguage

EntryKind = Literal["school", "sister_city"]
SchoolName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, extra=LINE)]


class SisterCityOut(msgspec.Struct):
    id: UUID
    city: str
    country: str


class EntryOut(msgspec.Struct):
    """A school or a sister city of the handbook's lists, as the handbook gives it, with
    the names of towns and countries in the reader's language. `on_exchange` is false
    until the entry is claimed; nobody signs in to an entry."""

    id: UUID
    kind: EntryKind
    name: str
    town: str
    on_exchange: bool
    region: str | None = None
    school_kind: str | None = None
    director: str | None = None
    address: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    website: str | None = None
    country: str | None = None
    # For a school: its town's sister cities (appendix 4); for a sister city: the Kyrgyz
    # town it is twinned with is `town`.
    sister_cities: list[SisterCityOut] = []
    claimable: bool = False
    school_id: UUID | None = None


class EntryPageOut(msgspec.Struct):
    items: list[EntryOut]
    next_cursor: str | None
    total: int


class EmailInvitation(CleanedInput, forbid_unknown_fields=True):
    """Invite a school that is not on the exchange: a handbook entry (`entry_id`) or any
    school by `school_name`, at `email`, with the partnership's terms as
    `POST /api/partnerships` takes them."""

    email: Email
    goals: Annotated[list[Goal], msgspec.Meta(max_length=50)]
    language: LetterLanguage
    characteristics: Annotated[list[Characteristic], msgspec.Meta(max_length=20)] = []
    entry_id: UUID | None = None
    school_name: SchoolName | None = None


class EmailInvitationOut(msgspec.Struct):
    """An invitation by e-mail. `registration_url` is answered once, when it is made: pass
    it on if `emailed` is false; only its hash is kept."""

    id: UUID
    email: str
    school_name: str
    entry_id: UUID | None
    status: Literal["waiting", "registered", "expired"]
    expires_at: datetime
    created_at: datetime
    school_id: UUID | None = None
    emailed: bool | None = None
    registration_url: str | None = None
    # The handbook's invitation letter the e-mail carries, answered when it is made.
    invitation_letter: str | None = None


class EmailInvitationList(msgspec.Struct):
    items: list[EmailInvitationOut]
    next_cursor: str | None


class ClaimRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The address the claim link goes to: the entry's own e-mail address, or one at the
    domain of its web site."""

    email: Email


class ClaimSent(msgspec.Struct):
    sent_to: str
    expires_at: datetime


class ClaimConfirmed(msgspec.Struct):
    school_id: UUID


class RegistrationOut(msgspec.Struct):
    """What a registration link is for, before it is used: `invitation` and `claim`
    register a school; `attach` makes the entry a school's already on the exchange."""

    purpose: Literal["invitation", "claim", "attach"]
    email: str
    school_name: str
    expires_at: datetime
    entry_id: UUID | None = None
    inviting_school: str | None = None


class Registration(CleanedInput, forbid_unknown_fields=True):
    """Register the school of a link: its first admin's name and password; the school's
    name may be corrected (the link's otherwise)."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    full_name: PersonName
    password: NewPassword
    school_name: SchoolName | None = None


class RegistrationLookup(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Registered(msgspec.Struct):
    school_id: UUID
    admin_id: UUID
    partnership_id: UUID | None
