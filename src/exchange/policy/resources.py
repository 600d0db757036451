"""Resources under the table's rules: loading one the caller may read, acting on it, and
the checks of what a resource may be (who it is shared with, its licence)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, joinedload

from exchange.accounts.identity import Identity
from exchange.errors import InvalidInput, NotFound
from exchange.models import Licence, Resource, Visibility
from exchange.policy import refusals
from exchange.policy.gate import allows, permits, require
from exchange.policy.partnerships import are_active_partners
from exchange.policy.reading import readable_by_school
from exchange.policy.table import EDITORS, OWNER, Action
from exchange.policy.tuned import readable_by_caller, reading_parameters


@dataclass(frozen=True, slots=True)
class AuthorFact:
    member_id: UUID


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    """What the rules below ask of a resource, for reads that take its columns rather than
    the whole object (a resource's page, `exchange.resources.view`)."""

    id: UUID
    owner_school_id: UUID
    confidential: bool
    authors: tuple[AuthorFact, ...]


AnyResource = Resource | ResourceFacts


async def readable_resource(
    session: AsyncSession, identity: Identity, resource_id: UUID, *, now: datetime | None = None
) -> Resource:
    """The resource, if the caller may read it; otherwise NotFound (existence never leaks)."""
    resource = (
        (await session.scalars(_readable_resource(), _parameters(identity, resource_id, now)))
        .unique()
        .first()
    )
    return _found(resource)


def readable_resource_in(
    db: Session, identity: Identity, resource_id: UUID, *, now: datetime | None = None
) -> Resource:
    """`readable_resource` in a synchronous session (`exchange.database.run_read`)."""
    resource = (
        db.scalars(_readable_resource(), _parameters(identity, resource_id, now)).unique().first()
    )
    return _found(resource)


@cache
def _readable_resource() -> Select[Resource]:
    """Built once: the read rule is a large expression, and SQLAlchemy keys its cache of
    compiled statements by walking a statement's whole tree, once per statement
    object. The resource and the caller are parameters. Its authors and the schools
    it is shared with (a few rows each) come in the same statement: loaded by their
    own statements, each would be built and keyed anew for every resource read."""
    return (
        select(Resource)
        .options(joinedload(Resource.authors), joinedload(Resource.shares))
        .where(
            Resource.id == bindparam(_RESOURCE_ID, type_=Resource.__table__.c.id.type),
            readable_by_caller(),
        )
    )


_RESOURCE_ID = "readable_resource_id"


def _parameters(identity: Identity, resource_id: UUID, now: datetime | None) -> dict[str, Any]:
    return {**reading_parameters(identity, now), _RESOURCE_ID: resource_id}


def _found(resource: Resource | None) -> Resource:
    if resource is None:
        raise NotFound(refusals.NO_SUCH_RESOURCE)
    return resource


async def school_can_read(
    session: AsyncSession, school_id: UUID, resource_id: UUID, now: datetime
) -> bool:
    found = await session.scalar(
        select(Resource.id).where(Resource.id == resource_id, readable_by_school(school_id, now))
    )
    return found is not None


def cache_control_for(resource: AnyResource) -> str | None:
    """Rule 6: a confidential resource's metadata and content are never kept in a cache."""
    return "no-store" if resource.confidential else None


def audits_reads_by(identity: Identity, resource: AnyResource) -> bool:
    """Rule 6: every read of a confidential resource by another school is audited."""
    return resource.confidential and identity.school_id != resource.owner_school_id


# --- acting on a resource -----------------------------------------------------------------


def is_owner_school(identity: Identity, resource: AnyResource) -> bool:
    return allows(identity, OWNER, resource)


def can_edit(identity: Identity, resource: AnyResource) -> bool:
    """Change, delete, add versions, decide its requests: an author or an owner-school admin."""
    return allows(identity, EDITORS, resource)


# Deciding reuse requests and revoking grants rests on the same relations as editing.
can_decide = can_edit


class EditAction(StrEnum):
    CHANGE = "change"
    ADD_VERSION = "add a version"
    DELETE = "delete"


_EDIT_ACTIONS = {
    EditAction.CHANGE: Action.CHANGE_RESOURCE,
    EditAction.ADD_VERSION: Action.ADD_VERSION,
    EditAction.DELETE: Action.DELETE_RESOURCE,
}


def require_can_edit(
    identity: Identity, resource: Resource, action: EditAction = EditAction.CHANGE
) -> None:
    require(identity, _EDIT_ACTIONS[action], resource)


def can_read_download_report(identity: Identity, resource: AnyResource) -> bool:
    """Who downloaded my resource: its authors and the owner school's admins."""
    return permits(identity, Action.READ_DOWNLOADS, resource)


async def check_shared_with(
    session: AsyncSession, identity: Identity, visibility: str, school_ids: list[UUID]
) -> None:
    """Visibility `selected` must name schools in an active partnership with the owner."""
    if visibility != Visibility.SELECTED.value:
        if school_ids:
            raise InvalidInput(refusals.SHARED_WITH_NEEDS_SELECTED)
        return
    if not school_ids:
        raise InvalidInput(refusals.SELECTED_NEEDS_PARTNERS)
    for school_id in dict.fromkeys(school_ids):
        if school_id == identity.school_id or not await are_active_partners(
            session, identity.school_id, school_id
        ):
            raise InvalidInput(
                refusals.SHARED_WITH_NOT_A_PARTNER.with_params(school_id=str(school_id))
            )


def check_confidential_licence(confidential: bool, licence: str) -> None:
    """Rule 6: a confidential resource cannot carry an open licence."""
    if confidential and Licence(licence).is_open:
        raise InvalidInput(refusals.CONFIDENTIAL_NOT_OPEN, code_of_conduct_rule=6)
