"""search: the owner school of each document, indexed (PostgreSQL)

A school with few partners may read a small part of what a word matches across the
exchange: a prefix matching 3,000 documents may hold 40 it may read. Walking the
matches newest first until a page of those is full reads nearly every one of them,
vector and all. With the school of each document in the index row, PostgreSQL
intersects the GIN index's matches with the documents of the caller's school and its
partners, a bitmap of each, and reads only the few documents in both (see
`exchange.search.services`).

The column is written with the document's vectors (`exchange.search.index`); a
resource never changes school. SQLite needs nothing: its search joins each match to
its resource, a lookup by key.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_documents ADD COLUMN owner_school_id uuid")
        op.execute(
            "UPDATE search_documents SET owner_school_id = resources.owner_school_id "
            "FROM resources WHERE resources.id = search_documents.resource_id"
        )
        op.execute(
            "CREATE INDEX ix_search_documents_owner_school_id ON search_documents (owner_school_id)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_documents_owner_school_id")
        op.execute("ALTER TABLE search_documents DROP COLUMN owner_school_id")
