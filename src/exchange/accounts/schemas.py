"""Shapes of the accounts API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from exchange.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from exchange.display_text import LINE, CleanedInput
from exchange.kernel.paging import Page

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+$",
        description="An e-mail address, e.g. teacher@school.kg",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, extra=LINE)]
Position = Annotated[str, msgspec.Meta(max_length=200, extra=LINE)]
Language = Literal["ky", "ru", "en"]


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class TokenOut(msgspec.Struct):
    access_token: str
    expires_at: datetime
    token_type: Literal["bearer"] = "bearer"


# A password someone chooses: as long as `exchange.accounts.passwords` asks.
NewPassword = Annotated[
    str,
    msgspec.Meta(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description="At least 10 characters; a sentence of a few words is a good one.",
    ),
]


class MemberCreate(CleanedInput, forbid_unknown_fields=True):
    """A new member. Without `password` the answer carries a one-time
    `set_password_url` (valid 72 hours) for the member to choose theirs, e-mailed to
    them when the exchange sends mail."""

    email: Email
    full_name: PersonName
    password: NewPassword | UnsetType = UNSET
    role: Literal["admin", "teacher"] = "teacher"
    position: Position | None = None


class MemberUpdate(CleanedInput, forbid_unknown_fields=True):
    """A change of a member's own details: only the fields sent change. `language` is
    the language the member reads the exchange in (`null`: their browser's, else their
    school's first language)."""

    full_name: PersonName | UnsetType = UNSET
    position: Position | UnsetType | None = UNSET
    language: Language | UnsetType | None = UNSET


class MemberOut(msgspec.Struct):
    id: UUID
    school_id: UUID
    email: str
    full_name: str
    position: str | None
    role: str
    is_active: bool
    created_at: datetime
    language: str | None = None


class MemberAdded(MemberOut):
    """The member added; when added without a password, the link to set it with."""

    set_password_url: str | None = None
    expires_at: datetime | None = None
    link_emailed: bool | None = None


class PasswordLinkOut(msgspec.Struct):
    """A one-time link to set a password (`/set-password?token=...`): it works once,
    until `expires_at`, and earlier links of the member no longer work."""

    member_id: UUID
    set_password_url: str
    expires_at: datetime
    emailed: bool


class SetPassword(msgspec.Struct, forbid_unknown_fields=True):
    """The token of a set-password link (the `token` of its URL) and the new password."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    new_password: NewPassword


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: NewPassword


class SchoolSummary(msgspec.Struct):
    id: UUID
    name: str
    region: str | None
    locality: str | None
    kind: str | None


class MeOut(msgspec.Struct):
    """The signed-in member, their role and their school."""

    id: UUID
    email: str
    full_name: str
    position: str | None
    role: str
    school_id: UUID
    school: SchoolSummary
    language: str | None = None


class MemberPage(Page[MemberOut]):
    """One page of the school's members."""
