"""the handbook's schools and sister cities not on the exchange, and the one-time links
with which a school registers (only the SHA-256 of each token is stored)

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENT = advanced_alchemy.types.DateTimeUTC(timezone=True)
_ID = advanced_alchemy.types.GUID(length=16)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "directory_entries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("texts", _JSON, nullable=False),
        sa.Column("town_key", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("school_kind", sa.String(length=16), nullable=True),
        sa.Column("director", sa.String(length=200), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("contact_phone", sa.String(length=200), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("claimed_school_id", _ID, nullable=True),
        sa.Column("claimed_at", _MOMENT, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["claimed_school_id"],
            ["schools.id"],
            name=op.f("fk_directory_entries_claimed_school_id_schools"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_directory_entries_key")),
    )
    with op.batch_alter_table("directory_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directory_entries_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_directory_entries_town_key"), ["town_key"], unique=False
        )
    op.create_table(
        "registration_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("school_name", sa.String(length=200), nullable=False),
        sa.Column("entry_id", _ID, nullable=True),
        sa.Column("inviting_school_id", _ID, nullable=True),
        sa.Column("invited_by_id", _ID, nullable=True),
        sa.Column("terms", _JSON, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("expires_at", _MOMENT, nullable=False),
        sa.Column("used_at", _MOMENT, nullable=True),
        sa.Column("school_id", _ID, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["directory_entries.id"],
            name=op.f("fk_registration_links_entry_id_directory_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inviting_school_id"],
            ["schools.id"],
            name=op.f("fk_registration_links_inviting_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_id"],
            ["members.id"],
            name=op.f("fk_registration_links_invited_by_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_registration_links_school_id_schools"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_registration_links_token_hash")),
    )
    with op.batch_alter_table("registration_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registration_links_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_registration_links_entry_id"), ["entry_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registration_links_inviting_school_id"),
            ["inviting_school_id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("registration_links")
    op.drop_table("directory_entries")
