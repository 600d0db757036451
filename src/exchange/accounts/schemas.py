"""Shapes of the accounts API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="An e-mail address, e.g. teacher@school.kg",
    ),
]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Language = Literal["ky", "ru", "en"]


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class TokenOut(msgspec.Struct):
    access_token: str
    expires_at: datetime
    token_type: Literal["bearer"] = "bearer"


class MemberCreate(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    full_name: PersonName
    role: Literal["admin", "teacher"] = "teacher"
    position: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class MemberUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A change of a member's own details: only the fields sent change. `language` is
    the language the member reads the exchange in (`null`: their browser's, else their
    school's first language)."""

    full_name: PersonName | UnsetType = UNSET
    position: Annotated[str, msgspec.Meta(max_length=200)] | UnsetType | None = UNSET
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
