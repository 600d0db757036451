"""Searching what the caller may read: words, filters, facets and pages.

What a school may read comes from `policy.readable_resources`, and it is part of every
statement here (the page, the total and the facets), so nothing another school may not
read is ever counted or returned, and no filtering happens after the query.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    cast,
    exists,
    func,
    literal,
    null,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

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
)
from exchange.policy import readable_resources
from exchange.search.cursor import CursorKey, decode_cursor, encode_cursor, search_fingerprint
from exchange.search.fulltext import full_text_for
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
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


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
            f"The search text is too long; use at most {MAX_QUERY_CHARS} characters.", field="q"
        )
    if not 1 <= params.limit <= MAX_LIMIT:
        raise InvalidInput(f"`limit` must be between 1 and {MAX_LIMIT}.", field="limit")
    for grade in params.grades:
        if not 1 <= grade <= 11:
            raise InvalidInput("`grade` must be a school grade from 1 to 11.", field="grade")
    languages = tuple(dict.fromkeys(code.strip().lower() for code in params.languages))
    for code in languages:
        if not _LANGUAGE_CODE.match(code):
            raise InvalidInput(
                "`language` must be a language code such as ky, ru or en.", field="language"
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
    def __init__(self, session: AsyncSession, settings: Settings, clock: Clock) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self._dialect = session.get_bind().dialect.name
        self._full_text = full_text_for(self._dialect)

    async def search(self, identity: Identity, params: SearchParams) -> SearchPage:
        search = _validated(params)
        after = (
            decode_cursor(params.cursor, search.fingerprint) if params.cursor is not None else None
        )
        keys = await self._page_keys(identity, search, after)
        more = len(keys) > search.limit
        keys = keys[: search.limit]
        items = await self._items([key.id for key in keys], search.query)
        total, facets = await self._facets(identity, search)
        next_cursor = encode_cursor(keys[-1], search.fingerprint) if more and keys else None
        return SearchPage(
            items=items,
            total=total,
            total_is_estimate=False,
            facets=facets,
            next_cursor=next_cursor,
            sort=search.sort,
        )

    # --- the matching set -------------------------------------------------------------

    def _conditions(self, identity: Identity, search: _Search) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [readable_resources(identity)]
        if not search.query.is_empty:
            conditions.append(self._full_text.matches(search.query))
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
                exists(
                    select(ResourceAuthor.id).where(
                        ResourceAuthor.resource_id == Resource.id,
                        ResourceAuthor.member_id == search.author_id,
                    )
                )
            )
        for word in search.author_words:
            # Names are stored normalised: every word of the filter starts a word there.
            conditions.append(
                (literal(" ", String) + SearchDocument.authors_text).like(f"% {word}%")
            )
        return conditions

    def _has_grade(self, grades: tuple[int, ...]) -> ColumnElement[bool]:
        if self._dialect == "postgresql":
            elements = func.jsonb_array_elements_text(Resource.grades).table_valued("value")
            return exists(
                select(literal(1))
                .select_from(elements)
                .where(elements.c.value.in_([str(grade) for grade in grades]))
            )
        elements = func.json_each(Resource.grades).table_valued("value")
        return exists(select(literal(1)).select_from(elements).where(elements.c.value.in_(grades)))

    def _matching(self, search: _Search, *columns: Any) -> Any:
        """SELECT `columns` FROM resources joined with their search documents."""
        return (
            select(*columns)
            .select_from(Resource)
            .join(
                SearchDocument,
                SearchDocument.resource_id == Resource.id,
                isouter=search.query.is_empty and not search.author_words,
            )
        )

    # --- one page -----------------------------------------------------------------------

    async def _page_keys(
        self, identity: Identity, search: _Search, after: CursorKey | None
    ) -> list[CursorKey]:
        if search.sort == "relevance" and not search.query.is_empty:
            score: ColumnElement[int] = self._full_text.score(search.query)
        else:
            score = literal(0, Integer)
        ranked = (
            self._matching(
                search,
                Resource.id.label("id"),
                Resource.created_at.label("created_at"),
                score.label("score"),
            )
            .where(*self._conditions(identity, search))
            .subquery("ranked")
        )
        statement = select(ranked.c.score, ranked.c.created_at, ranked.c.id)
        if after is not None:
            statement = statement.where(
                tuple_(ranked.c.score, ranked.c.created_at, ranked.c.id)
                < tuple_(
                    literal(after.score, Integer),
                    literal(after.created_at, Resource.created_at.type),
                    literal(after.id, Resource.id.type),
                )
            )
        statement = statement.order_by(
            ranked.c.score.desc(), ranked.c.created_at.desc(), ranked.c.id.desc()
        ).limit(search.limit + 1)
        rows = (await self.session.execute(statement)).all()
        return [CursorKey(score=int(row[0]), created_at=row[1], id=row[2]) for row in rows]

    async def _items(self, ids: list[UUID], query: ParsedQuery) -> list[SearchItem]:
        if not ids:
            return []
        resources = {
            row.id: row
            for row in (
                await self.session.execute(
                    select(
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
                        School.name.label("school_name"),
                    )
                    .join(School, School.id == Resource.owner_school_id)
                    .where(Resource.id.in_(ids))
                )
            ).all()
        }
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
        versions = {
            version.resource_id: version
            for version in (
                await self.session.scalars(
                    select(ResourceVersion)
                    .join(
                        Resource,
                        and_(
                            Resource.id == ResourceVersion.resource_id,
                            Resource.current_version_number == ResourceVersion.number,
                        ),
                    )
                    .where(Resource.id.in_(ids))
                )
            ).all()
        }
        documents = {
            row[0]: (row[1], row[2])
            for row in (
                await self.session.execute(
                    select(
                        SearchDocument.resource_id,
                        SearchDocument.extraction_status,
                        func.substr(SearchDocument.body, 1, SNIPPET_SCAN_CHARS),
                    ).where(SearchDocument.resource_id.in_(ids))
                )
            ).all()
        }
        items: list[SearchItem] = []
        for resource_id in ids:
            row = resources.get(resource_id)
            if row is None:  # deleted between the two statements
                continue
            status, body = documents.get(resource_id, ("pending", ""))
            version = versions.get(resource_id)
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
                    authors=authors.get(resource_id, []),
                    co_authors=list(row.co_authors or []),
                    current_version=VersionSummary(
                        number=version.number,
                        media_type=version.media_type,
                        size=version.size,
                        original_name=version.original_name,
                    )
                    if version is not None
                    else None,
                    created_at=row.created_at,
                    extraction_status=status,
                    snippet=make_snippet((body, row.description), query),
                )
            )
        return items

    # --- total and facets -------------------------------------------------------------

    async def _facets(self, identity: Identity, search: _Search) -> tuple[int, Facets]:
        hits = (
            self._matching(
                search,
                Resource.kind.label("kind"),
                Resource.subject.label("subject"),
                Resource.language.label("language"),
                Resource.owner_school_id.label("school_id"),
                Resource.grades.label("grades"),
            )
            .where(*self._conditions(identity, search))
            .cte("hits")
            .prefix_with("MATERIALIZED")
        )
        count = func.count().label("n")
        if self._dialect == "postgresql":
            school_value: ColumnElement[str] = cast(hits.c.school_id, String)
            grade_values = func.jsonb_array_elements_text(hits.c.grades).table_valued("value")
            grade_value: ColumnElement[str] = grade_values.c.value
        else:
            school_value = func.hex(hits.c.school_id)
            grade_values = func.json_each(hits.c.grades).table_valued("value")
            grade_value = cast(grade_values.c.value, String)
        facet_rows = union_all(
            select(literal("total"), cast(null(), String), count).select_from(hits),
            select(literal("kind"), hits.c.kind, count).group_by(hits.c.kind),
            select(literal("subject"), hits.c.subject, count).group_by(hits.c.subject),
            select(literal("language"), hits.c.language, count).group_by(hits.c.language),
            select(literal("school"), school_value, count).group_by(hits.c.school_id),
            select(literal("grade"), grade_value, count)
            .select_from(hits.join(grade_values, true()))
            .group_by(grade_value),
        )
        counted: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
        total = 0
        for facet, value, n in (await self.session.execute(facet_rows)).all():
            if facet == "total":
                total = int(n)
            elif value is not None:
                counted[facet].append((str(value), int(n)))
        return total, await self._facets_shown(counted)

    async def _facets_shown(self, counted: dict[str, list[tuple[str, int]]]) -> Facets:
        def top(facet: str) -> list[tuple[str, int]]:
            return sorted(counted.get(facet, []), key=lambda pair: (-pair[1], pair[0]))[
                :FACET_VALUES
            ]

        grades: list[GradeCount] = []
        for value, n in counted.get("grade", []):
            if value.lstrip("-").isdigit():
                grades.append(GradeCount(value=int(value), count=n))
        grades.sort(key=lambda grade: grade.value)
        school_counts = [(UUID(value), n) for value, n in top("school")]
        names = dict(
            (
                await self.session.execute(
                    select(School.id, School.name).where(
                        School.id.in_([school_id for school_id, _ in school_counts])
                    )
                )
            ).all()
        )
        return Facets(
            kind=[FacetCount(value=value, count=n) for value, n in top("kind")],
            subject=[FacetCount(value=value, count=n) for value, n in top("subject")],
            grade=grades,
            language=[FacetCount(value=value, count=n) for value, n in top("language")],
            school=[
                SchoolCount(value=school_id, name=names.get(school_id, ""), count=n)
                for school_id, n in school_counts
            ],
        )
