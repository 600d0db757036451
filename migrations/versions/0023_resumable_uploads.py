"""resumable (tus) uploads: what has arrived, where it waits, whose it is

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENT = advanced_alchemy.types.DateTimeUTC(timezone=True)
_ID = advanced_alchemy.types.GUID(length=16)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", _ID, nullable=False),
        sa.Column("school_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("resource_id", _ID, nullable=True),
        sa.Column("for_version", sa.Boolean(), nullable=False),
        sa.Column("fields", _JSON, nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("problem", _JSON, nullable=True),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("store_state", _JSON, nullable=False),
        sa.Column("expires_at", _MOMENT, nullable=False),
        sa.Column("writer", sa.String(length=32), nullable=True),
        sa.Column("writer_seen_at", _MOMENT, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_uploads_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_uploads_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_uploads_resource_id_resources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_school_id"), ["school_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploads_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_uploads_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploads_expires_at"))
        batch_op.drop_index(batch_op.f("ix_uploads_member_id"))
        batch_op.drop_index(batch_op.f("ix_uploads_school_id"))
    op.drop_table("uploads")
