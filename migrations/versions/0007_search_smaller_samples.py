"""search: GIN indexes over a sixteenth and a sixty-fourth of the documents (PostgreSQL)

A search that matches many documents gives an estimated total and facets, counted over
a sample of the matches. Migration 0006 indexes a quarter of the documents, chosen by a
hash of their id; these two index a sixteenth and a sixty-fourth, chosen the same way,
each inside the last. The search reads the matches of the smallest sample that holds
enough of them (see `exchange.search.services`):

- a common word or a short prefix (40,000 matches) is estimated from some 600 documents
  instead of reading the first 2,000 and then counting a quarter of them all (10,000
  rows read across most of the table);
- the sample is spread evenly over the whole corpus, so the facets of schools that
  joined late count as much as the facets of those that joined early.

`exchange.search.statements.sample_predicate` writes the same predicates, the same way,
so the planner can use these indexes. SQLite needs nothing: FTS5 counts and samples the
matches of a term from its own index.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Index name suffix and the mask of the hash: the documents whose hash & mask is 0.
SAMPLES = (("sixteenth", 15), ("sixty_fourth", 63))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, mask in SAMPLES:
            op.execute(
                f"CREATE INDEX ix_search_documents_search_vector_{name} "
                "ON search_documents USING gin (search_vector) "
                f"WHERE (hashint8(id) & {mask}) = 0"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _mask in SAMPLES:
            op.execute(f"DROP INDEX ix_search_documents_search_vector_{name}")
