"""The one door for every rule of the code of conduct and every role check.

Services ask this module before they touch anything; controllers never decide access.
Lists and searches use the SQL clauses here, so what a school may not read is never
counted, shown or paged over.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, or_, select

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


def readable_resources(identity: Identity) -> ColumnElement[bool]:
    """SQL condition: the caller's school may read the resource (metadata, versions, content).

    Own school always; an active partner when visibility is `partners`; an active partner
    named in `shared_with` when visibility is `selected`; `school` never leaves the owner.
    """
    caller = identity.school_id
    partner = active_partnership_between(Resource.owner_school_id, caller)
    listed = exists(
        select(ResourceShare.id).where(
            ResourceShare.resource_id == Resource.id, ResourceShare.school_id == caller
        )
    )
    return or_(
        Resource.owner_school_id == caller,
        and_(Resource.visibility == Visibility.PARTNERS.value, partner),
        and_(Resource.visibility == Visibility.SELECTED.value, partner, listed),
    )
