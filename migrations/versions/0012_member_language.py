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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """Batch mode rebuilds `members` on SQLite (copy, drop, rename) to add the check; with
    foreign keys on, dropping the old table would delete every member's sign-ins, inbox
    and authorships. Foreign keys are off around it (outside a transaction, the only
    place SQLite lets that change) and checked after."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    finally:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    with _sqlite_foreign_keys_off(), op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("language", sa.String(length=2), nullable=True))
        batch.create_check_constraint(
            "ck_members_language", "language IS NULL OR language IN ('ky', 'ru', 'en')"
        )


def downgrade() -> None:
    with _sqlite_foreign_keys_off(), op.batch_alter_table("members") as batch:
        batch.drop_constraint("ck_members_language", type_="check")
        batch.drop_column("language")
