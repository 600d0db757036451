"""setup codes: one per instance started while no school exists, each working

The key was the purpose alone, so a second instance's code replaced the first's. It is
now the purpose and the code's hash; the codes kept stay as they are.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("setup_codes") as batch:
        batch.drop_constraint("pk_setup_codes", type_="primary")
        batch.create_primary_key("pk_setup_codes", ["purpose", "code_hash"])


def downgrade() -> None:
    # One code a purpose again: the newest stays.
    op.execute(
        "DELETE FROM setup_codes WHERE EXISTS (SELECT 1 FROM setup_codes AS newer "
        "WHERE newer.purpose = setup_codes.purpose AND newer.created_at > setup_codes.created_at)"
    )
    with op.batch_alter_table("setup_codes") as batch:
        batch.drop_constraint("pk_setup_codes", type_="primary")
        batch.create_primary_key("pk_setup_codes", ["purpose"])
