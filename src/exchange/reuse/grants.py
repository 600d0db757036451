"""Grants: who may adapt, share or publish a resource, since when, until when and why.

Stored grants come from approved requests; an open licence implies the three scopes for
every school that can read the resource and is listed, not stored, so it can never
disagree with the licence. Revoking a `share` grant cuts what was forwarded under it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.domain_service import DomainService
from exchange.errors import Conflict, NotFound
from exchange.events import GrantRevoked
from exchange.i18n import LazyText, _, lazy_gettext
from exchange.kernel import paging
from exchange.kernel.refs import MemberRef, Names, SchoolRef
from exchange.models import (
    Forward,
    Grant,
    GrantRevocation,
    GrantSource,
    Resource,
    ReuseRequest,
    ReuseScope,
)
from exchange.policy import refusals
from exchange.reuse.reasons import ForwardCut
from exchange.reuse.schemas import GrantOut, GrantPage
from exchange.unit_of_work import unit_of_work

GrantStatus = Literal["active", "expired", "revoked"]

# Why a permission exists (`why`), in the reader's language.
REQUEST_WHY = lazy_gettext("Approved reuse request.")
REQUEST_WHY_FOR = lazy_gettext("Approved reuse request for: {purpose}")
PARTNERSHIP_ENDED_WHY = lazy_gettext(
    "The permission ended when the partnership between the two schools ended; a new "
    "partnership does not bring it back."
)
STUDENT_CONSENT_WITHDRAWN_WHY = lazy_gettext(
    "The permission ended when the school withdrew the consent for this student's work; "
    "recording the consent again does not bring it back."
)
LICENCE_WHY: dict[str, LazyText] = {
    ReuseScope.ADAPT: lazy_gettext(
        "The licence {licence} lets every school that can read it adapt it, with credit to "
        "its authors and school."
    ),
    ReuseScope.SHARE: lazy_gettext(
        "The licence {licence} lets every school that can read it share it, with credit to "
        "its authors and school."
    ),
    ReuseScope.PUBLISH: lazy_gettext(
        "The licence {licence} lets every school that can read it publish it, with credit "
        "to its authors and school."
    ),
}


# A permission's status as a person reads it inside a sentence.
GRANT_STATUS_WORDS: dict[str, LazyText] = {
    "revoked": lazy_gettext("withdrawn"),
    "expired": lazy_gettext("expired"),
}


def grant_status(grant: Grant, now: datetime) -> GrantStatus:
    return status_of(grant.revoked_at, grant.expires_at, now)


def status_of(
    revoked_at: datetime | None, expires_at: datetime | None, now: datetime
) -> GrantStatus:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "active"


def licence_grant_views(resource: policy.Licensed) -> list[GrantOut]:
    """The grants an open licence implies, for a resource or a resource's answer."""
    if not policy.licence_grants(resource):
        return []
    return [
        GrantOut(
            id=None,
            scope=scope,
            source=GrantSource.LICENCE.value,
            school=None,
            status="active",
            since=resource.created_at,
            until=None,
            why=LICENCE_WHY[scope].with_params(licence=resource.licence).render(),
            reuse_request_id=None,
            granted_by=None,
            revoked_at=None,
            revoked_by=None,
        )
        for scope in ReuseScope
    ]


async def grant_views(session: AsyncSession, grants: list[Grant], now: datetime) -> list[GrantOut]:
    names = await Names.load(
        session,
        schools=[g.school_id for g in grants],
        members=[m for g in grants for m in (g.granted_by_id, g.revoked_by_id)],
    )
    request_ids = [g.reuse_request_id for g in grants if g.reuse_request_id]
    purposes: dict[UUID, str] = {}
    if request_ids:
        rows = await session.execute(
            select(ReuseRequest.id, ReuseRequest.purpose).where(ReuseRequest.id.in_(request_ids))
        )
        purposes = {row.id: row.purpose for row in rows}
    return [
        request_grant_view(
            id=grant.id,
            scope=grant.scope,
            school=names.school(grant.school_id),
            since=grant.created_at,
            until=grant.expires_at,
            reuse_request_id=grant.reuse_request_id,
            purpose=purposes.get(grant.reuse_request_id) if grant.reuse_request_id else None,
            granted_by=names.member(grant.granted_by_id),
            revoked_at=grant.revoked_at,
            revoked_by=names.member(grant.revoked_by_id),
            revoked_reason=grant.revoked_reason,
            now=now,
        )
        for grant in grants
    ]


def request_grant_view(
    *,
    id: UUID,
    scope: str,
    school: SchoolRef,
    since: datetime,
    until: datetime | None,
    reuse_request_id: UUID | None,
    purpose: str | None,
    granted_by: MemberRef | None,
    revoked_at: datetime | None,
    revoked_by: MemberRef | None,
    revoked_reason: str | None,
    now: datetime,
) -> GrantOut:
    """A grant given on request as the API shows it, why in the reader's language."""
    why = (REQUEST_WHY_FOR.with_params(purpose=purpose) if purpose else REQUEST_WHY).render()
    if revoked_reason == GrantRevocation.PARTNERSHIP_ENDED:
        why += " " + PARTNERSHIP_ENDED_WHY.render()
    elif revoked_reason == GrantRevocation.STUDENT_CONSENT_WITHDRAWN:
        why += " " + STUDENT_CONSENT_WITHDRAWN_WHY.render()
    return GrantOut(
        id=id,
        scope=scope,
        source=GrantSource.REQUEST.value,
        school=school,
        status=status_of(revoked_at, until, now),
        since=since,
        until=until,
        why=why,
        reuse_request_id=reuse_request_id,
        granted_by=granted_by,
        revoked_at=revoked_at,
        revoked_by=revoked_by,
        revoked_reason=revoked_reason,
    )


GRANT_ORDER = (paging.SortKey(Grant.created_at, datetime), paging.SortKey(Grant.id, UUID))


class GrantService(DomainService):
    async def list(
        self,
        identity: Identity,
        resource_id: UUID,
        *,
        limit: int = paging.DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> GrantPage:
        """The owner school sees every grant; another school sees the licence's and its own
        (`policy.Action.READ_GRANT`). The licence's grants (at most one per scope) head the
        first page; `limit` counts those given on request, oldest first."""
        resource = await policy.readable_resource(
            self.session, identity, resource_id, now=self.clock.now()
        )
        return await self.of_resource(identity, resource, limit=limit, cursor=cursor)

    async def of_resource(
        self,
        identity: Identity,
        resource: Resource,
        *,
        limit: int = paging.DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> GrantPage:
        """`list` for a resource the caller has already read (`policy.readable_resource`):
        the resource page shows its grants beside it, read once."""
        now = self.clock.now()
        query = (
            select(Grant)
            .join(Resource, Resource.id == Grant.resource_id)
            .where(
                Grant.resource_id == resource.id, policy.where(identity, policy.Action.READ_GRANT)
            )
        )
        page = await paging.fetch(
            self.session,
            query,
            GRANT_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("grants", resource.id),
        )
        views = await grant_views(self.session, page.rows, now)
        if cursor is None:
            views = licence_grant_views(resource) + views
        return GrantPage(items=views, next_cursor=page.next_cursor)

    async def revoke(self, identity: Identity, resource_id: UUID, grant_id: UUID) -> GrantOut:
        now = self.clock.now()
        resource = await policy.readable_resource(self.session, identity, resource_id, now=now)
        grant = await self.session.scalar(
            select(Grant).where(Grant.id == grant_id, Grant.resource_id == resource.id)
        )
        if grant is None:
            raise NotFound(refusals.NO_SUCH_GRANT)
        policy.require(identity, policy.Action.READ_GRANT, grant, resource=resource)
        policy.require(identity, policy.Action.REVOKE_GRANT, grant, resource=resource)
        status = grant_status(grant, now)
        if status != "active":
            raise Conflict(
                _(
                    "This permission is already {status}.",
                    status=GRANT_STATUS_WORDS.get(status, status),
                ),
                grant_status=status,
            )
        moved = await self.session.execute(
            update(Grant)
            .where(Grant.id == grant.id, Grant.revoked_at.is_(None))
            .values(
                revoked_at=now,
                revoked_by_id=identity.member_id,
                revoked_reason=GrantRevocation.WITHDRAWN,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(_("This permission was withdrawn a moment ago."))
        cut = await self.session.execute(
            update(Forward)
            .where(Forward.grant_id == grant.id, Forward.cut_at.is_(None))
            .values(cut_at=now, cut_reason=ForwardCut.SHARE_WITHDRAWN.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        forwards_cut = int(cut.rowcount)  # type: ignore[attr-defined]
        await self.session.refresh(grant)
        uow = unit_of_work(self.session, self.clock)
        uow.record(
            GrantRevoked(
                grant=grant,
                resource=resource,
                reason=GrantRevocation.WITHDRAWN,
                forwards_cut=forwards_cut,
                actor=identity,
            )
        )
        await uow.commit()
        return (await grant_views(self.session, [grant], now))[0]
