"""The SQL both search engines share, built once for each shape of search and kept
(each engine keeps its own statements the same way, beside it).

A search's statements depend on its values (words, filter values, the caller, the page's
cursor) and on its shape: the database, which filters it has, how many parts its query
has, whether it starts from named documents. Everything that varies from one search to
the next is a named bound parameter here, given at execution (see
`run.SearchRun.prepared`), so each builder below runs once per shape and process.

That matters for speed as much as for tidiness: SQLAlchemy derives a cache key for every
statement it executes by walking the whole statement, and it remembers the key on the
statement object. A statement built anew for every search (the visibility rule alone is
a recursive query) costs more to build and to walk than the database takes to run it; a
kept one costs neither.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

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
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.sql.selectable import CompoundSelect, Subquery

from exchange.models import (
    Member,
    Resource,
    ResourceAuthor,
    ResourceVersion,
    School,
    SearchDocument,
    SearchText,
)
from exchange.policy import readable_by_caller
from exchange.search.fulltext import (
    BODY,
    SEARCH_INDEX,
    fts5_match,
    fts5_matching_documents,
    tsvector_matches,
)

# How much of a long extracted text is searched for the snippet's match.
SNIPPET_SCAN_CHARS = 100_000
# Kept statements: one set per shape of search, and shapes are few (each filter is
# there or not), so this holds every one a process meets.
SHAPES_KEPT = 1024

# The parameters, by name. The caller's school and time are `readable_by_caller`'s.
KINDS = "kinds"
SUBJECTS = "subjects"
GRADES = "grades"
LANGUAGES = "languages"
SCHOOL_IDS = "school_ids"
LICENCES = "licences"
AUTHOR_ID = "author_id"
# Followed by the word's number: `author_word_0`, ...
AUTHOR_WORD = "author_word_"
# The FTS5 expression of every part of the query; of one ranking tier.
MATCH = "match"
TIER_MATCH = "tier_match"
# Named documents: their index positions (a JSON list on SQLite, an array on PostgreSQL)
# and, on PostgreSQL, their resources' ids as text.
NAMED_POSITIONS = "named_positions"
NAMED_RESOURCES = "named_resources"
# How many documents the first look at the matches reads.
PROBE_LIMIT = "probe_limit"
PAGE_LIMIT = "page_limit"
AFTER_SCORE = "after_score"
AFTER_POSITION = "after_position"
# A window of index positions, `low` exclusive, `top` inclusive.
WINDOW_LOW = "window_low"
WINDOW_TOP = "window_top"
# Items of a page, and the resources whose authors are named.
POSITIONS = "positions"
RESOURCE_IDS = "resource_ids"

_UUIDS = ARRAY(PG_UUID(as_uuid=False))
# A statement of any columns.
AnySelect: TypeAlias = Select[*tuple[Any, ...]]

# Where a search's documents come from: every document (no words), those the words
# match, or documents named outright (the matches, when few; a sample of them, when many).
Source = Literal["all", "matching", "named"]


@dataclass(frozen=True)
class Shape:
    """What a search's SQL depends on, apart from values."""

    postgres: bool
    kinds: bool = False
    subjects: bool = False
    grades: bool = False
    languages: bool = False
    schools: bool = False
    licences: bool = False
    author_id: bool = False
    author_words: int = 0
    # The query has several parts (terms and phrases): one more ranking tier.
    several_parts: bool = False

    @property
    def narrowed(self) -> bool:
        """A school or author filter: the database can start from it."""
        return self.schools or self.author_id


@dataclass(frozen=True)
class Conditions:
    """Conditions on `SearchDocument` and on `Resource`, kept apart so that a statement
    can weigh documents before it joins their resources."""

    documents: tuple[ColumnElement[bool], ...] = ()
    resources: tuple[ColumnElement[bool], ...] = ()

    def __add__(self, other: Conditions) -> Conditions:
        return Conditions(self.documents + other.documents, self.resources + other.resources)

    @property
    def all(self) -> tuple[ColumnElement[bool], ...]:
        return self.documents + self.resources


# --- conditions ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=SHAPES_KEPT)
def filters(shape: Shape) -> Conditions:
    """Visibility and the filters."""
    conditions: list[ColumnElement[bool]] = [readable_by_caller()]
    if shape.kinds:
        conditions.append(Resource.kind.in_(bindparam(KINDS, expanding=True)))
    if shape.subjects:
        conditions.append(Resource.subject.in_(bindparam(SUBJECTS, expanding=True)))
    if shape.grades:
        conditions.append(_has_grade(shape.postgres))
    if shape.languages:
        conditions.append(Resource.language.in_(bindparam(LANGUAGES, expanding=True)))
    if shape.schools:
        conditions.append(Resource.owner_school_id.in_(bindparam(SCHOOL_IDS, expanding=True)))
    if shape.licences:
        conditions.append(Resource.licence.in_(bindparam(LICENCES, expanding=True)))
    if shape.author_id:
        conditions.append(
            Resource.id.in_(
                select(ResourceAuthor.resource_id).where(
                    ResourceAuthor.member_id
                    == bindparam(AUTHOR_ID, type_=ResourceAuthor.__table__.c.member_id.type)
                )
            )
        )
    # Names are stored normalised: every word of the filter starts a word there (the
    # parameters' values are `% word%`).
    names = tuple(
        (literal(" ", String) + SearchDocument.authors_text).like(
            bindparam(f"{AUTHOR_WORD}{number}", type_=String)
        )
        for number in range(shape.author_words)
    )
    return Conditions(documents=names, resources=tuple(conditions))


def _has_grade(postgres: bool) -> ColumnElement[bool]:
    if postgres:
        elements = func.jsonb_array_elements_text(Resource.grades).table_valued("value")
    else:
        elements = func.json_each(Resource.grades).table_valued("value")
    return exists(
        select(literal(1))
        .select_from(elements)
        .where(elements.c.value.in_(bindparam(GRADES, expanding=True)))
    )


@functools.lru_cache(maxsize=8)
def source_conditions(postgres: bool, source: Source) -> Conditions:
    """The documents (and resources) a search starts from."""
    if source == "all":
        return Conditions()
    if source == "matching":
        return Conditions((tsvector_matches() if postgres else fts5_matching_documents(MATCH),))
    if postgres:
        positions = bindparam(NAMED_POSITIONS, type_=ARRAY(BigInteger))
        resources = cast(bindparam(NAMED_RESOURCES, type_=ARRAY(String)), _UUIDS)
        return Conditions(
            (SearchDocument.id == any_(positions),), (Resource.id == any_(resources),)
        )
    listed = func.json_each(bindparam(NAMED_POSITIONS, type_=String)).table_valued("value")
    documents = SearchDocument.id.in_(select(listed.c.value))
    return Conditions(
        (documents,), (Resource.id.in_(select(SearchDocument.resource_id).where(documents)),)
    )


def documents_and_resources(*columns: Any) -> AnySelect:
    return (
        select(*columns)
        .select_from(SearchDocument)
        .join(Resource, Resource.id == SearchDocument.resource_id)
    )


# --- what the words match ----------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def first_matches(postgres: bool, words: bool) -> AnySelect:
    """The first `PROBE_LIMIT` documents the words match (every document without words),
    in the index's own order (the oldest first): index position and, on PostgreSQL, the
    resource's id as text (thousands of UUID objects would cost more than the query)."""
    resource_id = cast(SearchDocument.resource_id, String) if postgres else null()
    probe = bindparam(PROBE_LIMIT, type_=Integer)
    if not words:
        return select(SearchDocument.id, resource_id).order_by(SearchDocument.id).limit(probe)
    if postgres:
        # No ORDER BY: the GIN index yields matches in the table's order, and stops at the
        # limit; sorting them would read every one.
        return (
            select(SearchDocument.id, resource_id)
            .where(tsvector_matches(written=True))
            .limit(probe)
        )
    return (
        select(SEARCH_INDEX.c.rowid, resource_id)
        .where(fts5_match(MATCH))
        .order_by(SEARCH_INDEX.c.rowid)
        .limit(probe)
    )


@functools.lru_cache(maxsize=4)
def count_matches(postgres: bool, words: bool) -> AnySelect:
    if not words:
        return select(func.count()).select_from(SearchDocument)
    if postgres:
        return (
            select(func.count()).select_from(SearchDocument).where(tsvector_matches(written=True))
        )
    return select(func.count()).select_from(SEARCH_INDEX).where(fts5_match(MATCH))


# --- one page --------------------------------------------------------------------------------


def walk_into_resources(
    documents: Subquery, resources: tuple[ColumnElement[bool], ...], limit: Any, *, by_score: bool
) -> AnySelect:
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


@functools.lru_cache(maxsize=1)
def last_position() -> AnySelect:
    return select(func.max(SearchDocument.id))


@functools.lru_cache(maxsize=SHAPES_KEPT)
def newest(shape: Shape, bounds: Literal["none", "after", "window"]) -> AnySelect:
    """Without words: the documents that pass the filters, newest first, up to
    `PAGE_LIMIT`; all of them, those after `AFTER_POSITION`, or those of a window of
    positions (`WINDOW_LOW` < position <= `WINDOW_TOP`).

    On PostgreSQL a window's documents are walked into their resources by key (see
    `walk_into_resources`); a school or author filter is searched as one statement that
    the database starts from that filter's index.
    """
    where = filters(shape)
    limit = bindparam(PAGE_LIMIT, type_=Integer)
    limits: list[ColumnElement[bool]] = []
    if bounds == "after":
        limits.append(SearchDocument.id < bindparam(AFTER_POSITION, type_=BigInteger))
    elif bounds == "window":
        limits.append(SearchDocument.id > bindparam(WINDOW_LOW, type_=BigInteger))
        limits.append(SearchDocument.id <= bindparam(WINDOW_TOP, type_=BigInteger))
    if shape.postgres and bounds == "window":
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
    return (
        documents_and_resources(literal(BODY, Integer).label("score"), SearchDocument.id)
        .where(*where.all, *limits)
        .order_by(SearchDocument.id.desc())
        .limit(limit)
    )


# --- what a page shows -------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def items() -> AnySelect:
    """What a page shows of each of its documents (`POSITIONS`)."""
    return (
        documents_and_resources(
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
        .where(SearchDocument.id.in_(bindparam(POSITIONS, expanding=True)))
    )


@functools.lru_cache(maxsize=1)
def authors() -> AnySelect:
    """The member authors of the resources `RESOURCE_IDS`, in the order they were added."""
    return (
        select(ResourceAuthor.resource_id, Member.id, Member.full_name)
        .join(Member, Member.id == ResourceAuthor.member_id)
        .where(ResourceAuthor.resource_id.in_(bindparam(RESOURCE_IDS, expanding=True)))
        .order_by(ResourceAuthor.created_at, Member.full_name)
    )


# --- total and facets --------------------------------------------------------------------


@functools.lru_cache(maxsize=SHAPES_KEPT)
def facets(shape: Shape, source: Source) -> CompoundSelect[*tuple[Any, ...]]:
    """Rows of (facet, value, count, school name): the total, then counts by kind,
    subject, language, school and grade, over the documents of `source` that pass the
    filters. Named documents name their resources too, so unless a filter is on the
    documents themselves (author names) the documents need not be read."""
    where = filters(shape) + source_conditions(shape.postgres, source)
    columns = (
        Resource.kind.label("kind"),
        Resource.subject.label("subject"),
        Resource.language.label("language"),
        Resource.owner_school_id.label("school_id"),
        Resource.grades.label("grades"),
    )
    if source == "named" and not shape.author_words:
        hits_source = select(*columns).where(*where.resources)
    else:
        hits_source = documents_and_resources(*columns).where(*where.all)
    hits = hits_source.cte("hits").prefix_with("MATERIALIZED")
    count = func.count().label("n")
    # Schools are counted first and named after, one lookup per school.
    schools = (
        select(hits.c.school_id.label("school_id"), count)
        .group_by(hits.c.school_id)
        .subquery("by_school")
    )
    # Grades are counted by list first (a few dozen lists of grades among thousands of
    # resources), and each list's grades taken apart after: one unnesting per list, not
    # one per resource.
    grade_lists = (
        select(hits.c.grades.label("grades"), count).group_by(hits.c.grades).subquery("by_grades")
    )
    if shape.postgres:
        school_value: ColumnElement[str] = cast(schools.c.school_id, String)
        grade_values = func.jsonb_array_elements_text(grade_lists.c.grades).table_valued("value")
        grade_value: ColumnElement[str] = grade_values.c.value
    else:
        school_value = func.hex(schools.c.school_id)
        grade_values = func.json_each(grade_lists.c.grades).table_valued("value")
        grade_value = cast(grade_values.c.value, String)
    no_name = cast(null(), String)
    return union_all(
        select(literal("total"), cast(null(), String), count, no_name).select_from(hits),
        select(literal("kind"), hits.c.kind, count, no_name).group_by(hits.c.kind),
        select(literal("subject"), hits.c.subject, count, no_name).group_by(hits.c.subject),
        select(literal("language"), hits.c.language, count, no_name).group_by(hits.c.language),
        select(literal("school"), school_value, schools.c.n, School.name).select_from(
            schools.join(School, School.id == schools.c.school_id)
        ),
        select(literal("grade"), grade_value, cast(func.sum(grade_lists.c.n), BigInteger), no_name)
        .select_from(grade_lists.join(grade_values, true()))
        .group_by(grade_value),
    )
