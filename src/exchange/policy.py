"""The one door for every rule of the code of conduct and every role check.

Services ask this module before they touch anything; controllers never decide access.
Lists and searches use the SQL clauses here, so what a school may not read is never
counted, shown or paged over.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, or_, select

from exchange.accounts.identity import Identity
from exchange.errors import Forbidden, NotFound
from exchange.models import (
    Notification,
    Partnership,
    PartnershipStatus,
    Resource,
    ResourceShare,
    Visibility,
)

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


class PartnershipSide(StrEnum):
    INVITING = "inviting"
    INVITED = "invited"


class PartnershipMove(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    WITHDRAW = "withdraw"
    END = "end"
    UPDATE = "update"


# Which side's admins may make each move on an existing partnership. Inviting is asked
# through `require_admin`: before the invitation exists there is no side to be on.
PARTNERSHIP_MOVE_SIDES: Mapping[PartnershipMove, frozenset[PartnershipSide]] = {
    PartnershipMove.ACCEPT: frozenset({PartnershipSide.INVITED}),
    PartnershipMove.DECLINE: frozenset({PartnershipSide.INVITED}),
    PartnershipMove.WITHDRAW: frozenset({PartnershipSide.INVITING}),
    PartnershipMove.END: frozenset(PartnershipSide),
    PartnershipMove.UPDATE: frozenset(PartnershipSide),
}
_MOVE_WORDING: Mapping[PartnershipMove, str] = {
    PartnershipMove.ACCEPT: "accept a partnership invitation",
    PartnershipMove.DECLINE: "decline a partnership invitation",
    PartnershipMove.WITHDRAW: "withdraw a partnership invitation",
    PartnershipMove.END: "end a partnership",
    PartnershipMove.UPDATE: "change a partnership's goals, characteristics or coordinator",
}
_WRONG_SIDE: Mapping[PartnershipMove, str] = {
    PartnershipMove.ACCEPT: "Only the invited school's admin can accept this invitation.",
    PartnershipMove.DECLINE: "Only the invited school's admin can decline this invitation.",
    PartnershipMove.WITHDRAW: (
        "Only the inviting school's admin can withdraw this invitation; your school can "
        "decline it instead."
    ),
}


def partnership_side(identity: Identity, partnership: Partnership) -> PartnershipSide | None:
    """The caller's side of the partnership, or None when the caller's school is a third."""
    if partnership.inviting_school_id == identity.school_id:
        return PartnershipSide.INVITING
    if partnership.invited_school_id == identity.school_id:
        return PartnershipSide.INVITED
    return None


def partnerships_visible_to(identity: Identity) -> ColumnElement[bool]:
    """SQL condition: the partnership is one of the caller's school's (either side)."""
    return or_(
        Partnership.inviting_school_id == identity.school_id,
        Partnership.invited_school_id == identity.school_id,
    )


def require_partnership_visible(identity: Identity, partnership: Partnership) -> PartnershipSide:
    side = partnership_side(identity, partnership)
    if side is None:
        raise NotFound("No such partnership among your school's partnerships.")
    return side


def require_partnership_move(
    identity: Identity, partnership: Partnership, move: PartnershipMove
) -> PartnershipSide:
    """A third school gets 404; a teacher 403; an admin of the wrong side 403."""
    side = require_partnership_visible(identity, partnership)
    require_admin(identity, _MOVE_WORDING[move])
    if side not in PARTNERSHIP_MOVE_SIDES[move]:
        raise Forbidden(_WRONG_SIDE[move])
    return side


# --- notifications ------------------------------------------------------------------------


def own_notifications(identity: Identity) -> ColumnElement[bool]:
    """SQL condition: a member reads only their own inbox (others' notifications are 404)."""
    return Notification.recipient_member_id == identity.member_id


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
