"""sign-in throttles counted in one statement, and the addresses members signed in from

The failed sign-ins were rows counted before the password was checked and added after,
so concurrent guesses all passed the count (19 answers of 401 for a burst of 60 where the
limit is 5). Each counter is now one row that a single statement counts and checks
(`exchange.accounts.throttle`). Its key is a hash, so no e-mail or client address is
kept in clear; neither is a member's known address. The old rows only slowed guessing
for fifteen minutes and are dropped.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_ms", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttles")),
    )
    with op.batch_alter_table("sign_in_throttles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_throttles_last_failure_ms"), ["last_failure_ms"], unique=False
        )

    op.create_table(
        "known_sign_in_addresses",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("member_id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "last_seen_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_known_sign_in_addresses_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_sign_in_addresses")),
        sa.UniqueConstraint(
            "member_id", "address_hash", name=op.f("uq_known_sign_in_addresses_member_id")
        ),
    )
    with op.batch_alter_table("known_sign_in_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_known_sign_in_addresses_last_seen_at"), ["last_seen_at"], unique=False
        )

    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_failures_key_at")
        batch_op.drop_index(batch_op.f("ix_sign_in_failures_occurred_at"))
    op.drop_table("sign_in_failures")


def downgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", advanced_alchemy.types.GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("occurred_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_failures_key_at", ["key", "occurred_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sign_in_failures_occurred_at"), ["occurred_at"], unique=False
        )

    with op.batch_alter_table("known_sign_in_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_sign_in_addresses_last_seen_at"))
    op.drop_table("known_sign_in_addresses")
    with op.batch_alter_table("sign_in_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_throttles_last_failure_ms"))
    op.drop_table("sign_in_throttles")
