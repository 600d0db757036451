"""members: the language each member reads the exchange in

`members.language` is `ky`, `ru` or `en`, or NULL until the member chooses (then their
browser's `Accept-Language`, their school's first language, or Kyrgyz is used). Inbox
notices written before this revision keep their English `message` in the payload and
are shown as they are; new ones are stored as a message id and its parameters and shown
in the reader's language.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("language", sa.String(length=2), nullable=True))
        batch.create_check_constraint(
            "ck_members_language", "language IS NULL OR language IN ('ky', 'ru', 'en')"
        )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint("ck_members_language", type_="check")
        batch.drop_column("language")
