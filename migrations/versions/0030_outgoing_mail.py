"""outgoing mail: e-mails written with the change they report, sent by a job worker

Each row is one message; a `mail.send` job sends it. Once the SMTP server has accepted
it, `sent_at` is set and the message itself is deleted.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENT = advanced_alchemy.types.DateTimeUTC(timezone=True)
_ID = advanced_alchemy.types.GUID(length=16)


def upgrade() -> None:
    op.create_table(
        "outgoing_mail",
        sa.Column("id", _ID, nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=True),
        sa.Column("sent_at", _MOMENT, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_mail")),
    )


def downgrade() -> None:
    op.drop_table("outgoing_mail")
