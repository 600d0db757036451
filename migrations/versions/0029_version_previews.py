"""resource versions: the preview image and what a download costs (pages, duration)

`preview_state` is `pending` while the preview job has not run, `ready` when a small
image is stored under `preview_blob_key` (served with `preview_etag`), `none` when the
file has none. Versions uploaded before this revision have none.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resource_versions") as batch:
        batch.add_column(
            sa.Column("preview_state", sa.String(16), nullable=False, server_default="none")
        )
        batch.add_column(sa.Column("preview_blob_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("preview_etag", sa.String(80), nullable=True))
        batch.add_column(sa.Column("pages", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("duration_seconds", sa.Float(), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_resource_versions_preview_blob_key"), ["preview_blob_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("resource_versions") as batch:
        batch.drop_constraint(op.f("uq_resource_versions_preview_blob_key"), type_="unique")
        batch.drop_column("duration_seconds")
        batch.drop_column("pages")
        batch.drop_column("preview_etag")
        batch.drop_column("preview_blob_key")
        batch.drop_column("preview_state")
