"""resources: the consent on file that lets a student's work leave its school

A student's work (`kind = 'student_work'`) is shared beyond its school only when the
uploader records that consent is on file: `student_consent` is `parents` or
`not_needed_anonymous`, with the member who recorded it and when. The works shared
before this existed carry no consent: they are narrowed to visibility `school` (and
their `shared_with` lists dropped), so no student's work stays visible to other schools
without a consent someone recorded. Their authors record the consent and share them
again.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch:
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
            op.f("fk_resources_student_consent_recorded_by_id_members"),
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
    with op.batch_alter_table("resources") as batch:
        batch.drop_constraint(
            op.f("fk_resources_student_consent_recorded_by_id_members"), type_="foreignkey"
        )
        batch.drop_column("student_consent_recorded_at")
        batch.drop_column("student_consent_recorded_by_id")
        batch.drop_column("student_consent")
