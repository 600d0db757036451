"""Searching what the caller may read: words, filters, facets and pages.

What a school may read comes from `policy.readable_resources`, and it is part of every
statement here (the page, the total and the facets), so nothing another school may not
read is ever counted or returned, and no filtering happens after the query.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from uuid import UUID

import anyio
from sqlalchemy import Connection, Engine, Executable, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.config import Settings
from exchange.database import sqlite_reader
from exchange.errors import InvalidInput
from exchange.i18n import _
from exchange.policy import reading_parameters
from exchange.resources.languages import is_language_code
from exchange.search import statements
from exchange.search.cursor import CursorKey, decode_cursor, encode_cursor, search_fingerprint
from exchange.search.fulltext import (
    BODY,
    TITLE,
    fts5_expression,
    fts5_tier_expression,
    tiers_of,
    tsquery_values,
)
from exchange.search.normalise import ParsedQuery, normalise_text, parse_query
from exchange.search.schemas import (
    AuthorRef,
    FacetCount,
    Facets,
    GradeCount,
    SchoolCount,
    SchoolRef,
    SearchItem,
    SearchPage,
    SortOrder,
    VersionSummary,
)
from exchange.search.snippets import make_snippet
from exchange.search.statements import Shape, Source

MAX_QUERY_CHARS = 500
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Values shown per facet, the most frequent first.
FACET_VALUES = 30
# Above this many matching documents, totals and facets are counted over a sample of
# at most this many and scaled (see SearchService).
COUNT_SAMPLE = 2000
# PostgreSQL estimates the number of matches, and samples them, from a fixed sample of the
# documents when it holds at least this many of them (a relative error of about 4.5% or
# less in the estimate).
_SAMPLE_AT_LEAST = 500
# PostgreSQL: when a smaller sample's matches, scaled, promise the quarter at least this
# many times `_SAMPLE_AT_LEAST`, the quarter is read first, and the first matches only if
# it falls short (at 1.25 times, a shortfall is more than five standard deviations away).
_QUARTER_FIRST_MARGIN = 1.25
# Either database counts totals and facets over at most this many sampled matches (a
# share of the sample is then known within about 1.5 percentage points): each is a
# resource looked up and checked against the access policy, the largest part of a
# search of many matches.
_SAMPLE_AT_MOST = 1000
# PostgreSQL: a caller whose school and partners share at most this many times
# `COUNT_SAMPLE` resources reaches few documents, and its search starts from their
# matches (see _Run._universe).
_FEW_REACHED = 2
# Documents looked at in the first window of a listing without words (see
# _Run._page_without_words).
_FIRST_WINDOW = 1024
# PostgreSQL: up to this many named documents, a relevance page tests each of them for a
# match in its head, by key; beyond, when they are every match of the words, it finds
# the head matches from the GIN indexes, which are a small part of them (see
# _Run._page_head_then_body).
_HEAD_BY_KEY_AT_MOST = 500
# For the search's transaction on PostgreSQL: every table is reached by key. A tsvector
# match must come from the GIN index (a sequential scan reads every document's vector),
# and resources are joined one by one in rank order until a page is full (a hash join
# reads every resource the caller may read). PostgreSQL cannot estimate how many
# documents a prefix matches, so left to itself it sometimes picks those plans.
_POSTGRES_SEARCH_PLAN = text(
    "SELECT set_config('enable_seqscan', 'off', true), "
    "set_config('enable_hashjoin', 'off', true), "
    "set_config('enable_mergejoin', 'off', true), "
    # Index lookups by key are cheap: a search's rows are in memory.
    "set_config('random_page_cost', '1.1', true), "
    # Per-lookup costs add up to estimates that trigger JIT compilation, which takes
    # longer than the statement.
    "set_config('jit', 'off', true), "
    # Starting parallel workers costs more than the few rows a search reads.
    "set_config('max_parallel_workers_per_gather', '0', true), "
    # Each statement is planned once per connection, not at every execution: the words
    # are bound where estimates do not choose the plan (see `fulltext._tsquery`), so a
    # statement's text, and its plan, serve every search of its shape.
    "set_config('plan_cache_mode', 'force_generic_plan', true)"
)


@dataclass(frozen=True)
class SearchParams:
    """A search as asked for; repeated filter values are alternatives (OR), different
    filters all apply (AND)."""

    q: str | None = None
    kinds: Sequence[str] = ()
    subjects: Sequence[str] = ()
    grades: Sequence[int] = ()
    languages: Sequence[str] = ()
    school_ids: Sequence[UUID] = ()
    licences: Sequence[str] = ()
    author: str | None = None
    sort: SortOrder | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


@dataclass(frozen=True)
class _Search:
    """A validated search, ready to become SQL."""

    query: ParsedQuery
    kinds: tuple[str, ...]
    subjects: tuple[str, ...]
    grades: tuple[int, ...]
    languages: tuple[str, ...]
    school_ids: tuple[UUID, ...]
    licences: tuple[str, ...]
    author_id: UUID | None
    author_words: tuple[str, ...]
    sort: SortOrder
    limit: int
    fingerprint: str = field(default="")


def _validated(params: SearchParams) -> _Search:
    if params.q is not None and len(params.q) > MAX_QUERY_CHARS:
        raise InvalidInput(
            _(
                "The search text is too long; use at most {MAX_QUERY_CHARS} characters.",
                MAX_QUERY_CHARS=MAX_QUERY_CHARS,
            ),
            field="q",
        )
    if not 1 <= params.limit <= MAX_LIMIT:
        raise InvalidInput(
            _("`limit` must be between 1 and {MAX_LIMIT}.", MAX_LIMIT=MAX_LIMIT), field="limit"
        )
    for grade in params.grades:
        if not 1 <= grade <= 11:
            raise InvalidInput(_("`grade` must be a school grade from 1 to 11."), field="grade")
    languages = tuple(dict.fromkeys(code.strip().lower() for code in params.languages))
    for code in languages:
        if not is_language_code(code):
            raise InvalidInput(
                _(
                    "`language` must be a two-letter language code (ISO 639-1) such as ky, ru or "
                    "en."
                ),
                field="language",
            )
    subjects = tuple(dict.fromkeys(subject.strip() for subject in params.subjects))
    if any(not subject or len(subject) > 100 for subject in subjects):
        raise InvalidInput(_("`subject` must be 1 to 100 characters."), field="subject")
    author_id, author_words = _author(params.author)
    query = parse_query(params.q or "")
    sort: SortOrder = params.sort or ("newest" if query.is_empty else "relevance")
    search = _Search(
        query=query,
        kinds=tuple(sorted(set(params.kinds))),
        subjects=tuple(sorted(subjects)),
        grades=tuple(sorted(set(params.grades))),
        languages=tuple(sorted(languages)),
        school_ids=tuple(sorted(set(params.school_ids))),
        licences=tuple(sorted(set(params.licences))),
        author_id=author_id,
        author_words=author_words,
        sort=sort,
        limit=params.limit,
    )
    fingerprint = search_fingerprint(
        search.query.terms,
        search.query.phrases,
        search.kinds,
        search.subjects,
        search.grades,
        search.languages,
        search.school_ids,
        search.licences,
        search.author_id,
        search.author_words,
        search.sort,
    )
    return _Search(**{**search.__dict__, "fingerprint": fingerprint})


def _author(value: str | None) -> tuple[UUID | None, tuple[str, ...]]:
    """`author` is a member's id, or words of a name (of a member or a co-author)."""
    if value is None or not value.strip():
        return None, ()
    if len(value) > 200:
        raise InvalidInput(_("`author` must be at most 200 characters."), field="author")
    try:
        return UUID(value.strip()), ()
    except ValueError:
        pass
    words = tuple(normalise_text(value).split())
    if not words:
        raise InvalidInput(_("`author` must be a member's id or a name."), field="author")
    return None, words


# The total, whether it is an estimate, and the facets.
_Counts: TypeAlias = tuple[int, bool, Facets]

# SQLite: the threads that count totals and facets while a search's page is read (see
# `_Run._count_aside`); searches beyond this many at once wait their turn for them.
_COUNTING = ThreadPoolExecutor(max_workers=4, thread_name_prefix="exchange-search-counts")


@dataclass(frozen=True)
class _Universe:
    """The documents a search's words match, before visibility and filters."""

    # Every document when there are no words; named outright when few match.
    source: Source
    # How many match: exactly, or estimated from a sample (`sample` is then not 0).
    matched: int
    # When many match, the number of matching documents named as a sample, over which
    # totals and facets may be counted and scaled to `matched`.
    sample: int = 0
    # Named documents: every match of the words, not only those of the caller's school
    # and partners (see `_Run._reaches_few`).
    every_match: bool = True

    @property
    def sampled(self) -> bool:
        return self.sample > 0


class SearchService:
    """Pages, totals and facets of a search, planned for each database.

    SQLite (FTS5) walks each ranking tier newest first straight from the index and stops
    when the page is full, so a page costs about the same for a word in ten resources or
    in ten thousand; the total and facets are counted meanwhile on a second connection.
    PostgreSQL ranks the documents whose title or metadata match (the GIN index on the
    head vector finds them) by their tier and joins resources in that order until the
    page is full; text-only matches, newest first, fill what is left.

    Totals and facets are exact up to `COUNT_SAMPLE` matching documents. Beyond, unless
    a school or author filter narrows the search (the database then starts from it), they
    are counted over a sample of the matches and scaled to the number of matches, and
    `total_is_estimate` says so. On PostgreSQL both the sample and that number come from
    fixed samples of the documents, spread evenly over the corpus (migrations 0006 and
    0007); SQLite counts the matches and samples them evenly by their position.

    The statements come from `exchange.search.statements`, built once per shape of
    search; this service gives them the search's values (`_values`) at execution.
    """

    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self._postgres = session.get_bind().dialect.name == "postgresql"

    async def search(self, identity: Identity, params: SearchParams) -> SearchPage:
        search = _validated(params)
        after = (
            decode_cursor(params.cursor, search.fingerprint) if params.cursor is not None else None
        )
        shape = self._shape(search)
        # Every statement of the search is given these, so all of them share the caller's
        # visibility at one instant.
        values = self._values(identity, search)

        if self._postgres:

            def run(db: Session) -> SearchPage:
                return _Run(db, True, search, shape, values).page(after)

            return await self.session.run_sync(run)
        # SQLite: the whole search in one worker thread, on a connection of its own (a
        # search only reads what is committed), rather than a hand-off to the driver's
        # thread for every step of every statement (see `database.sqlite_reader`); the
        # total and facets on a second one, at the same time (see `_Run.page`).
        reader = sqlite_reader(self.session.get_bind())

        def run_on_reader() -> SearchPage:
            with Session(reader) as db:
                return _Run(db, False, search, shape, values, reader=reader).page(after)

        return await anyio.to_thread.run_sync(run_on_reader)

    # --- shape and values -----------------------------------------------------------------

    def _shape(self, search: _Search) -> Shape:
        return Shape(
            postgres=self._postgres,
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

    def _values(self, identity: Identity, search: _Search) -> dict[str, Any]:
        """The values of the search's parameters (see `exchange.search.statements`)."""
        values: dict[str, Any] = {
            **reading_parameters(identity, self.clock.now()),
            statements.KINDS: list(search.kinds),
            statements.SUBJECTS: list(search.subjects),
            statements.GRADES: [str(grade) for grade in search.grades]
            if self._postgres
            else list(search.grades),
            statements.LANGUAGES: list(search.languages),
            statements.SCHOOL_IDS: list(search.school_ids),
            statements.LICENCES: list(search.licences),
            statements.AUTHOR_ID: search.author_id,
            statements.PROBE_LIMIT: COUNT_SAMPLE + 1,
        }
        for number, word in enumerate(search.author_words):
            values[f"{statements.AUTHOR_WORD}{number}"] = f"% {word}%"
        if not search.query.is_empty:
            if self._postgres:
                values.update(tsquery_values(search.query))
            else:
                values[statements.MATCH] = fts5_expression(search.query)
        return values


class _Run:
    """One search's statements, run in order on a synchronous session: the request's
    (PostgreSQL, through `AsyncSession.run_sync`) or a reader's in a worker thread
    (SQLite).

    They run on the session's connection, in its transaction: they select columns, not
    entities, and the ORM's handling of each result row (thousands, for a sample) would
    cost more than reading them."""

    def __init__(
        self,
        db: Session,
        postgres: bool,
        search: _Search,
        shape: Shape,
        values: dict[str, Any],
        *,
        reader: Engine | None = None,
    ) -> None:
        self.db: Connection = db.connection()
        self._postgres = postgres
        self.search = search
        self.shape = shape
        self.values = values
        self._reader = reader

    def page(self, after: CursorKey | None) -> SearchPage:
        search, shape, values = self.search, self.shape, self.values
        if self._postgres:
            self.db.execute(_POSTGRES_SEARCH_PLAN)
        universe = self._universe(search, values)
        counting = self._count_aside(universe)
        if search.query.is_empty:
            keys = self._page_without_words(shape, values, search, after)
        elif self._postgres:
            keys = self._page_head_then_body(shape, values, search, universe, after)
        else:
            keys = self._page_by_tiers(shape, values, search, after)
        more = len(keys) > search.limit
        keys = keys[: search.limit]
        items = self._items(keys, search.query)
        if counting is not None:
            total, estimated, facets = counting.result()
        else:
            total, estimated, facets = self._counts(shape, values, universe)
        if after is None:
            total = max(total, len(items) + (1 if more else 0))
        return SearchPage(
            items=items,
            total=total,
            total_is_estimate=estimated,
            facets=facets,
            next_cursor=encode_cursor(keys[-1], search.fingerprint) if more else None,
            sort=search.sort,
        )

    def _count_aside(self, universe: _Universe) -> Future[_Counts] | None:
        """SQLite: the total and facets, counted on a second reader connection in a thread
        of `_COUNTING` while this one reads the page. Both mostly wait on SQLite, which
        lets other threads run meanwhile, so on a machine of two cores or more the
        search takes about the longer of the two rather than their sum."""
        if self._reader is None:
            return None
        reader, search, shape = self._reader, self.search, self.shape
        # The page's steps add their own values as they go; the count has its own copy.
        values = dict(self.values)

        def count() -> _Counts:
            with Session(reader) as db:
                return _Run(db, False, search, shape, values)._counts(shape, values, universe)

        return _COUNTING.submit(count)

    def _rows(self, statement: Executable, values: dict[str, Any]) -> Sequence[Any]:
        return self.db.execute(statement, values).all()

    # --- what the words match -------------------------------------------------------------

    def _universe(self, search: _Search, values: dict[str, Any]) -> _Universe:
        """Which documents the words match (all of them without words), how many, and,
        when they are many, a sample of them.

        When the first `COUNT_SAMPLE` matches are all there is, they are named outright,
        on both sides of the join, so that the database plans for the rows there are:
        PostgreSQL cannot estimate how many documents a prefix matches, and either
        database would otherwise start from every resource the caller may read. Named
        documents are sent as one parameter each side (an array, or a JSON list on
        SQLite), not one per row. On PostgreSQL, a caller whose school and partners
        share few resources (`_reaches_few`) names the matches among those first: they
        are all the caller may read, and usually few even when the words match
        thousands across the exchange. (SQLite joins each match to its resource by key
        as it walks them, which costs little.)

        When more match, PostgreSQL estimates how many, and samples them, from the
        smallest of its fixed samples of the documents (see `_hash_sample`) that holds
        enough of them; the two smallest are tried first, so that a common word or a
        short prefix never reads its first matches at all, nor does a search whose
        sixteenth promises enough in the quarter. SQLite counts the matches and samples
        about `_SAMPLE_AT_MOST` of them, evenly by position, in one pass over FTS5's list
        of matches (see `_spread_sample`). Otherwise (PostgreSQL, a few thousand
        matches) the matches are counted and the first `COUNT_SAMPLE` are the sample.
        Either way the sample is spread over the whole corpus, so that schools count in
        the facets as much when they joined late as when they joined early. Without
        words, the sample is the oldest documents.
        """
        words = not search.query.is_empty
        if words and self._postgres and self._reaches_few(values):
            rows = self._rows(statements.reached_matches(), values)
            if len(rows) <= COUNT_SAMPLE:
                self._name(values, rows)
                return _Universe("named", len(rows), every_match=False)
        hashed = words and self._postgres
        # The smallest samples first; the quarter only once the matches are known to be
        # more than `COUNT_SAMPLE` (it would read a quarter of them): from the first
        # matches, or from a sixteenth that holds so many that the quarter is sure to
        # hold enough, when the first matches would be read for nothing.
        *smaller, quarter = sorted(statements.SAMPLE_FRACTIONS, reverse=True)
        quarter_first = False
        for fraction in smaller if hashed else ():
            rows = self._rows(statements.sampled_matches(fraction), values)
            if (universe := self._hash_sample(values, fraction, rows)) is not None:
                return universe
            promised = len(rows) * fraction / quarter
            quarter_first = promised >= _QUARTER_FIRST_MARGIN * _SAMPLE_AT_LEAST
        if quarter_first and (universe := self._quarter_sample(values, quarter)) is not None:
            return universe
        rows = self._rows(statements.first_matches(self._postgres, words), values)
        self._name(values, rows[:COUNT_SAMPLE])
        if len(rows) <= COUNT_SAMPLE:
            return _Universe("named", len(rows))
        read_quarter = hashed and not quarter_first
        if read_quarter and (universe := self._quarter_sample(values, quarter)) is not None:
            return universe
        if words and not self._postgres:
            return self._spread_sample(values, rows)
        matched = int(self.db.scalar(statements.count_matches(self._postgres, words), values) or 0)
        matched = max(matched, len(rows))
        source: Source = "matching" if words else "all"
        return _Universe(source, matched, sample=COUNT_SAMPLE)

    def _reaches_few(self, values: dict[str, Any]) -> bool:
        """PostgreSQL: whether the caller's school and its partners share few resources
        (at most `_FEW_REACHED` times `COUNT_SAMPLE`): then what the caller may read is
        a small part of what the words match, and the matches among those schools' documents
        (and those forwarded to the caller) are few enough to name outright, where a
        walk through every match newest first would meet one the caller may read only
        now and then."""
        most = _FEW_REACHED * COUNT_SAMPLE
        reached = self.db.scalar(
            statements.reached_count(), values | {statements.REACH_LIMIT: most + 1}
        )
        return int(reached or 0) <= most

    def _name(self, values: dict[str, Any], rows: Sequence[Any]) -> None:
        """Names documents, from (position, resource id as text) rows."""
        positions = [int(row[0]) for row in rows]
        if self._postgres:
            values[statements.NAMED_POSITIONS] = positions
            values[statements.NAMED_RESOURCES] = [row[1] for row in rows]
        else:
            values[statements.NAMED_POSITIONS] = json.dumps(positions)

    def _spread_sample(self, values: dict[str, Any], first: Sequence[Any]) -> _Universe:
        """SQLite, more than `COUNT_SAMPLE` matches: counts them, and samples every k-th
        by index position, which spreads the sample over the whole corpus, in one pass.
        k comes from where the first matches end: the first `COUNT_SAMPLE` + 1 matches
        end at position p of the corpus's n, so about (COUNT_SAMPLE + 1) * n / p match,
        and k is that over the sample's size (`_SAMPLE_AT_MOST`)."""
        size = min(COUNT_SAMPLE, _SAMPLE_AT_MOST)
        last = int(first[-1][0])
        top = int(self.db.scalar(statements.last_position()) or last)
        every = max(1, round(len(first) * top / last / size))
        matched, spread = self.db.execute(
            statements.count_and_spread(), values | {statements.SPREAD_EVERY: every}
        ).one()
        positions = json.loads(spread or "[]")
        matched = max(int(matched), len(first))
        if not positions:  # matches clustered between multiples of k: the first ones
            return _Universe("matching", matched, sample=COUNT_SAMPLE)
        step = math.ceil(len(positions) / size)
        self._name(values, [(position,) for position in positions[::step]])
        return _Universe("matching", matched, sample=len(positions[::step]))

    def _quarter_sample(self, values: dict[str, Any], quarter: int) -> _Universe | None:
        rows = self._rows(statements.sampled_matches(quarter), values)
        return self._hash_sample(values, quarter, rows)

    def _hash_sample(
        self, values: dict[str, Any], fraction: int, rows: Sequence[Any]
    ) -> _Universe | None:
        """PostgreSQL: `rows`, the matches among the documents of the sample of 1 in
        `fraction` (migrations 0006 and 0007), when they are at least `_SAMPLE_AT_LEAST`:
        they, times `fraction`, estimate the number of matches, and they are named as
        the sample (evenly thinned to `_SAMPLE_AT_MOST` when there are more). None when
        the sample holds too few for a good estimate."""
        if len(rows) < _SAMPLE_AT_LEAST:
            return None
        step = math.ceil(len(rows) / _SAMPLE_AT_MOST)
        sample = rows[::step]
        self._name(values, sample)
        return _Universe("matching", len(rows) * fraction, sample=len(sample))

    # --- one page -------------------------------------------------------------------------

    def _page_without_words(
        self, shape: Shape, values: dict[str, Any], search: _Search, after: CursorKey | None
    ) -> list[CursorKey]:
        """Newest first, without words. A school or author filter lets the database
        start from that filter's index. Otherwise the documents are walked newest first
        through windows of their ids, each window four times the last, until the page is
        full: a range of the primary key is what both databases start from, where left
        to themselves they would gather everything the caller may read and sort it."""
        wanted = search.limit + 1
        if after is not None:
            values[statements.AFTER_POSITION] = after.position
        if shape.narrowed:
            values[statements.PAGE_LIMIT] = wanted
            bounds = "none" if after is None else "after"
            return _keys(self._rows(statements.newest(shape, bounds), values))
        top = (
            after.position - 1 if after is not None else self.db.scalar(statements.last_position())
        )
        keys: list[CursorKey] = []
        width = _FIRST_WINDOW
        while top is not None and top > 0 and len(keys) < wanted:
            low = max(0, top - width)
            window = {
                statements.WINDOW_LOW: low,
                statements.WINDOW_TOP: top,
                statements.PAGE_LIMIT: wanted - len(keys),
            }
            keys += _keys(self._rows(statements.newest(shape, "window"), values | window))
            top, width = low, width * 4
        return keys

    def _page_by_tiers(
        self, shape: Shape, values: dict[str, Any], search: _Search, after: CursorKey | None
    ) -> list[CursorKey]:
        """SQLite: each tier is read from FTS5 in descending rowid order, which FTS5
        delivers without sorting, and the reading stops at the end of the page."""
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
            rows = self.db.scalars(statements.tier_page(shape, resumed), values | tier_values)
            keys.extend(CursorKey(score=tier, position=row) for row in rows.all())
            if len(keys) >= wanted:
                break
        return keys

    def _page_head_then_body(
        self,
        shape: Shape,
        values: dict[str, Any],
        search: _Search,
        universe: _Universe,
        after: CursorKey | None,
    ) -> list[CursorKey]:
        """PostgreSQL, in three steps, each only while the page is not full. First the
        documents with every part of the query in the title, found by the GIN index of
        the titles' words, newest first. Then the other documents whose head (title and
        metadata) has a part of the query, found by the GIN index on the head vector:
        every document ranked above the text-only tier is among them, and they are few
        even when a prefix matches a quarter of the corpus; they are ranked by tier.
        (Named documents are tested by key in one pass for both when they are at most
        `_HEAD_BY_KEY_AT_MOST`, or only the matches among the caller's schools; more
        named documents that are every match go through the indexes as above: their head
        matches are a small part of them.)
        Each is walked into its resources until the page is full (see
        `statements.walk`). Last the text-only matches, newest first: when they are
        many, PostgreSQL walks the documents backwards by key and stops at the end of
        the page, reading none of the rest. Newest first, without tiers, is that last
        step alone over every match.
        """
        wanted = search.limit + 1
        source = universe.source
        if after is not None:
            values[statements.AFTER_SCORE] = after.score
            values[statements.AFTER_POSITION] = after.position
        if search.sort != "relevance":
            values[statements.PAGE_LIMIT] = wanted
            statement = statements.walk(shape, source, "newest", after is not None)
            return _keys(self._rows(statement, values))
        by_key = source == "named" and (
            universe.matched <= _HEAD_BY_KEY_AT_MOST or not universe.every_match
        )
        # Every match named: the head matches among them are the head matches.
        head_source: Source = "matching" if source == "named" and not by_key else source
        steps: list[tuple[statements.Step, bool]] = []
        if after is None or after.score > BODY:
            if by_key:
                # Few documents, tested by key: every head tier in one pass over them.
                steps.append(("ranked", after is not None))
            else:
                if after is None or after.score == TITLE:
                    steps.append(("title", after is not None))
                steps.append(("head", after is not None and after.score < TITLE))
        keys: list[CursorKey] = []
        for step, resumed in steps:
            if len(keys) >= wanted:
                break
            values[statements.PAGE_LIMIT] = wanted - len(keys)
            statement = statements.walk(shape, head_source, step, resumed)
            keys += _keys(self._rows(statement, values))
        if len(keys) < wanted:
            resumed = after is not None and after.score == BODY
            values[statements.PAGE_LIMIT] = wanted - len(keys)
            statement = statements.walk(shape, source, "body", resumed)
            keys += _keys(self._rows(statement, values))
        return keys

    def _items(self, keys: list[CursorKey], query: ParsedQuery) -> list[SearchItem]:
        if not keys:
            return []
        positions = [key.position for key in keys]
        rows = {
            row.position: row
            for row in self._rows(statements.items(), {statements.POSITIONS: positions})
        }
        ids = [row.id for row in rows.values()]
        authors: defaultdict[UUID, list[AuthorRef]] = defaultdict(list)
        for resource_id, member_id, full_name in self._rows(
            statements.authors(), {statements.RESOURCE_IDS: ids}
        ):
            authors[resource_id].append(AuthorRef(id=member_id, full_name=full_name))
        items: list[SearchItem] = []
        for position in positions:
            row = rows.get(position)
            if row is None:  # deleted between the two statements
                continue
            items.append(
                SearchItem(
                    id=row.id,
                    title=row.title,
                    kind=row.kind,
                    subject=row.subject,
                    grades=list(row.grades or []),
                    language=row.language,
                    licence=row.licence,
                    visibility=row.visibility,
                    confidential=row.confidential,
                    school=SchoolRef(id=row.owner_school_id, name=row.school_name),
                    authors=authors.get(row.id, []),
                    co_authors=list(row.co_authors or []),
                    current_version=VersionSummary(
                        number=row.version_number,
                        media_type=row.version_media_type,
                        size=row.version_size,
                        original_name=row.version_original_name,
                    )
                    if row.version_number is not None
                    else None,
                    created_at=row.created_at,
                    extraction_status=row.extraction_status,
                    snippet=make_snippet((row.body, row.description), query),
                )
            )
        return items

    # --- total and facets -----------------------------------------------------------------

    def _counts(self, shape: Shape, values: dict[str, Any], universe: _Universe) -> _Counts:
        """Total and facets: exact, or over the sample of `COUNT_SAMPLE` matching
        documents and scaled when there are more and no school or author filter narrows
        them (with such a filter the database starts from it, and counting is cheap)."""
        sampled = universe.sampled and not shape.narrowed
        source: Source = "named" if sampled else universe.source
        scale = universe.matched / universe.sample if sampled else 1.0
        counted: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
        names: dict[str, str] = {}
        total = 0
        for facet, value, n, name in self._rows(statements.facets(shape, source), values):
            if facet == "total":
                total = round(int(n) * scale)
            elif value is not None:
                counted[facet].append((str(value), max(1, round(int(n) * scale))))
                if name is not None:
                    names[str(value)] = name
        return total, sampled, _facets_shown(counted, names)


def _facets_shown(counted: dict[str, list[tuple[str, int]]], names: dict[str, str]) -> Facets:
    def top(facet: str) -> list[tuple[str, int]]:
        return sorted(counted.get(facet, []), key=lambda pair: (-pair[1], pair[0]))[:FACET_VALUES]

    grades: list[GradeCount] = []
    for value, n in counted.get("grade", []):
        if value.lstrip("-").isdigit():
            grades.append(GradeCount(value=int(value), count=n))
    grades.sort(key=lambda grade: grade.value)
    return Facets(
        kind=[FacetCount(value=value, count=n) for value, n in top("kind")],
        subject=[FacetCount(value=value, count=n) for value, n in top("subject")],
        grade=grades,
        language=[FacetCount(value=value, count=n) for value, n in top("language")],
        school=[
            SchoolCount(value=UUID(value), name=names.get(value, ""), count=n)
            for value, n in top("school")
        ],
    )


def _keys(rows: Sequence[Any]) -> list[CursorKey]:
    """Page keys from (score, position) rows."""
    return [CursorKey(score=int(score), position=int(position)) for score, position in rows]
