"""The one door for every rule of the code of conduct and every role check.

Services ask this module before they touch anything; controllers never decide access.
Lists and searches use the SQL clauses here, so what a school may not read is never
counted, shown or paged over.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, CompoundSelect, and_, exists, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.errors import Forbidden, InvalidInput, NotFound, RuleRefusal
from exchange.models import (
    Licence,
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


def active_partner_ids(school_id: UUID) -> CompoundSelect[tuple[UUID]]:
    """SQL: the ids of the schools in an active partnership with `school_id`.

    Not correlated with any outer row, so a database computes it once per statement and
    probes the result, where a correlated EXISTS would look up partnerships again for
    every candidate resource (a search weighs tens of thousands).
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


def readable_resources(identity: Identity, now: datetime | None = None) -> ColumnElement[bool]:
    """SQL condition: the caller's school may read the resource (metadata, versions, content).

    Own school always; an active partner when visibility is `partners`; an active partner
    named in `shared_with` when visibility is `selected`; `school` never leaves the owner.
    `now` is the moment access is judged at: the rules for forwards rest on grants, which
    expire by it.

    Every part is a set keyed by the caller (uncorrelated IN), which the database builds
    once per statement: the condition then costs a lookup per row however many resources
    a search weighs, where a correlated EXISTS costs a subquery per row.
    """
    caller = identity.school_id
    partners = active_partner_ids(caller)
    listed = select(ResourceShare.resource_id).where(ResourceShare.school_id == caller)
    return or_(
        Resource.owner_school_id == caller,
        and_(
            Resource.visibility == Visibility.PARTNERS.value,
            Resource.owner_school_id.in_(partners),
        ),
        and_(
            Resource.visibility == Visibility.SELECTED.value,
            Resource.owner_school_id.in_(partners),
            Resource.id.in_(listed),
        ),
    )


async def are_active_partners(session: AsyncSession, school_a: UUID, school_b: UUID) -> bool:
    return bool(await session.scalar(select(active_partnership_between(school_a, school_b))))


async def readable_resource(
    session: AsyncSession, identity: Identity, resource_id: UUID, *, now: datetime | None = None
) -> Resource:
    """The resource, if the caller may read it; otherwise NotFound (existence never leaks)."""
    resource = (
        await session.scalars(
            select(Resource).where(Resource.id == resource_id, readable_resources(identity, now))
        )
    ).first()
    if resource is None:
        raise NotFound(
            "No resource with this id is visible to your school. It may have been deleted, "
            "or its owner has not shared it with your school."
        )
    return resource


def cache_control_for(resource: Resource) -> str | None:
    """Rule 6: a confidential resource's metadata and content are never kept in a cache."""
    return "no-store" if resource.confidential else None


# --- acting on a resource -----------------------------------------------------------------


def is_owner_school(identity: Identity, resource: Resource) -> bool:
    return identity.school_id == resource.owner_school_id


def is_author(identity: Identity, resource: Resource) -> bool:
    return is_owner_school(identity, resource) and any(
        author.member_id == identity.member_id for author in resource.authors
    )


def can_edit(identity: Identity, resource: Resource) -> bool:
    """Change, delete, add versions: an author or an admin of the owner school."""
    return is_author(identity, resource) or (
        is_owner_school(identity, resource) and identity.is_admin
    )


def require_can_edit(identity: Identity, resource: Resource, what: str = "change it") -> None:
    """The caller can read the resource; may they change it? (403 when not: they see it.)"""
    if can_edit(identity, resource):
        return
    if is_owner_school(identity, resource):
        raise Forbidden(
            f"Only an author of this resource or an admin of your school can {what}. "
            "Ask one of its authors or your school's admin."
        )
    raise Forbidden(
        f"Only the school that owns this resource can {what}. To make your own version, "
        "upload it as a new resource with `derived_from` set to this one."
    )


async def check_shared_with(
    session: AsyncSession, identity: Identity, visibility: str, school_ids: list[UUID]
) -> None:
    """Visibility `selected` must name schools in an active partnership with the owner."""
    if visibility != Visibility.SELECTED.value:
        if school_ids:
            raise InvalidInput(
                "`shared_with` is only used with visibility 'selected'. Set visibility to "
                "'selected', or leave `shared_with` empty."
            )
        return
    if not school_ids:
        raise InvalidInput(
            "Visibility 'selected' needs at least one partner school in `shared_with`."
        )
    for school_id in dict.fromkeys(school_ids):
        if school_id == identity.school_id or not await are_active_partners(
            session, identity.school_id, school_id
        ):
            raise InvalidInput(
                f"School {school_id} in `shared_with` is not an active partner of your "
                "school. Only active partners can be named; see GET /api/partnerships."
            )


def check_confidential_licence(confidential: bool, licence: str) -> None:
    """Rule 6: a confidential resource cannot carry an open licence."""
    if confidential and Licence(licence).is_open:
        raise InvalidInput(
            "A confidential resource cannot carry an open licence: an open licence lets "
            "anyone pass it on, and the code of conduct (rule 6) says confidential "
            "documents are never passed on. Choose 'all_rights_reserved', or do not mark "
            "it confidential.",
            code_of_conduct_rule=6,
        )


async def check_derivation(
    session: AsyncSession,
    identity: Identity,
    original_id: UUID,
    visibility: str,
    *,
    now: datetime | None = None,
) -> tuple[Resource, int]:
    """May the caller upload a resource derived from `original_id` with this visibility?

    Returns the original and the number of its current version (the one adapted).
    NotFound when the caller cannot read the original. Rule 7: adapting another
    school's resource needs its authors' permission, which an open licence gives in
    advance (it also pre-grants sharing, so `visibility` is not limited then).
    """
    original = await readable_resource(session, identity, original_id, now=now)
    if not is_owner_school(identity, original) and not Licence(original.licence).is_open:
        raise RuleRefusal(
            "Adapting a partner's resource needs its authors' permission (code of conduct, "
            "rule 7), and this one's licence (all rights reserved) does not give it in "
            "advance. Ask its authors for permission to adapt it first.",
            rule=7,
        )
    if original.current_version_number < 1:
        raise InvalidInput("The original has no stored version yet; try again in a moment.")
    return original, original.current_version_number
