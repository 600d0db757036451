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
from sqlalchemy.sql.selectable import CompoundSelect, TableValuedAlias

from exchange.models import (
    Member,
    Resource,
    ResourceAuthor,
    ResourceVersion,
    School,
    SearchDocument,
    SearchText,
)
from exchange.policy.tuned import reach_of_caller, readable_by_caller
from exchange.search.fulltext import (
    BODY,
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
# The documents of a page, whose items and authors are read.
POSITIONS = "positions"

# A statement of any columns.
AnySelect: TypeAlias = Select[*tuple[Any, ...]]

# Where a search's documents come from: every document (no words), those the words
# match, or documents named outright (the matches, when few; a sample of them, when many).
Source = Literal["all", "matching", "named"]


@dataclass(frozen=True)
class Shape:
    """What a search's SQL depends on, apart from values."""

    sql: SearchSql
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


class SearchSql:
    """What each database writes its own way in the statements both engines share. Each
    engine has one (`sqlite.SQL`, `postgres.SQL`), and a search's `Shape` names it."""

    def json_elements(self, column: Any) -> TableValuedAlias:
        """The elements of the JSON list `column`, as a table of one column, `value`."""
        raise NotImplementedError

    def element_text(self, value: Any) -> ColumnElement[str]:
        """An element of a JSON list (`json_elements`) as text."""
        raise NotImplementedError

    def key_text(self, key: Any) -> ColumnElement[str]:
        """A UUID key as the text a facet gives it."""
        raise NotImplementedError

    def matching(self) -> Conditions:
        """The documents the words match."""
        raise NotImplementedError

    def named(self) -> Conditions:
        """The documents named outright (and their resources)."""
        raise NotImplementedError

    def first_matches(self, probe: Any) -> AnySelect:
        """The first `probe` documents the words match, in the index's own order, as
        `first_matches` gives them."""
        raise NotImplementedError

    def count_matches(self) -> AnySelect:
        """How many documents the words match."""
        raise NotImplementedError

    def resource_id_text(self) -> ColumnElement[Any]:
        """What `first_matches` gives of each document's resource."""
        raise NotImplementedError

    def joined(self, text: Any) -> ColumnElement[str]:
        """The aggregate of the texts `text` of a group's rows, joined by commas."""
        raise NotImplementedError

    def among_positions(self, position: Any) -> ColumnElement[bool]:
        """`position` is one of the index positions `POSITIONS` (a page's documents),
        given as one value (`positions_value`), so that the statement's SQL is the same
        for every page."""
        raise NotImplementedError

    def positions_value(self, positions: list[int]) -> Any:
        """The value of `POSITIONS` for `among_positions`."""
        raise NotImplementedError

    def walk_window(
        self, where: Conditions, limits: list[ColumnElement[bool]], limit: Any
    ) -> AnySelect | None:
        """A window of documents without words, newest first, if this database walks it
        its own way rather than as one join (see `newest`)."""
        return None


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
        conditions.append(_has_grade(shape.sql))
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


def _has_grade(sql: SearchSql) -> ColumnElement[bool]:
    elements = sql.json_elements(Resource.grades)
    return exists(
        select(literal(1))
        .select_from(elements)
        .where(elements.c.value.in_(bindparam(GRADES, expanding=True)))
    )


@functools.lru_cache(maxsize=8)
def source_conditions(sql: SearchSql, source: Source) -> Conditions:
    """The documents (and resources) a search starts from."""
    if source == "all":
        return Conditions()
    if source == "matching":
        return sql.matching()
    return sql.named()


def documents_and_resources(*columns: Any) -> AnySelect:
    return (
        select(*columns)
        .select_from(SearchDocument)
        .join(Resource, Resource.id == SearchDocument.resource_id)
    )


# --- what the words match ----------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def first_matches(sql: SearchSql, words: bool) -> AnySelect:
    """The first `PROBE_LIMIT` documents the words match (every document without words),
    in the index's own order (the oldest first): index position and, on PostgreSQL, the
    resource's id as text (thousands of UUID objects would cost more than the query)."""
    probe = bindparam(PROBE_LIMIT, type_=Integer)
    if words:
        return sql.first_matches(probe)
    return (
        select(SearchDocument.id, sql.resource_id_text()).order_by(SearchDocument.id).limit(probe)
    )


@functools.lru_cache(maxsize=4)
def count_matches(sql: SearchSql, words: bool) -> AnySelect:
    if words:
        return sql.count_matches()
    return select(func.count()).select_from(SearchDocument)


# --- one page --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def last_position() -> AnySelect:
    return select(func.max(SearchDocument.id))


@functools.lru_cache(maxsize=SHAPES_KEPT)
def newest(shape: Shape, bounds: Literal["none", "after", "window"]) -> AnySelect:
    """Without words: the documents that pass the filters, newest first, up to
    `PAGE_LIMIT`; all of them, those after `AFTER_POSITION`, or those of a window of
    positions (`WINDOW_LOW` < position <= `WINDOW_TOP`).

    A database may walk a window its own way (`SearchSql.walk_window`); a school or
    author filter is searched as one statement that
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
    if bounds == "window" and (walked := shape.sql.walk_window(where, limits, limit)) is not None:
        return walked
    return (
        documents_and_resources(literal(BODY, Integer).label("score"), SearchDocument.id)
        .where(*where.all, *limits)
        .order_by(SearchDocument.id.desc())
        .limit(limit)
    )


# --- what a page shows -------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def items(sql: SearchSql) -> AnySelect:
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
            ResourceVersion.preview_state.label("version_preview"),
            ResourceVersion.pages.label("version_pages"),
            ResourceVersion.duration_seconds.label("version_duration_seconds"),
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
        .where(sql.among_positions(SearchDocument.id))
    )


@functools.lru_cache(maxsize=4)
def authors(sql: SearchSql) -> AnySelect:
    """The member authors of the resources of the documents `POSITIONS`, in the order
    they were added."""
    page = select(SearchDocument.resource_id).where(sql.among_positions(SearchDocument.id))
    return (
        select(ResourceAuthor.resource_id, Member.id, Member.full_name)
        .join(Member, Member.id == ResourceAuthor.member_id)
        .where(ResourceAuthor.resource_id.in_(page))
        .order_by(ResourceAuthor.created_at, Member.full_name)
    )


# --- what estimates are kept by ----------------------------------------------------------


@functools.lru_cache(maxsize=4)
def reach_digest(sql: SearchSql) -> AnySelect:
    """The rows of `policy.tuned.reach_of_caller` as one text, in the order the database
    gives them: one row to compare, where a school of hundreds of partners would give
    hundreds. The same rows in another order give another text, which can only make a
    kept estimate be counted again, never make one be used for other rows."""
    reach = reach_of_caller().subquery("reach")
    return select(func.count(), sql.joined(reach.c[0] + sql.key_text(reach.c[1])))


# --- total and facets --------------------------------------------------------------------


@functools.lru_cache(maxsize=SHAPES_KEPT)
def facets(shape: Shape, source: Source) -> CompoundSelect[*tuple[Any, ...]]:
    """Rows of (facet, value, count, school name): the total, then counts by kind,
    subject, language, school and grade, over the documents of `source` that pass the
    filters. Named documents name their resources too, so unless a filter is on the
    documents themselves (author names) the documents need not be read."""
    where = filters(shape) + source_conditions(shape.sql, source)
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
    school_value = shape.sql.key_text(schools.c.school_id)
    grade_values = shape.sql.json_elements(grade_lists.c.grades)
    grade_value = shape.sql.element_text(grade_values.c.value)
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
