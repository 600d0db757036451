"""search: SQLite's full-text index also indexes prefixes of five and six letters

Every search word is a prefix (`өнөктөш` finds `өнөктөштүктү`). FTS5 answers a prefix of
an indexed length from one list of documents; any other prefix it answers by merging the
lists of every word that begins with it, in full, for every statement of the search.
Five-letter prefixes of common stems ("колдо", "мүмкү") begin hundreds of words in a
Kyrgyz or Russian corpus, and merging their lists took 20-26 ms of a search's 40 at
100,000 resources; from the prefix index it takes 4-6 ms. Six letters cover a typed
short word as well. The database grows by about an eighth (1.38 to 1.54 GB for those
100,000 resources).

The FTS5 table is rebuilt with the new prefix lengths and its rows copied over, in the
migration's transaction; the trigger that drops a document's row is made again for the
new table. PostgreSQL needs nothing: its GIN index answers a prefix of any length.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(prefixes: str) -> None:
    op.execute("DROP TRIGGER search_documents_unindex")
    op.execute(
        "CREATE VIRTUAL TABLE search_index_rebuilt USING fts5("
        "title, meta, body, "
        "tokenize = 'unicode61 remove_diacritics 0', "
        f"prefix = '{prefixes}')"
    )
    op.execute(
        "INSERT INTO search_index_rebuilt (rowid, title, meta, body) "
        "SELECT rowid, title, meta, body FROM search_index"
    )
    op.execute("DROP TABLE search_index")
    op.execute("ALTER TABLE search_index_rebuilt RENAME TO search_index")
    op.execute(
        "CREATE TRIGGER search_documents_unindex AFTER DELETE ON search_documents "
        "BEGIN DELETE FROM search_index WHERE rowid = old.id; END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("2 3 4 5 6")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("2 3 4")
