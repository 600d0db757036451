"""Reuse under the code of conduct (rules 6 and 7): grants in force, asking the authors for
permission, passing a resource on, and adapting it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.errors import Conflict, InvalidInput, RuleRefusal
from exchange.i18n import LazyText
from exchange.models import Grant, Licence, Resource, ReuseScope, Visibility
from exchange.policy import refusals
from exchange.policy.consent import require_consent_to_leave
from exchange.policy.forms import grant_in_force
from exchange.policy.partnerships import are_active_partners
from exchange.policy.resources import is_owner_school, readable_resource, school_can_read
from exchange.policy.tuned import at


async def grant_in_hand(
    session: AsyncSession, school_id: UUID, resource: Resource, scope: ReuseScope, now: datetime
) -> Grant | None:
    """The stored grant in force of this scope for the school, if any (licence not counted)."""
    result = await session.scalars(
        select(Grant)
        .where(
            Grant.resource_id == resource.id,
            Grant.school_id == school_id,
            Grant.scope == scope.value,
            grant_in_force(Grant, now),
        )
        .order_by(Grant.created_at.desc())
        .limit(1)
    )
    return result.first()


class Licensed(Protocol):
    """What an open licence's grants are judged on: a resource, or its answer."""

    @property
    def licence(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...


def licence_grants(resource: Licensed) -> bool:
    """An open licence pre-grants adapt, share and publish (rule 7)."""
    return Licence(resource.licence).is_open


# --- reuse requests (rules 6, 7, 9) -------------------------------------------------------


_CONFIDENTIAL: Mapping[ReuseScope, LazyText] = {
    ReuseScope.SHARE: refusals.CONFIDENTIAL_SHARE,
    ReuseScope.PUBLISH: refusals.CONFIDENTIAL_PUBLISH,
}


def _confidential_refusal(resource: Resource, scope: ReuseScope) -> RuleRefusal:
    return RuleRefusal(_CONFIDENTIAL.get(scope, _CONFIDENTIAL[ReuseScope.SHARE]), rule=6)


async def require_can_request(
    session: AsyncSession,
    identity: Identity,
    resource: Resource,
    scope: ReuseScope,
    now: datetime,
) -> None:
    """The caller (who can read the resource) may ask its authors for this scope."""
    if is_owner_school(identity, resource):
        raise InvalidInput(refusals.OWNER_NEEDS_NO_REQUEST)
    if resource.confidential and scope is not ReuseScope.ADAPT:
        raise _confidential_refusal(resource, scope)
    require_consent_to_leave(identity, resource, scope)
    if licence_grants(resource):
        raise Conflict(refusals.LICENCE_ALREADY_GRANTS.with_params(licence=resource.licence))
    grant = await grant_in_hand(session, identity.school_id, resource, scope, now)
    if grant is not None:
        held = str(_HELD[scope])
        if grant.expires_at:
            held += " " + str(refusals.PERMISSION_LASTS_UNTIL.with_params(date=grant.expires_at))
        raise Conflict(held)


_HELD: Mapping[ReuseScope, LazyText] = {
    ReuseScope.ADAPT: refusals.HELD_ADAPT,
    ReuseScope.SHARE: refusals.HELD_SHARE,
    ReuseScope.PUBLISH: refusals.HELD_PUBLISH,
}


# --- forwarding (rules 6, 7) --------------------------------------------------------------


async def require_can_forward(
    session: AsyncSession,
    identity: Identity,
    resource: Resource,
    to_school_id: UUID,
    now: datetime,
) -> Grant | None:
    """The caller's school may pass the (readable) resource to `to_school_id`.

    Returns the `share` grant the forward rests on, or None when it rests on an open
    licence.
    """
    if is_owner_school(identity, resource):
        raise InvalidInput(refusals.OWNER_NEEDS_NO_FORWARD)
    if resource.confidential:
        raise _confidential_refusal(resource, ReuseScope.SHARE)
    require_consent_to_leave(identity, resource)
    grant = await grant_in_hand(session, identity.school_id, resource, ReuseScope.SHARE, now)
    if grant is None and not licence_grants(resource):
        raise RuleRefusal(
            refusals.FORWARD_NEEDS_SHARE,
            rule=7,
        )
    if to_school_id == identity.school_id:
        raise InvalidInput(refusals.FORWARD_TO_SELF)
    if not await are_active_partners(session, identity.school_id, to_school_id):
        raise RuleRefusal(
            refusals.FORWARD_ONLY_TO_PARTNERS,
            rule=7,
        )
    if await school_can_read(session, to_school_id, resource.id, now):
        raise Conflict(refusals.FORWARD_ALREADY_READ)
    return grant


# --- derived resources (rule 7) -----------------------------------------------------------


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
    NotFound when the caller cannot read the original; RuleRefusal (rule 7, or rule 6
    for a confidential original made visible beyond the school) otherwise.
    """
    moment = at(now)
    original = await readable_resource(session, identity, original_id, now=moment)

    async def permitted(scope: ReuseScope) -> bool:
        return licence_grants(original) or (
            await grant_in_hand(session, identity.school_id, original, scope, moment) is not None
        )

    if not is_owner_school(identity, original):
        if not await permitted(ReuseScope.ADAPT):
            raise RuleRefusal(refusals.ADAPT_NEEDS_PERMISSION, rule=7)
        if visibility != Visibility.SCHOOL.value:
            if original.confidential:
                raise RuleRefusal(refusals.ADAPTED_FROM_CONFIDENTIAL, rule=6)
            if not await permitted(ReuseScope.SHARE):
                raise RuleRefusal(refusals.ADAPTATION_NEEDS_SHARE, rule=7)
    if original.current_version_number < 1:
        raise InvalidInput(refusals.ORIGINAL_WITHOUT_VERSION)
    return original, original.current_version_number
