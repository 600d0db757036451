"""the full-text index of search: FTS5 on SQLite, tsvector and GIN on PostgreSQL

Both index text that the application has already normalised
(`exchange.search.normalise.normalise_text`), so matching does not depend on either
database's case folding or locale. Three parts, weighted for ranking: the title; the
subject, authors and description ("meta"); and the text extracted from the file ("body").

SQLite: an FTS5 table whose rowid is `search_documents.id`. The tokenizer keeps
diacritics, because normalisation already removed the ones that do not matter and ң ө ү й
are letters of their own; the prefix index makes the prefix queries every search word
becomes fast. A trigger drops the index row with its document (also when a resource's
deletion cascades to it).

PostgreSQL: `search_vector` (title A, meta B, body C) with a GIN index answers the
match; `head_vector` (title A, meta B) is small, and ranking reads it to tell title and
metadata matches from body matches without reading the body's vector, which is stored
out of line (0005 adds a GIN index on it, so title matches are found first).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE search_documents "
            "ADD COLUMN head_vector tsvector NOT NULL DEFAULT ''::tsvector, "
            "ADD COLUMN search_vector tsvector NOT NULL DEFAULT ''::tsvector"
        )
        # The GIN index answers matches without reading the vector, so it is stored out
        # of line, uncompressed: the rows a search weighs by the thousand stay narrow.
        op.execute("ALTER TABLE search_documents ALTER COLUMN search_vector SET STORAGE EXTERNAL")
        op.execute("ALTER TABLE search_documents SET (toast_tuple_target = 1024)")
        op.execute(
            "CREATE INDEX ix_search_documents_search_vector "
            "ON search_documents USING gin (search_vector)"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_index USING fts5("
            "title, meta, body, "
            "tokenize = 'unicode61 remove_diacritics 0', "
            "prefix = '2 3 4')"
        )
        op.execute(
            "CREATE TRIGGER search_documents_unindex AFTER DELETE ON search_documents "
            "BEGIN DELETE FROM search_index WHERE rowid = old.id; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_documents_search_vector")
        op.execute(
            "ALTER TABLE search_documents DROP COLUMN search_vector, DROP COLUMN head_vector"
        )
    else:
        op.execute("DROP TRIGGER search_documents_unindex")
        op.execute("DROP TABLE search_index")
