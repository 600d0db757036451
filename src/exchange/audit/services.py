"""Reading the audit trail: the owner school's admins see what happened to their
resources, requests and partnerships. Nothing here (or anywhere) changes a row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.audit.schemas import AuditEventOut, AuditPage, DownloadReport, SchoolDownloads
from exchange.audit.trail import DOWNLOADED
from exchange.domain_service import DomainService
from exchange.errors import InvalidInput, NotFound
from exchange.i18n import _
from exchange.kernel import paging
from exchange.kernel.refs import Names
from exchange.models import AuditEvent, Resource
from exchange.policy import refusals

MAX_PAGE = 200


# Newest first; the id orders events of one instant.
AUDIT_ORDER = (
    paging.SortKey(AuditEvent.occurred_at, datetime, descending=True),
    paging.SortKey(AuditEvent.id, UUID, descending=True),
)


class AuditService(DomainService):
    async def page(
        self,
        identity: Identity,
        *,
        resource_id: UUID | None = None,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AuditPage:
        if resource_id is not None:
            await self._require_own_resource(identity, resource_id)
        policy.require(identity, policy.Action.READ_AUDIT, policy.Trail(identity.school_id))
        query = select(AuditEvent).where(policy.where(identity, policy.Action.READ_AUDIT))
        if resource_id is not None:
            query = query.where(AuditEvent.resource_id == resource_id)
        if since is not None:
            if since.tzinfo is None:
                raise InvalidInput(_("`since` needs a time zone, e.g. 2026-01-31T00:00:00Z."))
            query = query.where(AuditEvent.occurred_at >= since)
        page = await paging.fetch(
            self.session,
            query,
            AUDIT_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("audit", resource_id, since),
        )
        events: list[AuditEvent] = page.rows
        subjects = {e.id: _member_in(e.details) for e in events}
        names = await Names.load(
            self.session,
            schools=[s for e in events for s in (e.actor_school_id, e.other_school_id)],
            members=[e.actor_member_id for e in events] + list(subjects.values()),
        )
        titles = await self._own_titles(identity, {e.resource_id for e in events})
        items = [
            AuditEventOut(
                id=e.id,
                occurred_at=e.occurred_at,
                action=e.action,
                outcome=e.outcome,
                actor=names.member(e.actor_member_id),
                actor_school=names.school(e.actor_school_id) if e.actor_school_id else None,
                resource_id=e.resource_id,
                partnership_id=e.partnership_id,
                reuse_request_id=e.reuse_request_id,
                other_school=names.school(e.other_school_id) if e.other_school_id else None,
                details=e.details,
                resource_title=_title(titles, e),
                member=names.member(subjects[e.id]),
            )
            for e in events
        ]
        return AuditPage(items=items, next_cursor=page.next_cursor)

    async def _own_titles(self, identity: Identity, ids: set[UUID | None]) -> dict[UUID, str]:
        """The titles of the school's own resources among `ids` (never another school's)."""
        wanted = [i for i in ids if i is not None]
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Resource.id, Resource.title).where(
                Resource.id.in_(wanted), Resource.owner_school_id == identity.school_id
            )
        )
        return {row.id: row.title for row in rows}

    async def _require_own_resource(self, identity: Identity, resource_id: UUID) -> None:
        """Another school's resource is 404, like one that never existed. A deleted one
        of this school still has its history."""
        owner = await self.session.scalar(
            select(Resource.owner_school_id).where(Resource.id == resource_id)
        )
        if owner == identity.school_id:
            return
        if owner is None:
            history = await self.session.scalar(
                select(AuditEvent.id)
                .where(
                    AuditEvent.owner_school_id == identity.school_id,
                    AuditEvent.resource_id == resource_id,
                )
                .limit(1)
            )
            if history is not None:
                return
        raise NotFound(refusals.NO_SUCH_OWN_RESOURCE)

    async def downloads(self, identity: Identity, resource_id: UUID) -> DownloadReport:
        resource = await policy.readable_resource(
            self.session, identity, resource_id, now=self.clock.now()
        )
        policy.require(identity, policy.Action.READ_DOWNLOADS, resource)
        rows = (
            await self.session.execute(
                select(
                    AuditEvent.actor_school_id,
                    func.count().label("downloads"),
                    func.max(AuditEvent.occurred_at).label("last_at"),
                )
                .where(
                    AuditEvent.owner_school_id == resource.owner_school_id,
                    AuditEvent.resource_id == resource.id,
                    AuditEvent.action == DOWNLOADED,
                    AuditEvent.actor_school_id.is_not(None),
                )
                .group_by(AuditEvent.actor_school_id)
            )
        ).all()
        names = await Names.load(self.session, schools=[row.actor_school_id for row in rows])
        schools = sorted(
            (
                SchoolDownloads(
                    school=names.school(row.actor_school_id),
                    downloads=int(row.downloads),
                    last_downloaded_at=_aware(row.last_at),
                )
                for row in rows
            ),
            key=lambda item: (-item.downloads, item.school.name),
        )
        return DownloadReport(
            resource_id=resource.id, total=sum(s.downloads for s in schools), schools=schools
        )


def _member_in(details: dict[str, Any]) -> UUID | None:
    """The member an account entry (a password link, a password set) is about."""
    try:
        return UUID(str(details["member_id"]))
    except (KeyError, ValueError):
        return None


def _title(titles: dict[UUID, str], event: AuditEvent) -> str | None:
    if event.resource_id is None:
        return None
    title = titles.get(event.resource_id) or event.details.get("title")
    return str(title) if title else None


def _aware(moment: datetime) -> datetime:
    # max() may come back without its zone on SQLite; the trail is written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
