"""The one keyset cursor: it carries a list's sort key back exactly, and refuses one
that was altered, made up, or issued for another list."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from exchange.errors import InvalidInput
from exchange.kernel import paging

KINDS = (datetime, date, UUID, int, str)


def _document(cursor: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor + "=="))
    return document


def _encoded(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def test_a_cursor_carries_its_sort_key_back_exactly() -> None:
    key = (datetime(2026, 9, 1, 8, 30, tzinfo=UTC), date(2027, 3, 1), uuid4(), 7, "Ош «№5»")
    cursor = paging.encode_cursor(key, "scope")
    assert paging.decode_cursor(cursor, KINDS, "scope") == key


def test_a_cursor_of_another_list_or_filter_is_refused_as_such() -> None:
    cursor = paging.encode_cursor((1, 2), paging.fingerprint("schools", "osh"))
    with pytest.raises(InvalidInput) as refused:
        paging.decode_cursor(cursor, (int, int), paging.fingerprint("schools", "naryn"))
    assert "different list" in refused.value.detail


@pytest.mark.parametrize(
    "change",
    [
        {"k": [1]},
        {"k": [1, -1]},
        {"k": [1, True]},
        {"k": [1, 2**63]},
        {"k": ["1", 2]},
        {"k": "12"},
        {"v": 1},
    ],
)
def test_an_altered_cursor_is_refused(change: dict[str, Any]) -> None:
    document = _document(paging.encode_cursor((1, 2)))
    document.update(change)
    with pytest.raises(InvalidInput):
        paging.decode_cursor(_encoded(document), (int, int))


@pytest.mark.parametrize("token", ["", "not a cursor", "A" * 500, _encoded({"k": [1]})])
def test_a_made_up_cursor_is_refused(token: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        paging.decode_cursor(token, (int,))
    assert refused.value.extra["field"] == "cursor"


def test_a_time_without_its_zone_is_refused() -> None:
    document = _document(paging.encode_cursor((datetime(2026, 9, 1, tzinfo=UTC),)))
    document["k"] = ["2026-09-01T00:00:00"]
    with pytest.raises(InvalidInput):
        paging.decode_cursor(_encoded(document), (datetime,))


def test_after_reads_each_column_in_its_own_direction() -> None:
    table = Table("t", MetaData(), Column("name", String), Column("id", Integer))
    order = (paging.SortKey(table.c.name, str), paging.SortKey(table.c.id, int, descending=True))
    sql = str(select(table).where(paging.after(order, ("b", 3))).compile())
    assert "t.name > :name_1 OR t.name = :name_2 AND t.id < :id_1" in sql


def test_a_window_has_a_cursor_only_when_a_row_lies_beyond_it() -> None:
    rows = [(1,), (2,), (3,)]
    assert paging.window(rows, 3, lambda row: row).next_cursor is None
    page = paging.window(rows, 2, lambda row: row, "s")
    assert page.rows == [(1,), (2,)]
    assert page.next_cursor is not None
    assert paging.decode_cursor(page.next_cursor, (int,), "s") == (2,)
