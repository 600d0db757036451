"""What both engines do the same way: the search's values, a page without words, the
items a page shows, and totals and facets over the documents a search starts from.

Each engine's `SearchRun` subclass says which documents the words match and how they
are sampled (`universe`), and how a page of them is read (`page_with_words`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict, defaultdict, namedtuple
from collections.abc import Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeAlias

from sqlalchemy import Connection, Executable
from sqlalchemy.orm import Session

from exchange.accounts.identity import Identity
from exchange.policy.tuned import READER, reading_parameters
from exchange.search.cursor import CursorKey
from exchange.search.engines import statements
from exchange.search.engines.protocol import Found, Search
from exchange.search.engines.statements import AnySelect, SearchSql, Shape, Source

# Above this many matching documents, totals and facets are counted over a sample of
# at most this many and scaled (see `universe`).
COUNT_SAMPLE = 2000
# Either database counts totals and facets over at most this many sampled matches (a
# share of the sample is then known within about 1.5 percentage points): each is a
# resource looked up and checked against the access policy, the largest part of a
# search of many matches.
SAMPLE_AT_MOST = 1000
# A list without words (everything the caller may read) counts its total and facets
# over this many documents spread over the whole index when there are more than
# `COUNT_SAMPLE`: the list is the everyday request, and a share of 256 is known within
# about three percentage points, which the total's "about" allows.
LIST_SAMPLE = 256
# Documents looked at in the first window of a listing without words (see
# `SearchRun.page_without_words`).
FIRST_WINDOW = 1024

# The total, whether it is an estimate, the counts by facet, and the schools' names.
Counts: TypeAlias = tuple[int, bool, dict[str, list[tuple[str, int]]], dict[str, str]]

# How long an estimated total and facets are kept for the next identical search of the
# same school, in seconds.
ESTIMATES_FOR = 5.0
# Searches whose estimates are kept at once, at most (the oldest give way).
ESTIMATES_AT_MOST = 4096


class Estimates:
    """Estimated totals and facets (`total_is_estimate`), kept for `ESTIMATES_FOR`
    seconds per school and search (`SearchRun.estimate_key`): the everyday list of
    everything a school may read costs a sample's worth of reading and checking, while
    its estimate moves little from one second to the next. The key holds whose
    resources the caller may read besides its own, so a partnership that begins or ends
    and a forward made or cut count afresh at once, and no school is ever counted for a
    caller that may no longer read it; a resource added, changed, shared or deleted
    shows in the estimate within `ESTIMATES_FOR` (in the pages, at once). Exact counts
    are never kept. One per app (the search engine's), for its database."""

    def __init__(self, seconds: float = ESTIMATES_FOR, at_most: int = ESTIMATES_AT_MOST) -> None:
        self.seconds = seconds
        self.at_most = at_most
        self._kept: OrderedDict[Hashable, tuple[float, Counts]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Counts | None:
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                return None
            if found[0] <= time.monotonic():
                del self._kept[key]
                return None
            return found[1]

    def keep(self, key: Hashable, counts: Counts) -> None:
        with self._lock:
            self._kept[key] = (time.monotonic() + self.seconds, counts)
            self._kept.move_to_end(key)
            while len(self._kept) > self.at_most:
                self._kept.popitem(last=False)


@dataclass(frozen=True)
class Universe:
    """The documents a search's words match, before visibility and filters."""

    # Every document when there are no words; named outright when few match.
    source: Source
    # How many match: exactly, or estimated from a sample (`sample` is then not 0).
    matched: int
    # When many match, the number of matching documents named as a sample, over which
    # totals and facets may be counted and scaled to `matched`.
    sample: int = 0
    # Named documents: every match of the words, not only those of the caller's school
    # and partners (see `PostgresRun.reaches_few`).
    every_match: bool = True

    @property
    def sampled(self) -> bool:
        return self.sample > 0


class SearchRun:
    """One search's statements, run in order on a synchronous session: the request's
    (PostgreSQL, through `AsyncSession.run_sync`) or a reader's in a worker thread
    (SQLite).

    They run on the session's connection, in its transaction: they select columns, not
    entities, and the ORM's handling of each result row (thousands, for a sample) would
    cost more than reading them."""

    sql: ClassVar[SearchSql]

    def __init__(
        self,
        db: Session | None,
        search: Search,
        shape: Shape,
        values: dict[str, Any],
        estimates: Estimates | None = None,
    ) -> None:
        self.session = db
        self.search = search
        self.shape = shape
        self.values = values
        self.estimates = estimates
        self._universe: Universe | None = None

    @functools.cached_property
    def db(self) -> Connection:
        """The connection the statements run on, the session's."""
        return self.opened_session().connection()

    def opened_session(self) -> Session:
        if self.session is None:
            raise RuntimeError("a search run without a session")
        return self.session

    @classmethod
    def prepared(
        cls, identity: Identity, search: Search, now: datetime
    ) -> tuple[Shape, dict[str, Any]]:
        """The search's shape, and the values of its parameters (see `statements`). Every
        statement of the search is given these, so all of them share the caller's
        visibility at one instant."""
        shape = Shape(
            sql=cls.sql,
            kinds=bool(search.kinds),
            subjects=bool(search.subjects),
            grades=bool(search.grades),
            languages=bool(search.languages),
            schools=bool(search.school_ids),
            licences=bool(search.licences),
            author_id=search.author_id is not None,
            author_words=len(search.author_words),
            several_parts=len(search.query.terms) + len(search.query.phrases) > 1,
        )
        values: dict[str, Any] = {
            **reading_parameters(identity, now),
            statements.KINDS: list(search.kinds),
            statements.SUBJECTS: list(search.subjects),
            statements.LANGUAGES: list(search.languages),
            statements.SCHOOL_IDS: list(search.school_ids),
            statements.LICENCES: list(search.licences),
            statements.AUTHOR_ID: search.author_id,
            statements.PROBE_LIMIT: COUNT_SAMPLE + 1,
        }
        for number, word in enumerate(search.author_words):
            values[f"{statements.AUTHOR_WORD}{number}"] = f"% {word}%"
        return shape, values | cls.database_values(search)

    def found(self, after: CursorKey | None, *, aside: bool = False) -> Found:
        """The page, with the total and facets; those counted on another connection
        while the page is read when `aside` (see `count_aside`). Estimated totals and
        facets are taken from `estimates` while they are fresh."""
        search = self.search
        words = not search.query.is_empty
        # Without words the counts are estimated whenever there are many documents; with
        # words, only when the words match many (which the universe tells).
        universe = self.matched() if words else None
        key = self.estimate_key() if universe is None or universe.sampled else None
        counts = self.estimates.get(key) if key is not None and self.estimates else None
        if counts is None and universe is None:
            universe = self.matched()
        counting = None
        if aside and counts is None and universe is not None:
            counting = self.count_aside(universe)
        if words:
            assert universe is not None
            keys = self.page_with_words(universe, after)
        else:
            keys = self.page_without_words(after)
        rows, authors = self.items(keys[: search.limit])
        if counts is None:
            assert universe is not None
            counts = counting.result() if counting is not None else self.counts(universe)
            if key is not None and self.estimates is not None and counts[1]:
                self.estimates.keep(key, counts)
        total, estimated, counted, names = counts
        return Found(keys, rows, authors, total, estimated, counted, names)

    def matched(self) -> Universe:
        """The universe, worked out once per run."""
        if self._universe is None:
            self._universe = self.universe()
        return self._universe

    def estimate_key(self) -> Hashable | None:
        """What an estimated total and facets of this search depend on, when they may be
        kept (`Estimates`): the caller's school, whose resources it may read besides its
        own (`policy.tuned.reach_of_caller`: its active partners, the forwards that
        reach it) and the search itself (words, filters, sort). None when nothing is
        kept for it: a school or author filter (counted exactly), or no `Estimates`."""
        if self.estimates is None or self.shape.narrowed:
            return None
        ((size, reach),) = self.rows(statements.reach_digest(self.sql), self.values)
        return (self.values[READER], size, reach, self.search.fingerprint)

    # --- what each database does its own way ----------------------------------------------

    @classmethod
    def database_values(cls, search: Search) -> dict[str, Any]:
        """The values this database takes its own way: the grades and the words."""
        raise NotImplementedError

    def universe(self) -> Universe:
        """Which documents the words match (all of them without words), how many, and,
        when they are many, a sample of them, named in `values`."""
        raise NotImplementedError

    def page_with_words(self, universe: Universe, after: CursorKey | None) -> list[CursorKey]:
        raise NotImplementedError

    def name(self, rows: Sequence[Any]) -> None:
        """Names documents, from (position, resource id as text) rows."""
        raise NotImplementedError

    def count_aside(self, universe: Universe) -> Future[Counts] | None:
        """The total and facets, being counted elsewhere while the page is read; None
        when they are counted after the page, on the same connection."""
        return None

    # --- alike on both ----------------------------------------------------------------------

    def rows(self, statement: Executable, values: dict[str, Any]) -> Sequence[Any]:
        return self.db.execute(statement, values).all()

    def last_position(self) -> int | None:
        found = self.rows(statements.last_position(), {})
        return int(found[0][0]) if found and found[0][0] is not None else None

    def spread_over_positions(self, top: int) -> Universe:
        """Every document, estimated: `LIST_SAMPLE` positions spread evenly from the
        newest to the oldest are named as the sample, and the last position stands for
        the number of documents. A position whose document was deleted is in neither the
        count nor the documents, so a corpus with gaps is scaled as one without."""
        size = min(COUNT_SAMPLE, LIST_SAMPLE)
        every = max(1, top // size)
        positions = list(range(top, 0, -every)[:size])
        self.name_positions(positions)
        return Universe("all", top, sample=len(positions))

    def name_positions(self, positions: list[int]) -> None:
        """Names the documents at these positions (some may be gone)."""
        raise NotImplementedError

    def first_matches_universe(self, words: bool) -> tuple[Universe | None, Sequence[Any]]:
        """The first `COUNT_SAMPLE` + 1 matches, named as the sample: the universe when
        they are all there is, else None (with them)."""
        rows = self.rows(statements.first_matches(self.sql, words), self.values)
        self.name(rows[:COUNT_SAMPLE])
        if len(rows) <= COUNT_SAMPLE:
            return Universe("named", len(rows)), rows
        return None, rows

    def counted_universe(self, words: bool, first: Sequence[Any]) -> Universe:
        """Every match counted, the first `COUNT_SAMPLE` of them the sample."""
        ((counted,),) = self.rows(statements.count_matches(self.sql, words), self.values)
        matched = int(counted or 0)
        matched = max(matched, len(first))
        source: Source = "matching" if words else "all"
        return Universe(source, matched, sample=COUNT_SAMPLE)

    def page_without_words(self, after: CursorKey | None) -> list[CursorKey]:
        """Newest first, without words. A school or author filter lets the database
        start from that filter's index. Otherwise the documents are walked newest first
        through windows of their ids, each window four times the last, until the page is
        full: a range of the primary key is what both databases start from, where left
        to themselves they would gather everything the caller may read and sort it."""
        shape, values = self.shape, self.values
        wanted = self.search.limit + 1
        if after is not None:
            values[statements.AFTER_POSITION] = after.position
        if shape.narrowed:
            values[statements.PAGE_LIMIT] = wanted
            bounds = "none" if after is None else "after"
            return keys_of(self.rows(statements.newest(shape, bounds), values))
        top = after.position - 1 if after is not None else self.last_position()
        keys: list[CursorKey] = []
        width = FIRST_WINDOW
        while top is not None and top > 0 and len(keys) < wanted:
            low = max(0, top - width)
            window = {
                statements.WINDOW_LOW: low,
                statements.WINDOW_TOP: top,
                statements.PAGE_LIMIT: wanted - len(keys),
            }
            keys += keys_of(self.rows(statements.newest(shape, "window"), values | window))
            top, width = low, width * 4
        return keys

    def items(self, keys: list[CursorKey]) -> tuple[dict[int, Any], Sequence[Any]]:
        """What the page shows of each document, by position, and its resources' authors."""
        if not keys:
            return {}, []
        page = {statements.POSITIONS: self.sql.positions_value([key.position for key in keys])}
        shown = statements.items(self.sql)
        item = _item_type(shown)
        rows = {row[0]: item._make(row) for row in self.rows(shown, page)}
        authors = self.rows(statements.authors(self.sql), page) if rows else []
        return rows, authors

    def counts(self, universe: Universe) -> Counts:
        """Total and facets: exact, or over the sample of `COUNT_SAMPLE` matching
        documents and scaled when there are more and no school or author filter narrows
        them (with such a filter the database starts from it, and counting is cheap)."""
        shape = self.shape
        sampled = universe.sampled and not shape.narrowed
        source: Source = "named" if sampled else universe.source
        scale = universe.matched / universe.sample if sampled else 1.0
        counted: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
        names: dict[str, str] = {}
        total = 0
        for facet, value, n, name in self.rows(statements.facets(shape, source), self.values):
            if facet == "total":
                total = round(int(n) * scale)
            elif value is not None:
                counted[facet].append((str(value), max(1, round(int(n) * scale))))
                if name is not None:
                    names[str(value)] = name
        return total, sampled, dict(counted), names


@functools.lru_cache(maxsize=4)
def _item_type(statement: AnySelect) -> Any:
    """A page item's row, its fields named as the columns of `statements.items` (the
    first is the position)."""
    return namedtuple("Item", [str(column.key) for column in statement.selected_columns])


def keys_of(rows: Sequence[Any]) -> list[CursorKey]:
    """Page keys from (score, position) rows."""
    return [CursorKey(score=int(score), position=int(position)) for score, position in rows]
