"""code of conduct version 1: the handbook's nine rules, in force from the first start

Revision ID: 0003
Revises: 0002

Data, not schema: the text is read from the package's bundled JSON (appendix 1 of the
handbook, Kyrgyz original with Russian and English), so a fresh database always has a
code of conduct for partnerships to agree to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op
from uuid_utils.compat import uuid7

from exchange.models.types import JsonDocument
from exchange.partnerships.content import load_code_of_conduct

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The table as this migration knows it, independent of later changes to the model.
code_of_conduct_versions = sa.table(
    "code_of_conduct_versions",
    sa.column("id", GUID(length=16)),
    sa.column("version", sa.Integer()),
    sa.column("title", JsonDocument),
    sa.column("preamble", JsonDocument),
    sa.column("rules", JsonDocument),
    sa.column("published_at", DateTimeUTC(timezone=True)),
    sa.column("created_at", DateTimeUTC(timezone=True)),
    sa.column("updated_at", DateTimeUTC(timezone=True)),
)


def upgrade() -> None:
    text = load_code_of_conduct(1)
    now = datetime.now(UTC)
    op.bulk_insert(
        code_of_conduct_versions,
        [
            {
                "id": uuid7(),
                "version": text.version,
                "title": dict(text.title),
                "preamble": dict(text.preamble),
                "rules": [{"number": rule.number, "text": dict(rule.text)} for rule in text.rules],
                "published_at": now,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )


def downgrade() -> None:
    op.execute(code_of_conduct_versions.delete().where(code_of_conduct_versions.c.version == 1))
