"""search: a GIN index over a fixed quarter of the documents, to estimate large counts

When more than a few thousand documents match a search (a common word, a short prefix),
its total is an estimate anyway: the share the caller may read is counted over a sample.
Counting every match as well read every matching document's row, the costliest step of
such a search on PostgreSQL (a prefix matching 40,000 documents: 9,000 pages). This
index holds the search vectors of a quarter of the documents, chosen by a hash of their
id (not by time or by school), so the matches among them, times four, estimate the
number of matches from a quarter of the reading (a relative error of about
sqrt(3 / matches): 2% at 8,000). `exchange.search.statements.SAMPLE_QUARTER` is the
same predicate, written the same way, so the planner can use the index.

SQLite needs nothing: FTS5 counts the matches of a term from its index.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_search_documents_search_vector_quarter "
            "ON search_documents USING gin (search_vector) "
            "WHERE (hashint8(id) & 3) = 0"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_documents_search_vector_quarter")
