"""Searching what the caller may read: words, filters, facets and pages.

What a school may read comes from `policy.readable_by_caller`, and it is part of every
statement the engines run (the page, the total and the facets), so nothing another
school may not read is ever counted or returned, and no filtering happens after the
query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.config import Settings
from exchange.errors import InvalidInput
from exchange.i18n import _
from exchange.kernel.languages import is_language_code
from exchange.kernel.refs import MemberRef, SchoolRef
from exchange.kernel.text import normalise_text
from exchange.previews import preview_state
from exchange.search.cursor import CursorKey, decode_cursor, encode_cursor, search_fingerprint
from exchange.search.engines import Found, Search, SearchEngine, WantedPage
from exchange.search.normalise import ParsedQuery, parse_query
from exchange.search.schemas import (
    FacetCount,
    Facets,
    GradeCount,
    SchoolCount,
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


def _validated(params: SearchParams) -> Search:
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
    search = Search(
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
    return Search(**{**search.__dict__, "fingerprint": fingerprint})


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


class SearchService:
    """Pages, totals and facets of a search: the search checked, its cursor read, and what
    the database's engine (`exchange.search.engines`) finds shaped for the API.

    Totals and facets are exact up to `engines.run.COUNT_SAMPLE` matching documents.
    Beyond, unless a school or author filter narrows the search (the database then
    starts from it), they are counted over a sample of the matches and scaled to the
    number of matches, and `total_is_estimate` says so.
    """

    def __init__(
        self, session: AsyncSession, settings: Settings, clock: Clock, engine: SearchEngine
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.engine = engine

    async def search(self, identity: Identity, params: SearchParams) -> SearchPage:
        search = _validated(params)
        after = (
            decode_cursor(params.cursor, search.fingerprint) if params.cursor is not None else None
        )
        found = await self.engine.find(
            self.session, WantedPage(identity, search, self.clock.now(), after)
        )
        more = len(found.keys) > search.limit
        keys = found.keys[: search.limit]
        items = _items(keys, found, search.query)
        total = found.total
        if after is None:
            total = max(total, len(items) + (1 if more else 0))
        return SearchPage(
            items=items,
            total=total,
            total_is_estimate=found.total_is_estimate,
            facets=_facets_of(found),
            next_cursor=encode_cursor(keys[-1], search.fingerprint) if more else None,
            sort=search.sort,
        )


def _items(keys: list[CursorKey], found: Found, query: ParsedQuery) -> list[SearchItem]:
    authors: defaultdict[UUID, list[MemberRef]] = defaultdict(list)
    for resource_id, member_id, full_name in found.authors:
        authors[resource_id].append(MemberRef(id=member_id, full_name=full_name))
    items: list[SearchItem] = []
    for key in keys:
        row = found.rows.get(key.position)
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
                    preview=preview_state(row.version_preview),
                    pages=row.version_pages,
                    duration_seconds=row.version_duration_seconds,
                )
                if row.version_number is not None
                else None,
                created_at=row.created_at,
                extraction_status=row.extraction_status,
                snippet=make_snippet((row.body, row.description), query),
            )
        )
    return items


# Facets shaped from kept estimates (`engines.run.Estimates`), by the counts they were
# shaped from: the next searches given the same counts answer the same facets.
_SHAPED: dict[int, tuple[dict[str, list[tuple[str, int]]], Facets]] = {}
_SHAPED_AT_MOST = 256


def _facets_of(found: Found) -> Facets:
    counted = found.facet_counts
    shaped = _SHAPED.get(id(counted))
    if shaped is not None and shaped[0] is counted:
        return shaped[1]
    facets = _facets_shown(counted, found.school_names)
    if found.total_is_estimate:  # only estimates are kept and given again
        if len(_SHAPED) >= _SHAPED_AT_MOST:
            _SHAPED.clear()
        _SHAPED[id(counted)] = (counted, facets)
    return facets


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
