"""when an activity was marked done, and when its evaluation reminder went out

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENT = advanced_alchemy.types.DateTimeUTC(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("done_at", _MOMENT, nullable=True))
        batch.add_column(sa.Column("evaluation_reminded_at", _MOMENT, nullable=True))
    # An activity marked done before this upgrade was last changed when it was marked.
    op.execute("UPDATE activities SET done_at = updated_at WHERE status = 'done'")
    op.create_index(
        "ix_activities_evaluation_reminder", "activities", ["status", "done_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_activities_evaluation_reminder", table_name="activities")
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("evaluation_reminded_at")
        batch.drop_column("done_at")
