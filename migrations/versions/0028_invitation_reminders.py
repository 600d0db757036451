"""partnerships: the one reminder an inviting school sends of an overdue invitation

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("partnerships") as batch:
        batch.add_column(
            sa.Column(
                "reminded_at",
                advanced_alchemy.types.DateTimeUTC(timezone=True),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column("reminded_by_id", advanced_alchemy.types.GUID(length=16), nullable=True)
        )
        batch.create_foreign_key(
            "fk_partnerships_reminded_by_id_members",
            "members",
            ["reminded_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("partnerships") as batch:
        batch.drop_constraint("fk_partnerships_reminded_by_id_members", type_="foreignkey")
        batch.drop_column("reminded_by_id")
        batch.drop_column("reminded_at")
