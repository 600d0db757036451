"""partnerships: the reason given when an invitation was declined or withdrawn, or a
partnership ended

Partnerships closed before this revision take the reason their audit trail kept.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLOSING_ACTIONS = ("partnership.declined", "partnership.withdrawn", "partnership.ended")


def upgrade() -> None:
    with op.batch_alter_table("partnerships") as batch:
        batch.add_column(sa.Column("closed_reason", sa.Text(), nullable=True))
    audit = sa.table(
        "audit_events",
        sa.column("action", sa.String()),
        sa.column("partnership_id", GUID(length=16)),
        sa.column("details", sa.JSON().with_variant(JSONB(), "postgresql")),
        sa.column("occurred_at", sa.DateTime()),
    )
    partnerships = sa.table(
        "partnerships", sa.column("id", GUID(length=16)), sa.column("closed_reason", sa.Text())
    )
    connection = op.get_bind()
    reasons: dict[object, str] = {}
    # Both schools' trails hold the same entry; the latest closing move is the one kept.
    for partnership_id, details in connection.execute(
        sa.select(audit.c.partnership_id, audit.c.details)
        .where(audit.c.action.in_(_CLOSING_ACTIONS), audit.c.partnership_id.is_not(None))
        .order_by(audit.c.occurred_at)
    ):
        note = (details or {}).get("note") if isinstance(details, dict) else None
        if isinstance(note, str) and note.strip():
            reasons[partnership_id] = note.strip()
    for partnership_id, reason in reasons.items():
        connection.execute(
            sa.update(partnerships)
            .where(partnerships.c.id == partnership_id)
            .values(closed_reason=reason)
        )


def downgrade() -> None:
    with op.batch_alter_table("partnerships") as batch:
        batch.drop_column("closed_reason")
