"""questions between partner schools and their answers (rule 9 as for reuse requests)

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENT = advanced_alchemy.types.DateTimeUTC(timezone=True)
_ID = advanced_alchemy.types.GUID(length=16)


def upgrade() -> None:
    op.create_table(
        "partner_questions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("partnership_id", _ID, nullable=False),
        sa.Column("asking_school_id", _ID, nullable=False),
        sa.Column("answering_school_id", _ID, nullable=False),
        sa.Column("asked_by_id", _ID, nullable=True),
        sa.Column("addressed_to_id", _ID, nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("respond_by", _MOMENT, nullable=False),
        sa.Column("answered_at", _MOMENT, nullable=True),
        sa.Column("escalated_at", _MOMENT, nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnerships.id"],
            name=op.f("fk_partner_questions_partnership_id_partnerships"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asking_school_id"],
            ["schools.id"],
            name=op.f("fk_partner_questions_asking_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["answering_school_id"],
            ["schools.id"],
            name=op.f("fk_partner_questions_answering_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asked_by_id"],
            ["members.id"],
            name=op.f("fk_partner_questions_asked_by_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["addressed_to_id"],
            ["members.id"],
            name=op.f("fk_partner_questions_addressed_to_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_questions")),
    )
    with op.batch_alter_table("partner_questions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_questions_partnership_id"), ["partnership_id"], unique=False
        )
        batch_op.create_index(
            "ix_partner_questions_answering_open",
            ["answering_school_id", "answered_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_partner_questions_asking_open", ["asking_school_id", "answered_at"], unique=False
        )
        batch_op.create_index("ix_partner_questions_respond_by", ["respond_by"], unique=False)
    op.create_table(
        "question_answers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("question_id", _ID, nullable=False),
        sa.Column("answered_by_id", _ID, nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("cannot_help", sa.Boolean(), nullable=False),
        sa.Column(
            "resource_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["partner_questions.id"],
            name=op.f("fk_question_answers_question_id_partner_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["members.id"],
            name=op.f("fk_question_answers_answered_by_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question_answers")),
    )
    with op.batch_alter_table("question_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_question_answers_question_id"), ["question_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("question_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_answers_question_id"))
    op.drop_table("question_answers")
    with op.batch_alter_table("partner_questions", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_questions_respond_by")
        batch_op.drop_index("ix_partner_questions_asking_open")
        batch_op.drop_index("ix_partner_questions_answering_open")
        batch_op.drop_index(batch_op.f("ix_partner_questions_partnership_id"))
    op.drop_table("partner_questions")
