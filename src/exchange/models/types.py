"""Column types shared by the models."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import JSON, Enum
from sqlalchemy.dialects.postgresql import JSONB

# JSON on SQLite, JSONB on PostgreSQL.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def _values(members: type[StrEnum]) -> list[str]:
    return [member.value for member in members]


def StoredEnum(vocabulary: type[StrEnum], length: int) -> Enum:
    """A column holding one of a vocabulary's values: read back as its enum member,
    written from a member or its value, and refused when it is neither.

    Stored as the value's text in a VARCHAR(`length`), with neither a native enum type
    nor a CHECK constraint, as the columns always were: the stored rows, the migrations
    and the raw SQL that compares these columns with strings stay as they are, and a
    new value needs no migration.
    """
    return Enum(
        vocabulary,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=_values,
        validate_strings=True,
    )
