"""grants: why a grant was revoked; what past partnership ends left standing, ended

Ending a partnership now ends for good what rested on it: the grants from requests
made under it are revoked (`revoked_reason` 'partnership_ended'; a grant its owner
withdrew says 'withdrawn'), the forwards made under it are cut, and the `shared_with`
entries naming the former partner are removed. Before, access was computed from the
partnership's status alone, so all of it came back when the two schools partnered
again. Partnerships that ended before this revision are repaired the same way: a grant,
forward or `shared_with` entry made while a since-ended partnership between the two
schools was active is revoked, cut or removed, at the time that partnership ended.

Plain SQL, the same on SQLite and PostgreSQL, so that the migration imports nothing of
the application.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _made_during_ended_partnership(school_a: str, school_b: str, made_at: str) -> str:
    """SQL: the ended partnerships between two schools that were active at `made_at`."""
    return (
        "FROM partnerships AS p WHERE p.status = 'ended' "
        "AND p.accepted_at IS NOT NULL AND p.closed_at IS NOT NULL "
        f"AND p.accepted_at <= {made_at} AND p.closed_at >= {made_at} "
        f"AND ((p.inviting_school_id = {school_a} AND p.invited_school_id = {school_b}) "
        f"OR (p.inviting_school_id = {school_b} AND p.invited_school_id = {school_a}))"
    )


_GRANT_OWNER = "(SELECT r.owner_school_id FROM resources AS r WHERE r.id = grants.resource_id)"
_GRANT_PARTNERSHIP = _made_during_ended_partnership(
    _GRANT_OWNER, "grants.school_id", "grants.created_at"
)
_FORWARD_PARTNERSHIP = _made_during_ended_partnership(
    "forwards.from_school_id", "forwards.to_school_id", "forwards.created_at"
)
_SHARE_OWNER = (
    "(SELECT r.owner_school_id FROM resources AS r WHERE r.id = resource_shares.resource_id)"
)
_SHARE_PARTNERSHIP = _made_during_ended_partnership(
    _SHARE_OWNER, "resource_shares.school_id", "resource_shares.created_at"
)
_CUT_REASON = "'The partnership between the two schools ended.'"

# What past ends left standing, ended as an end does it now (constant SQL, no input).
REPAIR_PAST_ENDS = (
    "UPDATE grants SET revoked_reason = 'partnership_ended', "  # noqa: S608
    f"revoked_at = (SELECT MIN(p.closed_at) {_GRANT_PARTNERSHIP}) "
    f"WHERE revoked_at IS NULL AND EXISTS (SELECT 1 {_GRANT_PARTNERSHIP})",
    f"UPDATE forwards SET cut_reason = {_CUT_REASON}, "  # noqa: S608
    f"cut_at = (SELECT MIN(p.closed_at) {_FORWARD_PARTNERSHIP}) "
    f"WHERE cut_at IS NULL AND EXISTS (SELECT 1 {_FORWARD_PARTNERSHIP})",
    # A forward made under a grant revoked above is cut with it.
    f"UPDATE forwards SET cut_reason = {_CUT_REASON}, "  # noqa: S608
    "cut_at = (SELECT g.revoked_at FROM grants AS g WHERE g.id = forwards.grant_id) "
    "WHERE cut_at IS NULL AND EXISTS (SELECT 1 FROM grants AS g "
    "WHERE g.id = forwards.grant_id AND g.revoked_reason = 'partnership_ended')",
    f"DELETE FROM resource_shares WHERE EXISTS (SELECT 1 {_SHARE_PARTNERSHIP})",  # noqa: S608
)


# Never recreate `grants` on SQLite (batch mode's copy, drop and rename): with foreign
# keys on, dropping the old table would delete every forward made with a grant. SQLite
# adds and (since 3.35) drops a column in place.
def upgrade() -> None:
    with op.batch_alter_table("grants", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE grants SET revoked_reason = 'withdrawn' "
        "WHERE revoked_at IS NOT NULL AND revoked_reason IS NULL"
    )
    for statement in REPAIR_PAST_ENDS:
        op.execute(statement)


def downgrade() -> None:
    # What was revoked, cut or removed stays so: bringing it back is the defect this
    # revision repairs.
    with op.batch_alter_table("grants", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("revoked_reason")
