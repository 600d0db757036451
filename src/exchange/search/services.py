"""Searching what the caller may read: words, filters, facets and pages.

What a school may read comes from `policy.readable_resources`, and it is part of every
statement here (the page, the total and the facets), so nothing another school may not
read is ever counted or returned, and no filtering happens after the query.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import Subquery

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.config import Settings
from exchange.errors import InvalidInput
from exchange.models import (
    Member,
    Resource,
    ResourceAuthor,
    ResourceVersion,
    School,
    SearchDocument,
    SearchText,
)
from exchange.policy import readable_by_caller, reading_parameters
from exchange.resources.languages import is_language_code
from exchange.search.cursor import CursorKey, decode_cursor, encode_cursor, search_fingerprint
from exchange.search.fulltext import (
    BODY,
    SEARCH_INDEX,
    fts5_expression,
    fts5_match,
    fts5_matching_documents,
    fts5_tier_expression,
    tiers_of,
    tsvector_head_matches,
    tsvector_matches,
    tsvector_tier,
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

MAX_QUERY_CHARS = 500
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Values shown per facet, the most frequent first.
FACET_VALUES = 30
# How much of a long extracted text is searched for the snippet's match.
SNIPPET_SCAN_CHARS = 100_000
# Above this many matching documents, totals and facets are counted over this many
# and scaled (see SearchService).
COUNT_SAMPLE = 2000
UUIDS = ARRAY(PG_UUID(as_uuid=False))
# Documents looked at in the first window of a listing without words (see
# SearchService._page_without_words).
_FIRST_WINDOW = 1024
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
    "set_config('max_parallel_workers_per_gather', '0', true)"
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


@dataclass(frozen=True)
class _Where:
    """Conditions on `SearchDocument` and on `Resource`, kept apart so that a statement
    can weigh documents before it joins their resources."""

    documents: tuple[ColumnElement[bool], ...] = ()
    resources: tuple[ColumnElement[bool], ...] = ()
    # Values of the conditions' bound parameters that are given at execution (those of
    # `readable_by_caller`): every statement built from these conditions runs with them.
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __add__(self, other: _Where) -> _Where:
        return _Where(
            self.documents + other.documents,
            self.resources + other.resources,
            {**self.parameters, **other.parameters},
        )

    @property
    def all(self) -> tuple[ColumnElement[bool], ...]:
        return self.documents + self.resources


@dataclass(frozen=True)
class _Universe:
    """The documents a search's words match, before visibility and filters."""

    # Every document when there are no words.
    matching: _Where
    matched: int
    # When more than `COUNT_SAMPLE` match: `COUNT_SAMPLE` of them, over which
    # totals and facets may be counted and scaled.
    sample: _Where | None
    # `matching` names its documents and their resources (see `SearchService._named`).
    named: bool = False


def _walk_into_resources(
    documents: Subquery, resources: Sequence[ColumnElement[bool]], limit: int, *, by_score: bool
) -> Select[Any]:
    """PostgreSQL: `documents` (score, position, resource_id; ordered by position, or by
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


def _validated(params: SearchParams) -> _Search:
    if params.q is not None and len(params.q) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"The search text is too long; use at most {MAX_QUERY_CHARS} characters.", field="q"
        )
    if not 1 <= params.limit <= MAX_LIMIT:
        raise InvalidInput(f"`limit` must be between 1 and {MAX_LIMIT}.", field="limit")
    for grade in params.grades:
        if not 1 <= grade <= 11:
            raise InvalidInput("`grade` must be a school grade from 1 to 11.", field="grade")
    languages = tuple(dict.fromkeys(code.strip().lower() for code in params.languages))
    for code in languages:
        if not is_language_code(code):
            raise InvalidInput(
                "`language` must be a two-letter language code (ISO 639-1) such as ky, ru or en.",
                field="language",
            )
    subjects = tuple(dict.fromkeys(subject.strip() for subject in params.subjects))
    if any(not subject or len(subject) > 100 for subject in subjects):
        raise InvalidInput("`subject` must be 1 to 100 characters.", field="subject")
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
        raise InvalidInput("`author` must be at most 200 characters.", field="author")
    try:
        return UUID(value.strip()), ()
    except ValueError:
        pass
    words = tuple(normalise_text(value).split())
    if not words:
        raise InvalidInput("`author` must be a member's id or a name.", field="author")
    return None, words


class SearchService:
    """Pages, totals and facets of a search, planned for each database.

    SQLite (FTS5) walks each ranking tier newest first straight from the index and stops
    when the page is full, so a page costs about the same for a word in ten resources or
    in ten thousand. PostgreSQL ranks the documents whose title or metadata match (the
    GIN index on the head vector finds them) by their tier and joins resources in that
    order until the page is full; text-only matches, newest first, fill what is left.

    Totals and facets are exact up to `COUNT_SAMPLE` matching documents. Beyond, unless
    a school or author filter narrows the search (the database then starts from it), they
    are counted over a sample of `COUNT_SAMPLE` matches and scaled to the number of
    matches, and `total_is_estimate` says so.
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
        if self._postgres:
            await self.session.execute(_POSTGRES_SEARCH_PLAN)
        universe = await self._universe(search)
        # Built once: every statement of the search shares the caller's visibility at
        # one instant (and building it is the costliest part of writing the SQL).
        filters = self._filters(identity, search)
        if search.query.is_empty:
            keys = await self._page_without_words(filters, search, after)
        elif self._postgres:
            keys = await self._page_head_then_body(filters, search, universe, after)
        else:
            keys = await self._page_by_tiers(filters, search, after)
        more = len(keys) > search.limit
        keys = keys[: search.limit]
        items = await self._items(keys, search.query)
        total, estimated, facets = await self._counts(filters, search, universe)
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

    # --- what may be shown ----------------------------------------------------------------

    def _filters(self, identity: Identity, search: _Search) -> _Where:
        """Visibility and the filters."""
        conditions: list[ColumnElement[bool]] = [readable_by_caller()]
        if search.kinds:
            conditions.append(Resource.kind.in_(search.kinds))
        if search.subjects:
            conditions.append(Resource.subject.in_(search.subjects))
        if search.grades:
            conditions.append(self._has_grade(search.grades))
        if search.languages:
            conditions.append(Resource.language.in_(search.languages))
        if search.school_ids:
            conditions.append(Resource.owner_school_id.in_(search.school_ids))
        if search.licences:
            conditions.append(Resource.licence.in_(search.licences))
        if search.author_id is not None:
            conditions.append(
                Resource.id.in_(
                    select(ResourceAuthor.resource_id).where(
                        ResourceAuthor.member_id == search.author_id
                    )
                )
            )
        # Names are stored normalised: every word of the filter starts a word there.
        names = tuple(
            (literal(" ", String) + SearchDocument.authors_text).like(f"% {word}%")
            for word in search.author_words
        )
        return _Where(
            documents=names,
            resources=tuple(conditions),
            parameters=reading_parameters(identity, self.clock.now()),
        )

    def _has_grade(self, grades: tuple[int, ...]) -> ColumnElement[bool]:
        if self._postgres:
            elements = func.jsonb_array_elements_text(Resource.grades).table_valued("value")
            return exists(
                select(literal(1))
                .select_from(elements)
                .where(elements.c.value.in_([str(grade) for grade in grades]))
            )
        elements = func.json_each(Resource.grades).table_valued("value")
        return exists(select(literal(1)).select_from(elements).where(elements.c.value.in_(grades)))

    def _named(self, rows: Sequence[Any]) -> _Where:
        """The documents (and their resources) of `rows` (index position, resource id as
        text), named outright and sent as one parameter each side (an array, or a JSON
        list on SQLite), not one parameter per row."""
        positions = [int(row[0]) for row in rows]
        if self._postgres:
            resource_ids = cast(bindparam(None, [row[1] for row in rows], ARRAY(String)), UUIDS)
            return _Where(
                (SearchDocument.id == any_(bindparam(None, positions, ARRAY(BigInteger))),),
                (Resource.id == any_(resource_ids),),
            )
        listed = func.json_each(bindparam(None, json.dumps(positions), String)).table_valued(
            "value"
        )
        documents = SearchDocument.id.in_(select(listed.c.value))
        return _Where(
            (documents,), (Resource.id.in_(select(SearchDocument.resource_id).where(documents)),)
        )

    @staticmethod
    def _documents_and_resources(*columns: Any) -> Select[Any]:
        return (
            select(*columns)
            .select_from(SearchDocument)
            .join(Resource, Resource.id == SearchDocument.resource_id)
        )

    # --- one page -------------------------------------------------------------------------

    async def _page_without_words(
        self, filters: _Where, search: _Search, after: CursorKey | None
    ) -> list[CursorKey]:
        """Newest first, without words. A school or author filter lets the database
        start from that filter's index. Otherwise the documents are walked newest first
        through windows of their ids, each window four times the last, until the page is
        full: a range of the primary key is what both databases start from, where left
        to themselves they would gather everything the caller may read and sort it."""
        wanted = search.limit + 1

        def newest(*bounds: ColumnElement[bool], limit: int) -> Select[Any]:
            return (
                self._documents_and_resources(SearchDocument.id)
                .where(*filters.all, *bounds)
                .order_by(SearchDocument.id.desc())
                .limit(limit)
            )

        def newest_in(*window: ColumnElement[bool], limit: int) -> Select[Any]:
            if not self._postgres:
                return newest(*window, limit=limit)
            documents = (
                select(
                    literal(BODY, Integer).label("score"),
                    SearchDocument.id.label("position"),
                    SearchDocument.resource_id,
                )
                .where(*filters.documents, *window)
                .order_by(SearchDocument.id.desc())
                .subquery("window")
            )
            return _walk_into_resources(documents, filters.resources, limit, by_score=False)

        before = [] if after is None else [SearchDocument.id < after.position]
        if search.school_ids or search.author_id is not None:
            rows = (
                await self.session.scalars(newest(*before, limit=wanted), filters.parameters)
            ).all()
            return [CursorKey(score=BODY, position=row) for row in rows]
        top = (
            after.position - 1
            if after is not None
            else await self.session.scalar(select(func.max(SearchDocument.id)))
        )
        keys: list[CursorKey] = []
        width = _FIRST_WINDOW
        while top is not None and top > 0 and len(keys) < wanted:
            low = max(0, top - width)
            window = (SearchDocument.id > low, SearchDocument.id <= top)
            statement = newest_in(*window, limit=wanted - len(keys))
            rows = (await self.session.execute(statement, filters.parameters)).all()
            keys.extend(CursorKey(score=BODY, position=int(row[-1])) for row in rows)
            top, width = low, width * 4
        return keys

    async def _page_by_tiers(
        self, filters: _Where, search: _Search, after: CursorKey | None
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
        position = SEARCH_INDEX.c.rowid
        for tier, expression in branches:
            if after is not None and tier > after.score:
                continue
            statement = (
                self._documents_and_resources(position)
                .where(*filters.all)
                .join(SEARCH_INDEX, SEARCH_INDEX.c.rowid == SearchDocument.id)
                .where(fts5_match(expression))
            )
            if after is not None and tier == after.score:
                statement = statement.where(position < after.position)
            statement = statement.order_by(position.desc()).limit(wanted - len(keys))
            keys.extend(
                CursorKey(score=tier, position=row)
                for row in (await self.session.scalars(statement, filters.parameters)).all()
            )
            if len(keys) >= wanted:
                break
        return keys

    async def _page_head_then_body(
        self, filters: _Where, search: _Search, universe: _Universe, after: CursorKey | None
    ) -> list[CursorKey]:
        """PostgreSQL, in two steps. First the documents whose head (title and metadata)
        has a part of the query, found by the GIN index on the head vector: every
        document ranked above the text-only tier is among them, and they are few even
        when a prefix matches a quarter of the corpus. They are ranked by tier, then
        walked into their resources until the page is full (see
        `_walk_into_resources`). Only when the page is not full yet are the text-only
        matches walked, newest first: when they are many, PostgreSQL walks the documents
        backwards by key and stops at the end of the page, reading none of the rest.
        Newest first, without tiers, is that second step alone over every match.
        """
        wanted = search.limit + 1
        where = filters + universe.matching
        if search.sort != "relevance":
            return await self._walk(where, literal(BODY, Integer), after, wanted, by_score=False)
        keys: list[CursorKey] = []
        in_head = tsvector_head_matches(search.query)
        if after is None or after.score > BODY:
            # A query of one part that is in the head is in the document: asking the
            # full vector too would read every candidate's (large, out-of-line) vector.
            single = len(search.query.terms) + len(search.query.phrases) == 1
            keys = await self._walk(
                (filters if single else where) + _Where((in_head,)),
                tsvector_tier(search.query),
                after,
                wanted,
                by_score=True,
            )
        if len(keys) < wanted:
            body_after = after if after is not None and after.score == BODY else None
            keys += await self._walk(
                where + _Where((~in_head,)),
                literal(BODY, Integer),
                body_after,
                wanted - len(keys),
                by_score=False,
            )
        return keys

    async def _walk(
        self,
        where: _Where,
        tier: ColumnElement[int],
        after: CursorKey | None,
        limit: int,
        *,
        by_score: bool,
    ) -> list[CursorKey]:
        """The documents of `where`, ordered by `tier` (when `by_score`) then newest
        first, after the cursor, walked into their resources until `limit` pass."""
        documents = list(where.documents)
        if after is not None:
            documents.append(
                tuple_(tier, SearchDocument.id)
                < tuple_(literal(after.score, Integer), literal(after.position, BigInteger))
                if by_score
                else SearchDocument.id < after.position
            )
        if by_score:
            ranked = (
                select(
                    SearchDocument.id.label("position"),
                    SearchDocument.resource_id.label("resource_id"),
                    tier.label("score"),
                )
                .where(*documents)
                .order_by(tier.desc(), SearchDocument.id.desc())
                .subquery("ranked")
            )
            rows = (
                await self.session.execute(
                    _walk_into_resources(ranked, where.resources, limit, by_score=True),
                    where.parameters,
                )
            ).all()
        else:
            # Newest first needs no subquery: with the order and the limit on the outer
            # statement, PostgreSQL walks the key backwards and stops at the limit when
            # many documents match (a subquery would be planned to return every row).
            readable = (
                select(literal(1).label("readable"))
                .where(Resource.id == SearchDocument.resource_id, *where.resources)
                .limit(1)
                .lateral("readable")
            )
            rows = (
                await self.session.execute(
                    select(tier.label("score"), SearchDocument.id.label("position"))
                    .select_from(SearchDocument)
                    .join(readable, true())
                    .where(*documents)
                    .order_by(SearchDocument.id.desc())
                    .limit(limit),
                    where.parameters,
                )
            ).all()
        return [CursorKey(score=int(score), position=int(position)) for score, position in rows]

    async def _items(self, keys: list[CursorKey], query: ParsedQuery) -> list[SearchItem]:
        if not keys:
            return []
        positions = [key.position for key in keys]
        rows = {
            row.position: row
            for row in (
                await self.session.execute(
                    self._documents_and_resources(
                        SearchDocument.id.label("position"),
                        SearchDocument.extraction_status,
                        Resource.id,
                        Resource.title,
                        Resource.kind,
                        Resource.subject,
                        Resource.grades,
                        Resource.language,
                        Resource.licence,
                        Resource.visibility,
                        Resource.confidential,
                        Resource.co_authors,
                        Resource.description,
                        Resource.created_at,
                        Resource.owner_school_id,
                        Resource.current_version_number,
                        School.name.label("school_name"),
                        func.substr(SearchText.body, 1, SNIPPET_SCAN_CHARS).label("body"),
                        ResourceVersion.number.label("version_number"),
                        ResourceVersion.media_type.label("version_media_type"),
                        ResourceVersion.size.label("version_size"),
                        ResourceVersion.original_name.label("version_original_name"),
                    )
                    .join(School, School.id == Resource.owner_school_id)
                    .outerjoin(SearchText, SearchText.document_id == SearchDocument.id)
                    .outerjoin(
                        ResourceVersion,
                        and_(
                            ResourceVersion.resource_id == Resource.id,
                            ResourceVersion.number == Resource.current_version_number,
                        ),
                    )
                    .where(SearchDocument.id.in_(positions))
                )
            ).all()
        }
        ids = [row.id for row in rows.values()]
        authors: defaultdict[UUID, list[AuthorRef]] = defaultdict(list)
        for resource_id, member_id, full_name in (
            await self.session.execute(
                select(ResourceAuthor.resource_id, Member.id, Member.full_name)
                .join(Member, Member.id == ResourceAuthor.member_id)
                .where(ResourceAuthor.resource_id.in_(ids))
                .order_by(ResourceAuthor.created_at, Member.full_name)
            )
        ).all():
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

    async def _universe(self, search: _Search) -> _Universe:
        """Which documents the words match (all of them without words), how many, and,
        when they are many, a sample of `COUNT_SAMPLE` of them: the first the index
        yields, in its own order (the oldest).

        When the first matches are all there is, they are named outright, on both sides
        of the join, so that the database plans for the rows there are: PostgreSQL cannot
        estimate how many documents a prefix matches, and either database would otherwise
        start from every resource the caller may read.
        """
        # PostgreSQL is sent the resource ids too, as text: thousands of UUID objects
        # would cost more than the query.
        resource_id = cast(SearchDocument.resource_id, String) if self._postgres else null()
        if search.query.is_empty:
            matching = _Where()
            first = select(SearchDocument.id, resource_id).order_by(SearchDocument.id)
            counted = select(func.count()).select_from(SearchDocument)
        elif self._postgres:
            matching = _Where((tsvector_matches(search.query),))
            # No ORDER BY: the GIN index yields matches in the table's order, and stops
            # at the limit; sorting them would read every one.
            first = select(SearchDocument.id, resource_id).where(*matching.documents)
            counted = select(func.count()).select_from(SearchDocument).where(*matching.documents)
        else:
            matching = _Where((fts5_matching_documents(search.query),))
            found = fts5_match(fts5_expression(search.query))
            first = select(SEARCH_INDEX.c.rowid, resource_id).where(found)
            first = first.order_by(SEARCH_INDEX.c.rowid)
            counted = select(func.count()).select_from(SEARCH_INDEX).where(found)
        rows = (await self.session.execute(first.limit(COUNT_SAMPLE + 1))).all()
        if len(rows) <= COUNT_SAMPLE:
            return _Universe(self._named(rows), len(rows), None, named=True)
        matched = int(await self.session.scalar(counted) or 0)
        return _Universe(matching, matched, self._named(rows[:COUNT_SAMPLE]))

    async def _counts(
        self, filters: _Where, search: _Search, universe: _Universe
    ) -> tuple[int, bool, Facets]:
        """Total and facets: exact, or over the sample of `COUNT_SAMPLE` matching
        documents and scaled when there are more and no school or author filter narrows them (with
        such a filter the database starts from it, and counting is cheap)."""
        sampled = universe.sample is not None and not search.school_ids and search.author_id is None
        where = filters + (
            universe.sample if sampled and universe.sample is not None else universe.matching
        )
        columns = (
            Resource.kind.label("kind"),
            Resource.subject.label("subject"),
            Resource.language.label("language"),
            Resource.owner_school_id.label("school_id"),
            Resource.grades.label("grades"),
        )
        if (sampled or universe.named) and not filters.documents:
            # The resources are named too: the documents need not be read.
            source = select(*columns).where(*where.resources)
        else:
            source = self._documents_and_resources(*columns).where(*where.all)
        hits = source.cte("hits").prefix_with("MATERIALIZED")
        count = func.count().label("n")
        # Schools are counted first and named after, one lookup per school.
        schools = (
            select(hits.c.school_id.label("school_id"), count)
            .group_by(hits.c.school_id)
            .subquery("by_school")
        )
        if self._postgres:
            school_value: ColumnElement[str] = cast(schools.c.school_id, String)
            grade_values = func.jsonb_array_elements_text(hits.c.grades).table_valued("value")
            grade_value: ColumnElement[str] = grade_values.c.value
        else:
            school_value = func.hex(schools.c.school_id)
            grade_values = func.json_each(hits.c.grades).table_valued("value")
            grade_value = cast(grade_values.c.value, String)
        no_name = cast(null(), String)
        facet_rows = union_all(
            select(literal("total"), cast(null(), String), count, no_name).select_from(hits),
            select(literal("kind"), hits.c.kind, count, no_name).group_by(hits.c.kind),
            select(literal("subject"), hits.c.subject, count, no_name).group_by(hits.c.subject),
            select(literal("language"), hits.c.language, count, no_name).group_by(hits.c.language),
            select(literal("school"), school_value, schools.c.n, School.name).select_from(
                schools.join(School, School.id == schools.c.school_id)
            ),
            select(literal("grade"), grade_value, count, no_name)
            .select_from(hits.join(grade_values, true()))
            .group_by(grade_value),
        )
        scale = universe.matched / COUNT_SAMPLE if sampled else 1.0
        counted: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
        names: dict[str, str] = {}
        total = 0
        for facet, value, n, name in (
            await self.session.execute(facet_rows, where.parameters)
        ).all():
            if facet == "total":
                total = round(int(n) * scale)
            elif value is not None:
                counted[facet].append((str(value), max(1, round(int(n) * scale))))
                if name is not None:
                    names[str(value)] = name
        return total, sampled, self._facets_shown(counted, names)

    @staticmethod
    def _facets_shown(counted: dict[str, list[tuple[str, int]]], names: dict[str, str]) -> Facets:
        def top(facet: str) -> list[tuple[str, int]]:
            return sorted(counted.get(facet, []), key=lambda pair: (-pair[1], pair[0]))[
                :FACET_VALUES
            ]

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
