"""The one door for every rule of the code of conduct and every role check.

Services ask this module before they touch anything; controllers never decide access.
Lists and searches use the SQL clauses here, so what a school may not read is never
counted, shown or paged over.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, CompoundSelect, and_, exists, or_, select, union_all

from exchange.accounts.identity import Identity
from exchange.errors import Forbidden
from exchange.models import Partnership, PartnershipStatus, Resource, ResourceShare, Visibility

# --- roles within the caller's own school -------------------------------------------------


def require_admin(identity: Identity, what: str) -> None:
    """Only the school's admins (director, deputy head, partnership coordinator) may do this."""
    if not identity.is_admin:
        raise Forbidden(f"Only an admin of your school can {what}. Ask your school's admin.")


def same_school(identity: Identity, school_id: UUID) -> bool:
    return identity.school_id == school_id


# --- partnerships -------------------------------------------------------------------------


def active_partnership_between(school_a: Any, school_b: Any) -> ColumnElement[bool]:
    """SQL condition: the two schools (ids or id columns) are in an active partnership."""
    return exists(
        select(Partnership.id).where(
            Partnership.status == PartnershipStatus.ACTIVE.value,
            or_(
                and_(
                    Partnership.inviting_school_id == school_a,
                    Partnership.invited_school_id == school_b,
                ),
                and_(
                    Partnership.inviting_school_id == school_b,
                    Partnership.invited_school_id == school_a,
                ),
            ),
        )
    )


# --- resources (rule 1 of the contract, rule 6 of the code) -------------------------------


def active_partner_ids(school_id: UUID) -> CompoundSelect[tuple[UUID]]:
    """SQL: the ids of the schools in an active partnership with `school_id`.

    Not correlated with any outer row, so a database computes it once per statement and
    probes the result, where a correlated EXISTS would look up partnerships again for
    every candidate resource (and a search may have tens of thousands).
    """
    active = PartnershipStatus.ACTIVE.value
    return union_all(
        select(Partnership.invited_school_id).where(
            Partnership.status == active, Partnership.inviting_school_id == school_id
        ),
        select(Partnership.inviting_school_id).where(
            Partnership.status == active, Partnership.invited_school_id == school_id
        ),
    )


def readable_resources(identity: Identity) -> ColumnElement[bool]:
    """SQL condition: the caller's school may read the resource (metadata, versions, content).

    Own school always; an active partner when visibility is `partners`; an active partner
    named in `shared_with` when visibility is `selected`; `school` never leaves the owner.
    Every part is an uncorrelated set the database builds once per statement, so the
    condition costs a lookup per row however many resources a search weighs.
    """
    caller = identity.school_id
    partners = active_partner_ids(caller)
    listed = select(ResourceShare.resource_id).where(ResourceShare.school_id == caller)
    return or_(
        Resource.owner_school_id == caller,
        and_(
            Resource.visibility == Visibility.PARTNERS.value, Resource.owner_school_id.in_(partners)
        ),
        and_(
            Resource.visibility == Visibility.SELECTED.value,
            Resource.owner_school_id.in_(partners),
            Resource.id.in_(listed),
        ),
    )
