"""The full-text conditions of a search, in each database's own language.

A parsed query (`exchange.search.normalise.parse_query`) holds only words of letters and
digits, already normalised as the index is, so it is written into FTS5 and tsquery
expressions without any escaping: no operator can come through.

Ranking is by tiers that depend on the document alone, never on corpus statistics (bm25
moves every score when any document is added, which would let a page boundary shift
under a cursor):

- 3: every part of the query is in the title;
- 2: every part is in the title, subject, authors or description ("head");
- 1: some part is in the head, the rest in the text (only for queries of several parts);
- 0: the text alone has them.

Within a tier the newest resource comes first (the index row's id, which grows as
resources are added).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    bindparam,
    case,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)

from exchange.models import SearchDocument
from exchange.search.normalise import ParsedQuery

TITLE, HEAD, SOME_IN_HEAD, BODY = 3, 2, 1, 0


def tiers_of(query: ParsedQuery) -> tuple[int, ...]:
    """The tiers a query's results fall in, best first."""
    if len(query.terms) + len(query.phrases) > 1:
        return (TITLE, HEAD, SOME_IN_HEAD, BODY)
    return (TITLE, HEAD, BODY)


# --- SQLite FTS5 ---------------------------------------------------------------------------

SEARCH_INDEX = table("search_index", column("rowid", BigInteger), column("search_index", String))


def fts5_parts(query: ParsedQuery) -> list[str]:
    """One FTS5 phrase per query part: `"word"*` for a term, `"two words"` for a phrase."""
    return [f'"{term}"*' for term in query.terms] + [
        '"' + " ".join(phrase) + '"' for phrase in query.phrases
    ]


def fts5_expression(query: ParsedQuery) -> str:
    """Every part, anywhere in the document."""
    return " AND ".join(fts5_parts(query))


def fts5_tier_expression(query: ParsedQuery, tier: int) -> str:
    """The documents of one tier exactly (the better tiers excluded with NOT)."""
    every = f"({fts5_expression(query)})"
    some = "(" + " OR ".join(fts5_parts(query)) + ")"
    in_title = f"({{title}} : {every})"
    in_head = f"({{title meta}} : {every})"
    some_in_head = f"({{title meta}} : {some})"
    if tier == TITLE:
        return in_title
    if tier == HEAD:
        return f"{in_head} NOT {in_title}"
    if tier == SOME_IN_HEAD:
        return f"({every} AND {some_in_head}) NOT {in_head}"
    return f"{every} NOT {some_in_head}"


def fts5_match(parameter: str) -> ColumnElement[bool]:
    """`search_index MATCH :parameter`, for a statement whose FROM has the FTS5 table;
    the parameter's value is an expression of `fts5_expression` or
    `fts5_tier_expression`."""
    return SEARCH_INDEX.c.search_index.op("MATCH")(bindparam(parameter, type_=String))


def fts5_matching_documents(parameter: str) -> ColumnElement[bool]:
    """Condition on `SearchDocument`: the FTS5 expression in `parameter` matches it."""
    return SearchDocument.id.in_(select(SEARCH_INDEX.c.rowid).where(fts5_match(parameter)))


# --- PostgreSQL tsvector ---------------------------------------------------------------------


def tsquery_parts(query: ParsedQuery, weights: str = "") -> list[str]:
    """One tsquery operand per part: `'word':*` for a term, `('two' <-> 'words')` for a
    phrase; `weights` (e.g. "AB") restricts them to those weights."""
    parts = [f"'{term}':*{weights}" for term in query.terms]
    suffix = f":{weights}" if weights else ""
    for phrase in query.phrases:
        parts.append("(" + " <-> ".join(f"'{word}'{suffix}" for word in phrase) + ")")
    return parts


def tsquery_expression(query: ParsedQuery, weights: str = "", operator: str = "&") -> str:
    return f" {operator} ".join(tsquery_parts(query, weights))


# The parameters of the tsquery conditions below: every part; every part in the title
# (weight A); some part. The head vector holds the title (A) and metadata (B) only, so
# on it "every part" means every part in the head and "some part" some part in the head,
# with no weights for the index's matches to be rechecked against.
TSQUERY_ALL = "tsquery_all"
TSQUERY_TITLE = "tsquery_title"
TSQUERY_SOME = "tsquery_some"


def tsquery_values(query: ParsedQuery) -> dict[str, str]:
    """The values of the tsquery parameters for one query."""
    return {
        TSQUERY_ALL: tsquery_expression(query),
        TSQUERY_TITLE: tsquery_expression(query, "A"),
        TSQUERY_SOME: tsquery_expression(query, operator="|"),
    }


def _tsquery(parameter: str, *, written: bool = False) -> ColumnElement[object]:
    """The tsquery of `parameter`, bound, or `written` into the SQL text at execution.

    Written, PostgreSQL estimates how many documents match from its statistics of the
    column: the statements whose plan depends on that (the first matches, the samples)
    write it, and they are cheap to plan. Bound, a statement's text is the same for every
    search of its shape, so it is prepared once per connection and planned once (see
    `exchange.search.engines.postgres`): the statements that hold the access policy take about
    2 ms to plan, longer than most of them take to run, and their plans are fixed by
    their shape and the search's planner settings, not by estimates.
    """
    query = func.to_tsquery(
        literal_column("'simple'"), bindparam(parameter, type_=String, literal_execute=written)
    )
    if written:
        return query
    # A scalar subquery, so that the query is parsed once per execution, not again for
    # every row the index's matches are checked against.
    return select(query).scalar_subquery()


SEARCH_VECTOR: ColumnElement[object] = literal_column("search_documents.search_vector")
HEAD_VECTOR: ColumnElement[object] = literal_column("search_documents.head_vector")
# The school that shares the document's resource, written with the vectors (migration
# 0008): a search can intersect the matches with a few schools' documents in the index.
DOCUMENT_SCHOOL: ColumnElement[object] = literal_column("search_documents.owner_school_id")


def tsvector_matches(*, written: bool = False) -> ColumnElement[bool]:
    """Condition on `SearchDocument`: every part of the query is in the document (the GIN
    index on `search_vector` answers it); the query `written` into the SQL text or bound
    (see `_tsquery`)."""
    return SEARCH_VECTOR.op("@@")(_tsquery(TSQUERY_ALL, written=written))


def tsvector_head_matches() -> ColumnElement[bool]:
    """Condition on `SearchDocument`: some part of the query is in the head (title or
    metadata), which is where every document of a tier above `BODY` has one. The GIN
    index on `head_vector` answers it."""
    return HEAD_VECTOR.op("@@")(_tsquery(TSQUERY_SOME))


# The title's words alone: the lexemes of weight A of the head vector, as the GIN index
# of migration 0010 holds them (the expression written exactly as there).
TITLE_VECTOR: ColumnElement[object] = func.ts_filter(HEAD_VECTOR, literal_column("'{a}'"))


def tsvector_title_matches() -> ColumnElement[bool]:
    """Condition on `SearchDocument`: every part of the query is in the title, the
    `TITLE` tier. The GIN index of the titles' words answers it without reading the
    documents whose metadata alone has the words."""
    return TITLE_VECTOR.op("@@")(_tsquery(TSQUERY_ALL))


def tsvector_in_title() -> ColumnElement[bool]:
    """The same as `tsvector_title_matches`, tested on one document's head vector
    (no index, no new vector made)."""
    return HEAD_VECTOR.op("@@")(_tsquery(TSQUERY_TITLE))


def tsvector_head_tier(several_parts: bool, *, title: bool) -> ColumnElement[int]:
    """The tier of a document whose head has some part of the query (the documents
    `tsvector_head_matches` finds), read from the small `head_vector` only: `TITLE` when
    every part is in the title (unless `title` is false: the document is known not to
    be), `HEAD` when every part is in the head, else `SOME_IN_HEAD`. With one part, that
    part is in the head: `TITLE` or `HEAD`, one test or none."""
    whens: list[tuple[ColumnElement[bool], ColumnElement[int]]] = []
    if title:
        whens.append((tsvector_in_title(), literal(TITLE, Integer)))
    if several_parts:
        every_in_head = HEAD_VECTOR.op("@@")(_tsquery(TSQUERY_ALL))
        whens.append((every_in_head, literal(HEAD, Integer)))
    below = literal(SOME_IN_HEAD if several_parts else HEAD, Integer)
    return case(*whens, else_=below) if whens else below
