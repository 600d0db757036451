"""The one SQL form of each fact the relations rest on that lives in other rows: an active
partnership, a school named in `shared_with`, a grant in force, a forward that stands and
the schools a forward reaches.

Each form is written once, against narrow table clauses (only the columns it uses), and
correlated with every enclosing statement, so that the same form serves a check of one
row, a list over many, and the recursive query of forwards. The variants a search needs
for one known caller are derived from these forms in `exchange.policy.tuned`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, exists, or_, select
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import CTE, TableClause

from exchange.models import (
    Forward,
    Grant,
    Licence,
    Partnership,
    PartnershipStatus,
    Resource,
    ResourceShare,
)

ARR = Licence.ALL_RIGHTS_RESERVED.value
ACTIVE = PartnershipStatus.ACTIVE.value

# A time a rule is judged at: a value, or a bound parameter valued at execution.
Moment = datetime | BindParameter[datetime]


# Building the recursive query for every statement that checks reading is cheap only
# against narrow table clauses: aliasing a full `Table` (or an ORM entity) copies every
# one of its columns, which made building it cost milliseconds. Each column keeps its
# table's type, so values bind as they do against the models.
def narrow(table: Any, *names: str) -> TableClause:
    full: Table = table.__table__
    return sql_table(full.name, *(sql_column(name, full.c[name].type) for name in names))


FORWARDS = narrow(Forward, "resource_id", "grant_id", "from_school_id", "to_school_id", "cut_at")
RESOURCES = narrow(Resource, "id", "owner_school_id", "visibility", "confidential", "licence")
GRANTS = narrow(Grant, "id", "revoked_at", "expires_at")
PARTNERSHIPS = narrow(Partnership, "id", "status", "inviting_school_id", "invited_school_id")
SHARES = narrow(ResourceShare, "id", "resource_id", "school_id")


# --- an active partnership ----------------------------------------------------------------


def partnership_sides(p: Any) -> Iterator[tuple[Any, Any]]:
    """A partnership's two directions, (one school's column, the other's), as
    `active_partnership` reads them: `a` invited `b`, or `b` invited `a`."""
    yield p.c.inviting_school_id, p.c.invited_school_id
    yield p.c.invited_school_id, p.c.inviting_school_id


def active_partnership(a: Any, b: Any) -> ColumnElement[bool]:
    """The schools `a` and `b` (ids, columns or parameters) are in an active partnership."""
    p = PARTNERSHIPS.alias()
    # Correlated with every enclosing statement, not only the nearest: `a` and `b` may
    # come from two levels up (the first hop of the forwards' recursive query).
    return exists(
        select(p.c.id)
        .where(
            p.c.status == ACTIVE,
            or_(
                *(
                    and_(p.c.inviting_school_id == one, p.c.invited_school_id == other)
                    for one, other in ((a, b), (b, a))
                )
            ),
        )
        .correlate_except(p)
    )


# --- named in `shared_with` ----------------------------------------------------------------


def listed(resource: Any, school: Any) -> ColumnElement[bool]:
    """The resource names the school in `shared_with` (a lookup by key)."""
    shares = SHARES.alias()
    return exists(
        select(shares.c.id)
        .where(shares.c.resource_id == resource.id, shares.c.school_id == school)
        .correlate_except(shares)
    )


# --- grants and forwards (rule 7) ----------------------------------------------------------


def grant_in_force(grant: Any, now: Any) -> ColumnElement[bool]:
    """A grant (model, alias or table columns) neither revoked nor expired at `now`."""
    return and_(grant.revoked_at.is_(None), or_(grant.expires_at.is_(None), grant.expires_at > now))


def forward_carries(
    forward: Any, resource: Any, grant_holds: ColumnElement[bool]
) -> ColumnElement[bool]:
    """A forward still carries access to its target: not cut, the resource not confidential
    (rule 6: never forwarded), its share grant in force (`grant_holds`) or, for a forward
    on an open licence, the licence still open, and its two schools still active partners.

    It is cut this way, at once and without anyone running a job. The forwarding school
    must also still read the resource itself, which `forward_reach` checks hop by hop.
    """
    return and_(
        forward.cut_at.is_(None),
        _resource_carries(forward, resource, grant_holds),
        active_partnership(forward.from_school_id, forward.to_school_id),
    )


def _resource_carries(
    forward: Any, resource: Any, grant_holds: ColumnElement[bool]
) -> ColumnElement[bool]:
    """The part of `forward_carries` that reads the resource and the grant."""
    return and_(
        resource.confidential.is_(False),
        or_(grant_holds, and_(forward.grant_id.is_(None), resource.licence != ARR)),
    )


def forward_stands(forward: Any, resource: Any, now: Moment) -> ColumnElement[bool]:
    """`forward_carries` for a forward and its resource (models or aliases) at `now`."""
    g = GRANTS.alias()
    by_grant = exists(
        select(g.c.id).where(g.c.id == forward.grant_id, grant_in_force(g.c, now))
    ).correlate_except(g)
    return forward_carries(forward, resource, by_grant)


def _standing_forwards(
    now: Moment, reads: Callable[[Any, Any], ColumnElement[bool]] | None = None
) -> tuple[Select[Any], Any]:
    """FROM forwards LEFT JOIN grants WHERE `forward_carries` and, when given,
    `reads(resource, forward)`; returns the select and the forwards alias.

    The resource is checked in an EXISTS rather than joined, so that every database
    starts from the forwards (few, often none): given a join, SQLite has no statistics
    for an empty forwards table and would scan every resource instead.
    """
    f = FORWARDS.alias()
    r = RESOURCES.alias()
    g = GRANTS.alias()
    # `forward_carries`, with the resource's part in an EXISTS of its own.
    resource_allows = exists(
        select(r.c.id).where(
            r.c.id == f.c.resource_id,
            _resource_carries(f.c, r.c, and_(g.c.id.is_not(None), grant_in_force(g.c, now))),
            *([reads(r.c, f.c)] if reads is not None else []),
        )
    )
    joined = (
        select(f.c.resource_id.label("resource_id"), f.c.to_school_id.label("school_id"))
        .select_from(f.outerjoin(g, g.c.id == f.c.grant_id))
        .where(
            f.c.cut_at.is_(None),
            resource_allows,
            active_partnership(f.c.from_school_id, f.c.to_school_id),
        )
    )
    return joined, f


def forward_reach(now: Moment, first_hop_reads: Callable[[Any, Any], ColumnElement[bool]]) -> CTE:
    """Recursive CTE of (resource_id, school_id): who reads what through standing forwards.

    The first hop starts at a school that reads the resource directly,
    `first_hop_reads(resource, forward)`; each further hop starts at a school reached by
    the one before. UNION (not UNION ALL) ends cycles.
    """
    anchor, _f = _standing_forwards(now, first_hop_reads)
    reach = anchor.cte("forward_reach", recursive=True, nesting=True)
    step, f2 = _standing_forwards(now)
    step = step.join_from(
        f2,
        reach,
        and_(reach.c.resource_id == f2.c.resource_id, reach.c.school_id == f2.c.from_school_id),
    )
    return reach.union(step)
