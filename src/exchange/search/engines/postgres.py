"""Search on PostgreSQL, with tsvector columns and their GIN indexes.

The documents whose title or metadata match (the GIN index on the head vector finds
them) are ranked by their tier and joined to their resources in that order until the
page is full; text-only matches, newest first, fill what is left. More than
`COUNT_SAMPLE` matches are estimated, and sampled, from fixed samples of the documents
spread evenly over the corpus (migrations 0006 and 0007). Every search runs with the
planner settings of `_SEARCH_PLAN`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import Subquery, TableValuedAlias

from exchange.models import Resource, SearchDocument
from exchange.policy.tuned import caller_and_partner_schools, forwarded_to_caller
from exchange.search.cursor import CursorKey
from exchange.search.engines import run, statements
from exchange.search.engines.protocol import Found, Search, WantedPage
from exchange.search.engines.run import Estimates, SearchRun, Universe, keys_of
from exchange.search.engines.statements import AnySelect, Conditions, SearchSql, Shape, Source
from exchange.search.fulltext import (
    BODY,
    DOCUMENT_SCHOOL,
    TITLE,
    tsquery_values,
    tsvector_head_matches,
    tsvector_head_tier,
    tsvector_in_title,
    tsvector_matches,
    tsvector_title_matches,
)

# The number of matches is estimated, and they are sampled, from a fixed sample of the
# documents when it holds at least this many of them (a relative error of about 4.5% or
# less in the estimate).
_SAMPLE_AT_LEAST = 500
# When a smaller sample's matches, scaled, promise the quarter at least this many times
# `_SAMPLE_AT_LEAST`, the quarter is read first, and the first matches only if it falls
# short (at 1.25 times, a shortfall is more than five standard deviations away).
_QUARTER_FIRST_MARGIN = 1.25
# A caller whose school and partners share at most this many times `COUNT_SAMPLE`
# resources reaches few documents, and its search starts from their matches (see
# `PostgresRun.universe`).
_FEW_REACHED = 2
# Up to this many named documents, a relevance page tests each of them for a match in
# its head, by key; beyond, when they are every match of the words, it finds the head
# matches from the GIN indexes, which are a small part of them (see
# `PostgresRun.page_with_words`).
_HEAD_BY_KEY_AT_MOST = 500
# For the search's transaction: every table is reached by key. A tsvector match must
# come from the GIN index (a sequential scan reads every document's vector), and
# resources are joined one by one in rank order until a page is full (a hash join reads
# every resource the caller may read). PostgreSQL cannot estimate how many documents a
# prefix matches, so left to itself it sometimes picks those plans.
_SEARCH_PLAN = text(
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

# The resources the caller's school and its partners share, counted up to this many.
REACH_LIMIT = "reach_limit"


class PostgresSearch:
    """The search on the request's own session, in its transaction. Estimated totals
    and facets are kept a few seconds (`run.Estimates`)."""

    def __init__(self) -> None:
        self.estimates = Estimates()

    async def find(self, session: AsyncSession, wanted: WantedPage) -> Found:
        search, after = wanted.search, wanted.after
        shape, values = PostgresRun.prepared(wanted.identity, search, wanted.now)
        estimates = self.estimates

        def find_in_session(db: Session) -> Found:
            searching = PostgresRun(db, search, shape, values, estimates)
            searching.db.execute(_SEARCH_PLAN)
            return searching.found(after)

        return await session.run_sync(find_in_session)


_UUIDS = ARRAY(PG_UUID(as_uuid=False))


class PostgresSql(SearchSql):
    """What PostgreSQL writes its own way in the shared statements."""

    def json_elements(self, column: Any) -> TableValuedAlias:
        return func.jsonb_array_elements_text(column).table_valued("value")

    def element_text(self, value: Any) -> ColumnElement[str]:
        # jsonb_array_elements_text gives the elements as text already.
        text_value: ColumnElement[str] = value
        return text_value

    def key_text(self, key: Any) -> ColumnElement[str]:
        return cast(key, String)

    def matching(self) -> Conditions:
        return Conditions((tsvector_matches(),))

    def joined(self, text: Any) -> ColumnElement[str]:
        joined: ColumnElement[str] = func.string_agg(text, literal(",", String))
        return joined

    def among_positions(self, position: Any) -> ColumnElement[bool]:
        among: ColumnElement[bool] = position == any_(
            bindparam(statements.POSITIONS, type_=ARRAY(BigInteger))
        )
        return among

    def positions_value(self, positions: list[int]) -> Any:
        return positions

    def named(self) -> Conditions:
        positions = bindparam(statements.NAMED_POSITIONS, type_=ARRAY(BigInteger))
        resources = cast(bindparam(statements.NAMED_RESOURCES, type_=ARRAY(String)), _UUIDS)
        return Conditions(
            (SearchDocument.id == any_(positions),), (Resource.id == any_(resources),)
        )

    def first_matches(self, probe: Any) -> AnySelect:
        # No ORDER BY: the GIN index yields matches in the table's order, and stops at the
        # limit; sorting them would read every one.
        return (
            select(SearchDocument.id, self.resource_id_text())
            .where(tsvector_matches(written=True))
            .limit(probe)
        )

    def count_matches(self) -> AnySelect:
        return (
            select(func.count()).select_from(SearchDocument).where(tsvector_matches(written=True))
        )

    def resource_id_text(self) -> ColumnElement[Any]:
        return cast(SearchDocument.resource_id, String)

    def walk_window(
        self, where: Conditions, limits: list[ColumnElement[bool]], limit: Any
    ) -> AnySelect | None:
        """A window's documents walked into their resources by key (see
        `walk_into_resources`)."""
        documents = (
            select(
                literal(BODY, Integer).label("score"),
                SearchDocument.id.label("position"),
                SearchDocument.resource_id,
            )
            .where(*where.documents, *limits)
            .order_by(SearchDocument.id.desc())
            .subquery("window")
        )
        return walk_into_resources(documents, where.resources, limit, by_score=False)


SQL = PostgresSql()


class PostgresRun(SearchRun):
    sql = SQL

    @classmethod
    def database_values(cls, search: Search) -> dict[str, Any]:
        # Grades are compared with the text of the JSON list's elements.
        values: dict[str, Any] = {statements.GRADES: [str(grade) for grade in search.grades]}
        if not search.query.is_empty:
            values.update(tsquery_values(search.query))
        return values

    def universe(self) -> Universe:
        """When the first `COUNT_SAMPLE` matches are all there is, they are named
        outright, on both sides of the join (arrays, one parameter each), so that
        PostgreSQL plans for the rows there are: it cannot estimate how many documents a
        prefix matches, and would otherwise start from every resource the caller may
        read. A caller whose school and partners share few resources (`reaches_few`)
        names the matches among those first: they are all the caller may read, and
        usually few even when the words match thousands across the exchange.

        When more match, the number of matches is estimated, and they are sampled, from
        the smallest of the fixed samples of the documents (see `hash_sample`) that
        holds enough of them; the two smallest are tried first, so that a common word or
        a short prefix never reads its first matches at all, nor does a search whose
        sixteenth promises enough in the quarter. Otherwise (a few thousand matches) the
        matches are counted and the first `COUNT_SAMPLE` are the sample. Without words,
        more than `COUNT_SAMPLE` documents are estimated as on SQLite: from positions
        spread evenly over the whole index (`spread_over_positions`), the last position
        standing for their number, with nothing counted.
        """
        values = self.values
        words = not self.search.query.is_empty
        if not words and (top := self.last_position() or 0) > run.COUNT_SAMPLE:
            return self.spread_over_positions(top)
        if words and self.reaches_few():
            rows = self.rows(reached_matches(), values)
            if len(rows) <= run.COUNT_SAMPLE:
                self.name(rows)
                return Universe("named", len(rows), every_match=False)
        # The smallest samples first; the quarter only once the matches are known to be
        # more than `COUNT_SAMPLE` (it would read a quarter of them): from the first
        # matches, or from a sixteenth that holds so many that the quarter is sure to
        # hold enough, when the first matches would be read for nothing.
        *smaller, quarter = sorted(SAMPLE_FRACTIONS, reverse=True)
        quarter_first = False
        for fraction in smaller if words else ():
            rows = self.rows(sampled_matches(fraction), values)
            if (universe := self.hash_sample(fraction, rows)) is not None:
                return universe
            promised = len(rows) * fraction / quarter
            quarter_first = promised >= _QUARTER_FIRST_MARGIN * _SAMPLE_AT_LEAST
        if quarter_first and (universe := self.quarter_sample(quarter)) is not None:
            return universe
        universe, first = self.first_matches_universe(words)
        if universe is not None:
            return universe
        read_quarter = words and not quarter_first
        if read_quarter and (universe := self.quarter_sample(quarter)) is not None:
            return universe
        return self.counted_universe(words, first)

    def reaches_few(self) -> bool:
        """Whether the caller's school and its partners share few resources (at most
        `_FEW_REACHED` times `COUNT_SAMPLE`): then what the caller may read is a small
        part of what the words match, and the matches among those schools' documents
        (and those forwarded to the caller) are few enough to name outright, where a
        walk through every match newest first would meet one the caller may read only
        now and then."""
        most = _FEW_REACHED * run.COUNT_SAMPLE
        reached = self.db.scalar(reached_count(), self.values | {REACH_LIMIT: most + 1})
        return int(reached or 0) <= most

    def name(self, rows: Sequence[Any]) -> None:
        self.values[statements.NAMED_POSITIONS] = [int(row[0]) for row in rows]
        self.values[statements.NAMED_RESOURCES] = [row[1] for row in rows]

    def name_positions(self, positions: list[int]) -> None:
        """Named with their resources, looked up by key (a position whose document is
        gone names nothing)."""
        self.name(self.rows(documents_at(), {statements.POSITIONS: positions}))

    def quarter_sample(self, quarter: int) -> Universe | None:
        return self.hash_sample(quarter, self.rows(sampled_matches(quarter), self.values))

    def hash_sample(self, fraction: int, rows: Sequence[Any]) -> Universe | None:
        """`rows`, the matches among the documents of the sample of 1 in `fraction`
        (migrations 0006 and 0007), when they are at least `_SAMPLE_AT_LEAST`: they,
        times `fraction`, estimate the number of matches, and they are named as the
        sample (evenly thinned to `SAMPLE_AT_MOST` when there are more). None when the
        sample holds too few for a good estimate."""
        if len(rows) < _SAMPLE_AT_LEAST:
            return None
        step = math.ceil(len(rows) / run.SAMPLE_AT_MOST)
        sample = rows[::step]
        self.name(sample)
        return Universe("matching", len(rows) * fraction, sample=len(sample))

    def page_with_words(self, universe: Universe, after: CursorKey | None) -> list[CursorKey]:
        """In three steps, each only while the page is not full. First the documents
        with every part of the query in the title, found by the GIN index of the titles'
        words, newest first. Then the other documents whose head (title and metadata)
        has a part of the query, found by the GIN index on the head vector: every
        document ranked above the text-only tier is among them, and they are few even
        when a prefix matches a quarter of the corpus; they are ranked by tier. (Named
        documents are tested by key in one pass for both when they are at most
        `_HEAD_BY_KEY_AT_MOST`, or only the matches among the caller's schools; more
        named documents that are every match go through the indexes as above: their head
        matches are a small part of them.)
        Each is walked into its resources until the page is full (see `walk`). Last the
        text-only matches, newest first: when they are many, PostgreSQL walks the
        documents backwards by key and stops at the end of the page, reading none of the
        rest. Newest first, without tiers, is that last step alone over every match.
        """
        search, shape, values = self.search, self.shape, self.values
        wanted = search.limit + 1
        source = universe.source
        if after is not None:
            values[statements.AFTER_SCORE] = after.score
            values[statements.AFTER_POSITION] = after.position
        if search.sort != "relevance":
            values[statements.PAGE_LIMIT] = wanted
            return keys_of(self.rows(walk(shape, source, "newest", after is not None), values))
        by_key = source == "named" and (
            universe.matched <= _HEAD_BY_KEY_AT_MOST or not universe.every_match
        )
        # Every match named: the head matches among them are the head matches.
        head_source: Source = "matching" if source == "named" and not by_key else source
        steps: list[tuple[Step, bool]] = []
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
            keys += keys_of(self.rows(walk(shape, head_source, step, resumed), values))
        if len(keys) < wanted:
            resumed = after is not None and after.score == BODY
            values[statements.PAGE_LIMIT] = wanted - len(keys)
            keys += keys_of(self.rows(walk(shape, source, "body", resumed), values))
        return keys


# --- its statements, each built once per shape ---------------------------------------------


def _caller_and_partner_schools(school: Any) -> ColumnElement[bool]:
    """`school` is the caller's or a partner's, against an array computed once (planned
    at once, and indexable in a bitmap)."""
    condition: ColumnElement[bool] = school == any_(
        func.array(caller_and_partner_schools().scalar_subquery())
    )
    return condition


@functools.lru_cache(maxsize=1)
def documents_at() -> AnySelect:
    """The documents at the positions `POSITIONS`, as `statements.first_matches` gives
    them: index position and the resource's id as text."""
    return select(SearchDocument.id, cast(SearchDocument.resource_id, String)).where(
        SQL.among_positions(SearchDocument.id)
    )


@functools.lru_cache(maxsize=1)
def reached_count() -> AnySelect:
    """How many resources the caller's school and its partners share, counted up to
    `REACH_LIMIT` (from the index of their owners, reading no resource)."""
    reached = (
        select(literal(1))
        .select_from(Resource)
        .where(_caller_and_partner_schools(Resource.owner_school_id))
        .limit(bindparam(REACH_LIMIT, type_=Integer))
        .subquery("reached")
    )
    return select(func.count()).select_from(reached)


@functools.lru_cache(maxsize=1)
def reached_matches() -> AnySelect:
    """The first `PROBE_LIMIT` documents the words match among those of the caller's
    school and its partners and those forwarded to it: every match the caller may read
    is among them (see `policy.tuned.caller_and_partner_schools`). As
    `statements.first_matches` gives them: index position and the resource's id as text.

    The schools and the forwarded resources are arrays computed once, so that the
    database intersects the GIN index's matches with the documents of those schools (a
    bitmap of each, migration 0008) and reads neither the documents' vectors nor the
    documents of other schools."""
    forwarded = func.array(forwarded_to_caller().scalar_subquery())
    return (
        select(SearchDocument.id, cast(SearchDocument.resource_id, String))
        .where(
            tsvector_matches(),
            or_(
                _caller_and_partner_schools(DOCUMENT_SCHOOL),
                SearchDocument.resource_id == any_(forwarded),
            ),
        )
        .limit(bindparam(statements.PROBE_LIMIT, type_=Integer))
    )


# Nested samples of the documents, chosen by a hash of their id (not by time or school):
# a quarter, a sixteenth and a sixty-fourth, each inside the last. Their predicates are
# those of the partial GIN indexes of migrations 0006 and 0007, written exactly as there
# so that the planner can use those indexes.
SAMPLE_FRACTIONS = (4, 16, 64)


def sample_predicate(fraction: int) -> TextClause:
    """The documents of the sample of 1 in `fraction` (one of `SAMPLE_FRACTIONS`)."""
    if fraction not in SAMPLE_FRACTIONS:
        raise ValueError(f"no index holds a sample of 1 in {fraction}")
    return text(f"(hashint8(search_documents.id) & {fraction - 1}) = 0")


@functools.lru_cache(maxsize=len(SAMPLE_FRACTIONS))
def sampled_matches(fraction: int) -> AnySelect:
    """The documents of the sample of 1 in `fraction` that the words match, as
    `statements.first_matches` gives them: index position and the resource's id as
    text."""
    return select(SearchDocument.id, cast(SearchDocument.resource_id, String)).where(
        tsvector_matches(written=True), sample_predicate(fraction)
    )


def walk_into_resources(
    documents: Subquery, resources: tuple[ColumnElement[bool], ...], limit: Any, *, by_score: bool
) -> AnySelect:
    """`documents` (score, position, resource_id; ordered by position, or by
    score then position) walked one by one into their resources, each looked up by key
    and checked against `resources` (visibility and filters), until `limit` pass.

    The ORDER BY inside `documents` and the LIMIT 1 of the lateral lookup fix the plan:
    PostgreSQL cannot estimate how many documents a prefix matches, and costs the
    visibility check per lookup, so left to itself it gathers every resource the caller
    may read and joins the documents to them.
    """
    readable = (
        select(literal(1).label("readable"))
        .where(Resource.id == documents.c.resource_id, *resources)
        .limit(1)
        .lateral("readable")
    )
    # The order of `documents` exactly, so that PostgreSQL need not sort again.
    order = [documents.c.position.desc()]
    if by_score:
        order.insert(0, documents.c.score.desc())
    return (
        select(documents.c.score, documents.c.position)
        .select_from(documents.join(readable, true()))
        .order_by(*order)
        .limit(limit)
    )


Step = Literal["ranked", "title", "head", "body", "newest"]


@functools.lru_cache(maxsize=statements.SHAPES_KEPT)
def walk(shape: Shape, source: Source, step: Step, after: bool) -> AnySelect:
    """One step of a page, as (score, position) rows, up to `PAGE_LIMIT`.

    - `ranked`: the documents whose head has a part of the query, by tier then newest
      first: for named documents, each tested by key;
    - `title`: the documents with every part of the query in the title (the `TITLE`
      tier, found by the GIN index of the titles' words), newest first;
    - `head`: the other documents whose head has a part of the query (found by the GIN
      index on the head vector), by tier then newest first;
    - `body`: the text-only matches (no part in the head), newest first;
    - `newest`: every match, newest first.

    Each is walked into its resources, looked up by key and checked against visibility
    and the filters, until the page is full (see `walk_into_resources`).
    After the cursor (`AFTER_SCORE`, `AFTER_POSITION`) when `after`.
    """
    filters = statements.filters(shape)
    where = filters + statements.source_conditions(SQL, source)
    # Each document's resource is looked up by key and checked against visibility and
    # the filters only: named documents need not have their resources found in the
    # list of named resources as well (an array compared once per candidate).
    resources = filters.resources
    in_head = tsvector_head_matches()
    limit = bindparam(statements.PAGE_LIMIT, type_=Integer)
    after_position = bindparam(statements.AFTER_POSITION, type_=BigInteger)
    if step in ("ranked", "title", "head"):
        # A query of one part that is in the head is in the document: asking the full
        # vector too would read every candidate's (large, out-of-line) vector. Named
        # documents are kept to those named, which costs nothing (their keys) and
        # leaves out the head matches of documents the caller cannot read.
        full = shape.several_parts or source == "named"
        documents = list((where if full else filters).documents)
        if step == "title":
            documents.append(tsvector_title_matches())
            tier: ColumnElement[int] = literal(TITLE, Integer)
        elif step == "head":
            documents += [in_head, ~tsvector_in_title()]
            tier = tsvector_head_tier(shape.several_parts, title=False)
        else:
            documents.append(in_head)
            tier = tsvector_head_tier(shape.several_parts, title=True)
        if after and step == "title":
            documents.append(SearchDocument.id < after_position)
        elif after:
            documents.append(
                tuple_(tier, SearchDocument.id)
                < tuple_(bindparam(statements.AFTER_SCORE, type_=Integer), after_position)
            )
        # A step of one tier (the titles; the rest of the head for a query of one part)
        # is in the order of its positions alone: a sort by the tier too, a parameter
        # of the statement, would be made after every candidate's resource was looked
        # up, rather than stopping at the end of the page.
        by_score = step == "ranked" or (step == "head" and shape.several_parts)
        order = [tier.desc(), SearchDocument.id.desc()] if by_score else [SearchDocument.id.desc()]
        ranked = (
            select(
                SearchDocument.id.label("position"),
                SearchDocument.resource_id.label("resource_id"),
                tier.label("score"),
            )
            .where(*documents)
            .order_by(*order)
            .subquery("ranked")
        )
        return walk_into_resources(ranked, resources, limit, by_score=by_score)
    documents = list(where.documents)
    if step == "body":
        documents.append(~in_head)
    if after:
        documents.append(SearchDocument.id < after_position)
    # Newest first needs no subquery: with the order and the limit on the outer
    # statement, PostgreSQL walks the key backwards and stops at the limit when many
    # documents match (a subquery would be planned to return every row).
    readable = (
        select(literal(1).label("readable"))
        .where(Resource.id == SearchDocument.resource_id, *resources)
        .limit(1)
        .lateral("readable")
    )
    return (
        select(literal(BODY, Integer).label("score"), SearchDocument.id.label("position"))
        .select_from(SearchDocument)
        .join(readable, true())
        .where(*documents)
        .order_by(SearchDocument.id.desc())
        .limit(limit)
    )
