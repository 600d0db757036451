"""resources: the consent on file that lets a student's work leave its school

A student's work (`kind = 'student_work'`) is shared beyond its school only when the
uploader records that consent is on file: `student_consent` is `parents` or
`not_needed_anonymous`, with the member who recorded it and when. The works shared
before this existed carry no consent: they are narrowed to visibility `school` (and
their `shared_with` lists dropped), so no student's work stays visible to other schools
without a consent someone recorded. Their authors record the consent and share them
again.

On SQLite, batch mode recreates `resources` (copy, drop, rename) to add the foreign key.
With foreign keys on, dropping the old table would delete every resource's versions,
authors, shares, grants and forwards, so foreign keys are turned off around it (outside a
transaction, the only place SQLite lets that change) and checked after.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECORDER_KEY = "fk_resources_student_consent_recorded_by_id_members"


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """Recreating a table on SQLite must not fire the ON DELETE actions of the tables
    that point at it."""
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
    with _sqlite_foreign_keys_off(), op.batch_alter_table("resources") as batch:
        batch.add_column(sa.Column("student_consent", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column(
                "student_consent_recorded_by_id",
                advanced_alchemy.types.GUID(length=16),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column(
                "student_consent_recorded_at",
                advanced_alchemy.types.DateTimeUTC(timezone=True),
                nullable=True,
            )
        )
        batch.create_foreign_key(
            op.f(_RECORDER_KEY),
            "members",
            ["student_consent_recorded_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute(
        "DELETE FROM resource_shares WHERE resource_id IN "
        "(SELECT id FROM resources WHERE kind = 'student_work' AND student_consent IS NULL)"
    )
    op.execute(
        "UPDATE resources SET visibility = 'school' "
        "WHERE kind = 'student_work' AND student_consent IS NULL AND visibility <> 'school'"
    )


def downgrade() -> None:
    with _sqlite_foreign_keys_off(), op.batch_alter_table("resources") as batch:
        batch.drop_constraint(op.f(_RECORDER_KEY), type_="foreignkey")
        batch.drop_column("student_consent_recorded_at")
        batch.drop_column("student_consent_recorded_by_id")
        batch.drop_column("student_consent")
