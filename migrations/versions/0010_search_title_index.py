"""search: a GIN index of the titles' words alone (PostgreSQL)

Ranking puts the documents whose title has every part of the query first. They were
found among the head matches (title and metadata, the GIN index on `head_vector`), and
the index cannot tell a title word from a metadata word: for a short prefix every head
match was read to rank it, some 5,500 rows for 'пред' at 100,000 resources, where 1,559
have it in the title. An index on the title's words alone (`ts_filter` keeps the
lexemes of weight A, which `exchange.search.index` gives the title) finds those
directly, and the other head matches are read only when the titles do not fill a page
(see `exchange.search.statements.walk`). SQLite needs nothing: FTS5 filters by column.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_search_documents_title_vector ON search_documents "
            "USING gin (ts_filter(head_vector, '{a}'))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_documents_title_vector")
