"""search: a GIN index on the head vector (title, subject, authors, description)

Search ranks title and metadata matches above matches in the text of the file. With the
head vector indexed, PostgreSQL finds those better-ranked documents from the index and
weighs only them, instead of reading every document a word matches to tell which are
which: a prefix such as `бири` matches a quarter of a large corpus, but its title and
metadata matches are a few thousand.

SQLite needs nothing: its FTS5 table answers column filters (`{title meta} : ...`)
from the same index.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_search_documents_head_vector "
            "ON search_documents USING gin (head_vector)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_documents_head_vector")
