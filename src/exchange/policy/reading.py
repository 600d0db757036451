"""The read rule in SQL for any school: the relations of `READ` with their facts read
from other rows by correlated lookups (`exchange.policy.forms`).

This is the plain rule, the one the tuned variants (`exchange.policy.tuned`) are compared
with. It serves checks of one school against one resource and statements that weigh many
schools at once (whose forwards stand, whose grants a partnership's end takes away).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.sql.selectable import CTE

from exchange.models import Resource
from exchange.policy import forms
from exchange.policy.relations import Who
from exchange.policy.table import READ, READ_DIRECTLY


class PlainTerms:
    """Facts in other rows, each looked up for the row at hand."""

    def partners(self, a: Any, b: Any) -> ColumnElement[bool]:
        return forms.active_partnership(a, b)

    def listed(self, resource: Any, school: Any) -> ColumnElement[bool]:
        return forms.listed(resource, school)

    def forwarded(self, resource: Any, who: Who) -> ColumnElement[bool]:
        reach = forward_reach(who.now)
        return exists(
            select(reach.c.school_id).where(
                reach.c.resource_id == resource.id, reach.c.school_id == who.school
            )
        )


PLAIN = PlainTerms()


def _first_hop(resource: Any, forward: Any) -> ColumnElement[bool]:
    """The forwarding school reads the resource directly (a forward's first hop)."""
    return READ_DIRECTLY.sql(resource, Who(school=forward.from_school_id, terms=PLAIN))


def forward_reach(now: forms.Moment) -> CTE:
    """Recursive CTE of (resource_id, school_id): who reads what through standing
    forwards at `now` (see `exchange.policy.forms.forward_reach`)."""
    return forms.forward_reach(now, _first_hop)


def readable_by_school(school: Any, now: datetime, resource: Any = Resource) -> ColumnElement[bool]:
    """SQL condition: the school (an id or an id column) may read the resource."""
    return READ.sql(resource, Who(school=school, terms=PLAIN, now=now))
