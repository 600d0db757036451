"""Lists: one keyset cursor for every list of the API.

Every list answers `{"items": [...], "next_cursor": ...}` (some add `total`) and takes
`limit` and `cursor`, so a client writes its paging once. A cursor holds the sort key
of the last item shown, so the next page starts strictly after it whatever was added
or removed meanwhile (an offset would skip or repeat rows), and a fingerprint of the
list it belongs to (its filters and order), so that it cannot be replayed against
another. It is not secret: a hand-made cursor can only move where a page starts, and
what the caller may read is decided in SQL on every page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange.errors import InvalidInput
from exchange.i18n import lazy_gettext

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

_VERSION = 3
_MAX_LENGTH = 400
# Integers in a key (positions, numbers) are natural and stay well inside BIGINT.
_INT_BOUND = 2**62

_BAD_CURSOR = lazy_gettext(
    "The cursor is not one this list returned. Start again from the first page "
    "(leave out `cursor`) and follow `next_cursor`."
)
_OTHER_LIST = lazy_gettext(
    "The cursor belongs to a different list (other words, filters or sort). "
    "Start again from the first page of this list."
)

KeyValue = datetime | date | UUID | int | str
T = TypeVar("T")

# The query parameters every list takes.
Limit = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_LIMIT, description="Items per page (at most 200)."),
]
Cursor = Annotated[
    str | None,
    QueryParameter(
        description="The `next_cursor` of the previous page; leave out for the first page."
    ),
]


class Page(msgspec.Struct, Generic[T]):
    """One page of a list. Pass `next_cursor` back as `cursor` for the next page; it is
    null on the last one."""

    items: list[T]
    next_cursor: str | None


def fingerprint(*parts: Any) -> str:
    """A short digest of what defines a list (its filters and order, not its page size
    or cursor)."""
    canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def encode_cursor(key: Sequence[KeyValue], scope: str = "") -> str:
    """The cursor after the item whose sort key is `key`, for the list `scope` names
    (`fingerprint(...)` of its filters)."""
    document = {"v": _VERSION, "f": scope, "k": [_encoded(value) for value in key]}
    raw = json.dumps(document, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, kinds: Sequence[type], scope: str = "") -> tuple[Any, ...]:
    """The sort key in `token`, its values of `kinds` (`datetime`, `date`, `UUID`, `int`, `str`),
    or `InvalidInput` (422, naming `cursor`) when it is malformed or belongs to another
    list."""
    if not token or len(token) > _MAX_LENGTH:
        raise InvalidInput(_BAD_CURSOR, field="cursor")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput(_BAD_CURSOR, field="cursor") from None
    if not isinstance(document, dict) or document.get("v") != _VERSION:
        raise InvalidInput(_BAD_CURSOR, field="cursor")
    if document.get("f") != scope:
        raise InvalidInput(_OTHER_LIST, field="cursor")
    values = document.get("k")
    if not isinstance(values, list) or len(values) != len(kinds):
        raise InvalidInput(_BAD_CURSOR, field="cursor")
    try:
        return tuple(_decoded(value, kind) for value, kind in zip(values, kinds, strict=True))
    except (TypeError, ValueError):
        raise InvalidInput(_BAD_CURSOR, field="cursor") from None


@dataclass(frozen=True)
class SortKey:
    """A column of a list's order and the kind of its values (`datetime`, `date`, `UUID`,
    `int` or `str`); the last column of an order must be unique (an id)."""

    column: Any
    kind: type
    descending: bool = False

    def value_of(self, row: Any) -> KeyValue:
        value: KeyValue = getattr(row, self.column.key)
        return value


def after(order: Sequence[SortKey], key: Sequence[KeyValue]) -> ColumnElement[bool]:
    """The rows strictly after `key` in `order`: written out as OR-ed prefixes, which
    both databases match with the index of the order, whatever each column's direction."""
    clauses: list[ColumnElement[bool]] = []
    for position, sort_key in enumerate(order):
        equal = [order[i].column == key[i] for i in range(position)]
        beyond = (
            sort_key.column < key[position]
            if sort_key.descending
            else sort_key.column > key[position]
        )
        clauses.append(and_(*equal, beyond) if equal else beyond)
    return or_(*clauses)


def ordering(order: Sequence[SortKey]) -> list[Any]:
    """`ORDER BY` terms for `order`."""
    return [key.column.desc() if key.descending else key.column.asc() for key in order]


@dataclass(frozen=True)
class Window(Generic[T]):
    """One page of rows and the cursor after it (`None` on the last page)."""

    rows: list[T]
    next_cursor: str | None


async def fetch(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    order: Sequence[SortKey],
    *,
    limit: int,
    cursor: str | None,
    scope: str = "",
) -> Window[Any]:
    """The page of `query`'s rows in `order` after `cursor`: ORM objects when it selects
    one, else rows whose first entity carries the sort key."""
    result = await session.execute(_page_of(query, order, limit, cursor, scope))
    return _window_of(result.all(), order, limit, scope)


def fetch_in(
    db: Session,
    query: Select[*tuple[Any, ...]],
    order: Sequence[SortKey],
    *,
    limit: int,
    cursor: str | None,
    scope: str = "",
) -> Window[Any]:
    """`fetch` in a synchronous session (`exchange.database.run_read`)."""
    return _window_of(
        db.execute(_page_of(query, order, limit, cursor, scope)).all(), order, limit, scope
    )


def _page_of(
    query: Select[*tuple[Any, ...]],
    order: Sequence[SortKey],
    limit: int,
    cursor: str | None,
    scope: str,
) -> Select[*tuple[Any, ...]]:
    if cursor:
        key = decode_cursor(cursor, [sort_key.kind for sort_key in order], scope)
        query = query.where(after(order, key))
    return query.order_by(*ordering(order)).limit(limit + 1)


def _window_of(
    result: Sequence[Any], order: Sequence[SortKey], limit: int, scope: str
) -> Window[Any]:
    rows: list[Any] = [row[0] if len(row) == 1 else row for row in result]

    def key_of(row: Any) -> list[KeyValue]:
        entity = row if isinstance(row, order[0].column.class_) else row[0]
        return [sort_key.value_of(entity) for sort_key in order]

    return window(rows, limit, key_of, scope)


def window(
    rows: Sequence[T], limit: int, key_of: Callable[[T], Sequence[KeyValue]], scope: str = ""
) -> Window[T]:
    """The page in `rows`, fetched with `LIMIT limit + 1`: the extra row, when there is
    one, only says that another page follows."""
    shown = list(rows[:limit])
    more = len(rows) > limit and bool(shown)
    return Window(shown, encode_cursor(key_of(shown[-1]), scope) if more else None)


def _encoded(value: KeyValue) -> Any:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, UUID):
        return value.hex
    return value


def _decoded(value: Any, kind: type) -> KeyValue:
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError(value)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(value)
        return moment
    if kind is date:
        if not isinstance(value, str):
            raise TypeError(value)
        return date.fromisoformat(value)
    if kind is UUID:
        if not isinstance(value, str):
            raise TypeError(value)
        return UUID(hex=value)
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(value)
        if not 0 <= value < _INT_BOUND:
            raise ValueError(value)
        return value
    if kind is str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    raise TypeError(kind)  # pragma: no cover - a list declares its key's kinds
