"""The full-text conditions of a search, in each database's own language.

A parsed query (`exchange.search.normalise.parse_query`) holds only words of letters and
digits, already normalised as the index is, so it is written into FTS5 and tsquery
expressions without any escaping: no operator can come through.

Ranking is by tiers that depend on the document alone, never on corpus statistics (bm25
changes every score when any document is added, which would let a page boundary move
under a cursor): each query part scores 3 when it matches in the title, 1 when it matches
in the subject, authors or description, 0 when only the body has it. Newer resources come
first within a score.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)

from exchange.models import SearchDocument
from exchange.search.normalise import ParsedQuery

# Score of a query part found in the title, and in the subject, authors or description.
TITLE_SCORE = 3
META_SCORE = 1


class FullText(Protocol):
    def matches(self, query: ParsedQuery) -> ColumnElement[bool]:
        """Condition on `SearchDocument`: every part of the query is in the document."""
        ...

    def score(self, query: ParsedQuery) -> ColumnElement[int]:
        """The document's tier score for the query (see the module's docstring)."""
        ...


def full_text_for(dialect_name: str) -> FullText:
    return PostgresFullText() if dialect_name == "postgresql" else Fts5FullText()


# --- SQLite FTS5 ---------------------------------------------------------------------------

_SEARCH_INDEX = table("search_index", column("rowid", Integer))


def fts5_parts(query: ParsedQuery) -> list[str]:
    """One FTS5 phrase per query part: `"word"*` for a term, `"two words"` for a phrase."""
    return [f'"{term}"*' for term in query.terms] + [
        '"' + " ".join(phrase) + '"' for phrase in query.phrases
    ]


def fts5_expression(query: ParsedQuery) -> str:
    return " AND ".join(fts5_parts(query))


def _fts5_rows(expression: str) -> Select[tuple[int]]:
    return select(_SEARCH_INDEX.c.rowid).where(
        literal_column("search_index").op("MATCH")(literal(expression, String))
    )


class Fts5FullText:
    """Each condition is `id IN (rows the FTS5 index finds)`: SQLite runs each index
    lookup once and probes the result, rather than once per candidate row."""

    def matches(self, query: ParsedQuery) -> ColumnElement[bool]:
        return SearchDocument.id.in_(_fts5_rows(fts5_expression(query)))

    def score(self, query: ParsedQuery) -> ColumnElement[int]:
        total: ColumnElement[int] = literal(0, Integer)
        for part in fts5_parts(query):
            in_title = SearchDocument.id.in_(_fts5_rows("{title} : " + part))
            in_head = SearchDocument.id.in_(_fts5_rows("{title meta} : " + part))
            total = (
                total
                + case((in_title, TITLE_SCORE - META_SCORE), else_=0)
                + case((in_head, META_SCORE), else_=0)
            )
        return total


# --- PostgreSQL tsvector ---------------------------------------------------------------------


def tsquery_parts(query: ParsedQuery, weights: str = "") -> list[str]:
    """One tsquery operand per part: `'word':*` for a term, `('two' <-> 'words')` for a
    phrase; `weights` (e.g. "A") restricts them to those weights."""
    parts = [f"'{term}':*{weights}" for term in query.terms]
    suffix = f":{weights}" if weights else ""
    for phrase in query.phrases:
        parts.append("(" + " <-> ".join(f"'{word}'{suffix}" for word in phrase) + ")")
    return parts


def tsquery_expression(query: ParsedQuery, weights: str = "") -> str:
    return " & ".join(tsquery_parts(query, weights))


def _tsquery(expression: str) -> ColumnElement[object]:
    return func.to_tsquery(literal_column("'simple'"), literal(expression, String))


_SEARCH_VECTOR: ColumnElement[object] = literal_column("search_documents.search_vector")
_HEAD_VECTOR: ColumnElement[object] = literal_column("search_documents.head_vector")


class PostgresFullText:
    """The GIN index on `search_vector` finds the documents; the score reads only the
    small `head_vector`, never the body's."""

    def matches(self, query: ParsedQuery) -> ColumnElement[bool]:
        return _SEARCH_VECTOR.op("@@")(_tsquery(tsquery_expression(query)))

    def score(self, query: ParsedQuery) -> ColumnElement[int]:
        total: ColumnElement[int] = literal(0, Integer)
        titles = tsquery_parts(query, "A")
        heads = tsquery_parts(query, "AB")
        for in_title, in_head in zip(titles, heads, strict=True):
            total = (
                total
                + cast(_HEAD_VECTOR.op("@@")(_tsquery(in_title)), Integer)
                * (TITLE_SCORE - META_SCORE)
                + cast(_HEAD_VECTOR.op("@@")(_tsquery(in_head)), Integer) * META_SCORE
            )
        return total
