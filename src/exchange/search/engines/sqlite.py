"""Search on SQLite, with FTS5.

Each ranking tier is walked newest first straight from the index, and the walk stops
when the page is full, so a page costs about the same for a word in ten resources or in
ten thousand. A list without words, or words of few matches, runs in the request's
own thread; more matches go to a worker thread, and their total and facets are counted
meanwhile on a second connection. More than `COUNT_SAMPLE` matches are counted, and
sampled evenly by their position, in one pass over FTS5's list of matches.
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
from exchange.search.engines.run import Counts, Estimates, SearchRun, Universe
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
# A search whose words match at most this many documents runs in the calling thread
# (see `SqliteSearch`).
INLINE_AT_MOST = 256


class SqliteSearch:
    """Searches on SQLite's reader connections (a search only reads what is committed).

    A list without words, and a search whose words match few documents
    (`INLINE_AT_MOST`), run right in the event loop's thread, on that thread's kept
    connection: they read a page of rows by key and count a few hundred at most, less
    than a hand-off to a worker thread and back costs on a busy machine. A search whose
    words match more continues in a worker thread, on a connection of its own, while
    the total and facets are counted on a second one at the same time (see
    `SqliteRun.count_aside`). Estimated totals and facets are kept a few seconds
    (`run.Estimates`)."""

    def __init__(self, reader: Engine) -> None:
        self._reader = reader
        self.estimates = Estimates()

    async def find(self, session: AsyncSession, wanted: WantedPage) -> Found:
        search, after = wanted.search, wanted.after
        shape, values = SqliteRun.prepared(wanted.identity, search, wanted.now)
        searching = SqliteRun(self._reader, search, shape, values, self.estimates)
        try:
            if searching.light():
                return searching.found(after)
            return await anyio.to_thread.run_sync(
                functools.partial(searching.found, after, aside=True)
            )
        finally:
            searching.close()


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

    def joined(self, text: Any) -> ColumnElement[str]:
        joined: ColumnElement[str] = func.group_concat(text, ",")
        return joined

    def among_positions(self, position: Any) -> ColumnElement[bool]:
        listed = func.json_each(bindparam(statements.POSITIONS, type_=String))
        among: ColumnElement[bool] = position.in_(select(listed.table_valued("value").c.value))
        return among

    def positions_value(self, positions: list[int]) -> Any:
        return json.dumps(positions)

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
    """A search's statements on SQLite: those whose SQL is fixed run as compiled on the
    calling thread's kept reader connection (`database.PreparedRead`), the others (a
    filter of several values, whose SQL depends on their number) on a session of the
    reader, opened when first needed."""

    sql = SQL

    def __init__(
        self,
        reader: Engine,
        search: Search,
        shape: Shape,
        values: dict[str, Any],
        estimates: Estimates | None = None,
    ) -> None:
        super().__init__(None, search, shape, values, estimates)
        self._reader = reader

    def opened_session(self) -> Session:
        if self.session is None:
            self.session = Session(self._reader)
        return self.session

    def close(self) -> None:
        if self.session is not None:
            self.session.close()

    def light(self) -> bool:
        """Whether the search is cheap enough to run without leaving the calling thread:
        a list without words, unless a school or author filter makes it count exactly
        (every resource of a school, perhaps); words whose matches are few (their
        universe is then worked out here)."""
        if self.search.query.is_empty:
            return not self.shape.narrowed
        universe = self.matched()
        return universe.source == "named" and universe.matched <= INLINE_AT_MOST

    def rows(self, statement: Executable, values: dict[str, Any]) -> Sequence[Any]:
        """Rows as tuples. A statement whose SQL is fixed runs as compiled once, straight
        on the calling thread's reader connection: SQLAlchemy would otherwise walk the
        whole statement (the read rule, a recursive query in part) on every run to find
        its compiled form, which costs more than SQLite takes to answer it."""
        prepared = _prepared(statement)
        if prepared is None or not prepared.runs_as_compiled(self._reader.dialect):
            return super().rows(statement, values)
        return prepared.all_on_reader(self._reader, values)

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
        reader, search, shape = self._reader, self.search, self.shape
        # The page's steps add their own values as they go; the count has its own copy.
        values = dict(self.values)

        def count() -> Counts:
            counting = SqliteRun(reader, search, shape, values)
            try:
                return counting.counts(universe)
            finally:
                counting.close()

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

    def name(self, rows: Sequence[Any]) -> None:
        self.values[statements.NAMED_POSITIONS] = json.dumps([int(row[0]) for row in rows])

    def name_positions(self, positions: list[int]) -> None:
        self.values[statements.NAMED_POSITIONS] = json.dumps(positions)

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
        ((matched, spread),) = self.rows(count_and_spread(), self.values | {SPREAD_EVERY: every})
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
