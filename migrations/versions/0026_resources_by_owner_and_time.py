"""resources: one index of owner and creation time in place of the owner's alone

A school's dashboard reads what its partners added lately; the index also serves every
lookup of a school's resources that the owner's index served.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_resources_owner_created", "resources", ["owner_school_id", "created_at"], unique=False
    )
    op.drop_index("ix_resources_owner_school_id", table_name="resources")
    # A new index has no statistics until the table is analysed: without them SQLite's
    # planner may walk the new index for every list of a filled database.
    op.execute("ANALYZE resources")


def downgrade() -> None:
    op.create_index("ix_resources_owner_school_id", "resources", ["owner_school_id"], unique=False)
    op.drop_index("ix_resources_owner_created", table_name="resources")
    op.execute("ANALYZE resources")
