"""The statements run on every request bind UUIDs and UTC times for SQLite in one step
(`exchange.database.PreparedRead`), giving exactly what SQLAlchemy's and
advanced-alchemy's layers give, and leaving anything unusual to those layers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy.dialects import sqlite

from exchange.database import _direct_bind

DIALECT = sqlite.dialect()
UUIDS = [uuid4() for _ in range(50)] + [UUID(int=0), UUID(int=2**128 - 1)]
BISHKEK = timezone(timedelta(hours=6))
TIMES = [
    datetime(2026, 12, 8, 0, 0, tzinfo=UTC),
    datetime(2026, 12, 8, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(1999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    datetime(2026, 3, 1, 12, 0, tzinfo=BISHKEK),  # not UTC: the layers convert it
]


def layered_bind(type_: object) -> object:
    return type_.dialect_impl(DIALECT).bind_processor(DIALECT)  # type: ignore[attr-defined]


def test_a_uuid_is_bound_as_the_layers_do() -> None:
    layers = layered_bind(GUID())
    bind = _direct_bind(GUID(), layers)
    assert bind is not layers  # the direct one
    for value in UUIDS:
        assert bind(value) == layers(value)  # type: ignore[operator]
        assert bind(value.hex) == layers(value.hex)  # type: ignore[operator]


def test_a_time_is_bound_as_the_layers_do_and_a_time_without_zone_still_refused() -> None:
    layers = layered_bind(DateTimeUTC(timezone=True))
    bind = _direct_bind(DateTimeUTC(timezone=True), layers)
    assert bind is not layers
    for value in TIMES:
        assert bind(value) == layers(value)  # type: ignore[operator]
    with pytest.raises(TypeError):
        bind(datetime(2026, 12, 8, 1, 2, 3))


def test_other_types_keep_their_own_conversion() -> None:
    from sqlalchemy import JSON, Enum, String

    for type_ in (JSON(), Enum("admin", "teacher", name="role"), String(64)):
        layers = layered_bind(type_)
        assert _direct_bind(type_, layers) is layers
