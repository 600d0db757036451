"""Search on SQLite, with FTS5.

Each ranking tier is walked newest first straight from the index, and the walk stops
when the page is full, so a page costs about the same for a word in ten resources or in
ten thousand; the total and facets are counted meanwhile on a second connection. More
than `COUNT_SAMPLE` matches are counted, and sampled evenly by their position, in one
pass over FTS5's list of matches.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import anyio
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Engine,
    Executable,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    func,
    null,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TableValuedAlias

from exchange.database import PreparedRead
from exchange.models import Resource, SearchDocument
from exchange.search.cursor import CursorKey
from exchange.search.engines import run, statements
from exchange.search.engines.protocol import Found, Search, WantedPage
from exchange.search.engines.run import Counts, SearchRun, Universe
from exchange.search.engines.statements import AnySelect, Conditions, SearchSql, Shape
from exchange.search.fulltext import (
    BODY,
    SEARCH_INDEX,
    fts5_expression,
    fts5_match,
    fts5_matching_documents,
    fts5_tier_expression,
    tiers_of,
)

# The threads that count totals and facets while a search's page is read (see
# `SqliteRun.count_aside`); searches beyond this many at once wait their turn for them.
_COUNTING = ThreadPoolExecutor(max_workers=4, thread_name_prefix="exchange-search-counts")

# Every how many matches, by index position, one is sampled.
SPREAD_EVERY = "spread_every"


class SqliteSearch:
    """The whole search in one worker thread, on a connection of its own (a search only
    reads what is committed), rather than a hand-off to the driver's thread for every
    step of every statement (see `database.sqlite_reader`); the total and facets on a
    second one, at the same time."""

    def __init__(self, reader: Engine) -> None:
        self._reader = reader

    async def find(self, session: AsyncSession, wanted: WantedPage) -> Found:
        search, after = wanted.search, wanted.after
        shape, values = SqliteRun.prepared(wanted.identity, search, wanted.now)
        reader = self._reader

        def find_on_reader() -> Found:
            with Session(reader) as db:
                return SqliteRun(db, search, shape, values, reader=reader).found(after)

        return await anyio.to_thread.run_sync(find_on_reader)


class SqliteSql(SearchSql):
    """What SQLite writes its own way in the shared statements."""

    def json_elements(self, column: Any) -> TableValuedAlias:
        return func.json_each(column).table_valued("value")

    def element_text(self, value: Any) -> ColumnElement[str]:
        return cast(value, String)

    def key_text(self, key: Any) -> ColumnElement[str]:
        hex_key: ColumnElement[str] = func.hex(key)
        return hex_key

    def matching(self) -> Conditions:
        return Conditions((fts5_matching_documents(statements.MATCH),))

    def named(self) -> Conditions:
        """Named documents are a JSON list of their positions."""
        listed = func.json_each(bindparam(statements.NAMED_POSITIONS, type_=String))
        values = listed.table_valued("value")
        documents = SearchDocument.id.in_(select(values.c.value))
        return Conditions(
            (documents,), (Resource.id.in_(select(SearchDocument.resource_id).where(documents)),)
        )

    def first_matches(self, probe: Any) -> AnySelect:
        return (
            select(SEARCH_INDEX.c.rowid, self.resource_id_text())
            .where(fts5_match(statements.MATCH))
            .order_by(SEARCH_INDEX.c.rowid)
            .limit(probe)
        )

    def count_matches(self) -> AnySelect:
        return select(func.count()).select_from(SEARCH_INDEX).where(fts5_match(statements.MATCH))

    def resource_id_text(self) -> ColumnElement[Any]:
        return null()


SQL = SqliteSql()


class SqliteRun(SearchRun):
    sql = SQL

    def __init__(
        self,
        db: Session,
        search: Search,
        shape: Shape,
        values: dict[str, Any],
        *,
        reader: Engine | None = None,
    ) -> None:
        super().__init__(db, search, shape, values)
        self._reader = reader

    def rows(self, statement: Executable, values: dict[str, Any]) -> Sequence[Any]:
        """Rows as tuples. A statement whose SQL is fixed runs as compiled once, straight
        on the connection's SQLite cursor: SQLAlchemy would otherwise walk the whole
        statement (the read rule, a recursive query in part) on every run to find its
        compiled form, which costs more than SQLite takes to answer it."""
        prepared = _prepared(statement)
        dialect = self.db.dialect
        if prepared is None or not prepared.runs_as_compiled(dialect):
            return super().rows(statement, values)
        return prepared.rows_on(dialect, self.db.connection.dbapi_connection, values)

    def last_position(self) -> int | None:
        found = self.rows(statements.last_position(), {})
        return int(found[0][0]) if found and found[0][0] is not None else None

    @classmethod
    def database_values(cls, search: Search) -> dict[str, Any]:
        values: dict[str, Any] = {statements.GRADES: list(search.grades)}
        if not search.query.is_empty:
            values[statements.MATCH] = fts5_expression(search.query)
        return values

    def count_aside(self, universe: Universe) -> Future[Counts] | None:
        """The total and facets, counted on a second reader connection in a thread of
        `_COUNTING` while this one reads the page. Both mostly wait on SQLite, which
        lets other threads run meanwhile, so on a machine of two cores or more the
        search takes about the longer of the two rather than their sum."""
        if self._reader is None:
            return None
        reader, search, shape = self._reader, self.search, self.shape
        # The page's steps add their own values as they go; the count has its own copy.
        values = dict(self.values)

        def count() -> Counts:
            with Session(reader) as db:
                return SqliteRun(db, search, shape, values).counts(universe)

        return _COUNTING.submit(count)

    def universe(self) -> Universe:
        """When the first `COUNT_SAMPLE` matches are all there is, they are named
        outright (as a JSON list), so that SQLite plans for the rows there are rather
        than start from every resource the caller may read; it joins each match to its
        resource by key as it walks them, which costs little. When more match, they are
        counted and about `SAMPLE_AT_MOST` of them sampled evenly by position (see
        `spread_sample`), so that schools count in the facets as much when they joined
        late as when they joined early. Without words, every document matches: more
        than `COUNT_SAMPLE` of them are estimated from positions spread evenly over the
        whole index (`spread_over_positions`), with nothing counted or read first."""
        words = not self.search.query.is_empty
        if not words:
            top = self.last_position() or 0
            if top > run.COUNT_SAMPLE:
                return self.spread_over_positions(top)
        universe, first = self.first_matches_universe(words)
        if universe is not None:
            return universe
        if words:
            return self.spread_sample(first)
        return self.counted_universe(words, first)

    def spread_over_positions(self, top: int) -> Universe:
        """Every document, estimated: `LIST_SAMPLE` positions spread evenly from the
        newest to the oldest are named as the sample, and the last position stands for
        the number of documents. A position whose document was deleted is in neither the
        count nor the documents, so a corpus with gaps is scaled as one without."""
        size = min(run.COUNT_SAMPLE, run.LIST_SAMPLE)
        every = max(1, top // size)
        positions = range(top, 0, -every)[:size]
        self.name([(position,) for position in positions])
        return Universe("all", top, sample=len(positions))

    def name(self, rows: Sequence[Any]) -> None:
        self.values[statements.NAMED_POSITIONS] = json.dumps([int(row[0]) for row in rows])

    def spread_sample(self, first: Sequence[Any]) -> Universe:
        """More than `COUNT_SAMPLE` matches: counts them, and samples every k-th by index
        position, which spreads the sample over the whole corpus, in one pass. k comes
        from where the first matches end: the first `COUNT_SAMPLE` + 1 matches end at
        position p of the corpus's n, so about (COUNT_SAMPLE + 1) * n / p match, and k
        is that over the sample's size (`SAMPLE_AT_MOST`)."""
        size = min(run.COUNT_SAMPLE, run.SAMPLE_AT_MOST)
        last = int(first[-1][0])
        top = self.last_position() or last
        every = max(1, round(len(first) * top / last / size))
        matched, spread = self.db.execute(
            count_and_spread(), self.values | {SPREAD_EVERY: every}
        ).one()
        positions = json.loads(spread or "[]")
        matched = max(int(matched), len(first))
        if not positions:  # matches clustered between multiples of k: the first ones
            return Universe("matching", matched, sample=run.COUNT_SAMPLE)
        step = math.ceil(len(positions) / size)
        self.name([(position,) for position in positions[::step]])
        return Universe("matching", matched, sample=len(positions[::step]))

    def page_with_words(self, universe: Universe, after: CursorKey | None) -> list[CursorKey]:
        """Each tier is read from FTS5 in descending rowid order, which FTS5 delivers
        without sorting, and the reading stops at the end of the page."""
        search, shape, values = self.search, self.shape, self.values
        wanted = search.limit + 1
        keys: list[CursorKey] = []
        if search.sort == "newest":
            branches = [(BODY, fts5_expression(search.query))]
        else:
            branches = [
                (tier, fts5_tier_expression(search.query, tier)) for tier in tiers_of(search.query)
            ]
        for tier, expression in branches:
            if after is not None and tier > after.score:
                continue
            resumed = after is not None and tier == after.score
            tier_values = {
                statements.TIER_MATCH: expression,
                statements.PAGE_LIMIT: wanted - len(keys),
            }
            if after is not None:
                tier_values[statements.AFTER_POSITION] = after.position
            rows = self.rows(tier_page(shape, resumed), values | tier_values)
            keys.extend(CursorKey(score=tier, position=int(row[0])) for row in rows)
            if len(keys) >= wanted:
                break
        return keys


# --- its statements, each built once per shape ---------------------------------------------

# The statements run as compiled (`SqliteRun.rows`), by the statement they were compiled
# from: every statement of a search is built once per shape and kept, so few are seen.
_PREPARED: dict[int, tuple[Executable, PreparedRead]] = {}
_PREPARED_AT_MOST = 4 * statements.SHAPES_KEPT


def _prepared(statement: Executable) -> PreparedRead | None:
    if not isinstance(statement, Select | CompoundSelect):
        return None
    found = _PREPARED.get(id(statement))
    if found is not None and found[0] is statement:
        return found[1]
    if len(_PREPARED) >= _PREPARED_AT_MOST:  # shapes no longer kept by their builders
        _PREPARED.clear()
    prepared = PreparedRead(statement)
    _PREPARED[id(statement)] = (statement, prepared)
    return prepared


@functools.lru_cache(maxsize=1)
def count_and_spread() -> AnySelect:
    """The number of matches, and those whose index position is a multiple of
    `SPREAD_EVERY` (a JSON list), in one pass over FTS5's list of matches: no document
    is read."""
    position = SEARCH_INDEX.c.rowid
    every = bindparam(SPREAD_EVERY, type_=BigInteger)
    return select(
        func.count(), func.json_group_array(position).filter(position % every == 0)
    ).where(fts5_match(statements.MATCH))


@functools.lru_cache(maxsize=statements.SHAPES_KEPT)
def tier_page(shape: Shape, after: bool) -> AnySelect:
    """The documents of one ranking tier (`TIER_MATCH`) that pass the filters, newest
    first, from FTS5 in descending rowid order (which it delivers without sorting), up
    to `PAGE_LIMIT`; after `AFTER_POSITION` when `after`."""
    position = SEARCH_INDEX.c.rowid
    statement = (
        statements.documents_and_resources(position)
        .where(*statements.filters(shape).all)
        .join(SEARCH_INDEX, SEARCH_INDEX.c.rowid == SearchDocument.id)
        .where(fts5_match(statements.TIER_MATCH))
    )
    if after:
        statement = statement.where(
            position < bindparam(statements.AFTER_POSITION, type_=BigInteger)
        )
    return statement.order_by(position.desc()).limit(
        bindparam(statements.PAGE_LIMIT, type_=Integer)
    )
