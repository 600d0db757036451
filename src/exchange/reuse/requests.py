"""Reuse requests: a school asks a partner resource's authors for permission (rule 7)
and always gets an answer (rule 9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.clock import days_later
from exchange.database import run_read
from exchange.domain_service import DomainService
from exchange.errors import Conflict, InvalidInput, NotFound, RuleRefusal
from exchange.events import (
    ReuseRequestChanged,
    ReuseRequestDecided,
    ReuseRequestMade,
    ReuseRequestRefused,
    ReuseRequestWithdrawn,
)
from exchange.i18n import LazyText, _, lazy_gettext
from exchange.kernel import paging
from exchange.models import (
    Grant,
    GrantSource,
    Resource,
    ReuseRequest,
    ReuseRequestStatus,
    ReuseScope,
)
from exchange.policy import refusals
from exchange.reuse.reasons import RequestClosing
from exchange.reuse.schemas import DecisionIn, ReuseRequestCreate, ReuseRequestList, ReuseRequestOut
from exchange.reuse.views import request_views, request_views_in
from exchange.unit_of_work import unit_of_work

Direction = Literal["incoming", "outgoing"]
PENDING = ReuseRequestStatus.PENDING
ANSWERED_A_MOMENT_AGO = lazy_gettext(
    "This request was answered a moment ago; reload it to see the answer."
)


def pending_key(resource_id: UUID, school_id: UUID, scope: str) -> str:
    return f"{resource_id}:{school_id}:{scope}"


async def move_pending(session: AsyncSession, request: ReuseRequest, **values: Any) -> bool:
    """Move a pending request on (to `values`) unless another answer or a closing moved
    it first; False then, and the request is left as that one left it."""
    moved = await session.execute(
        update(ReuseRequest)
        .where(ReuseRequest.id == request.id, ReuseRequest.status == PENDING)
        .values(pending_key=None, **values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.refresh(request)
    return True


def incoming_for(identity: Identity) -> ColumnElement[bool]:
    """Requests the caller answers (the statement joins their resources)."""
    return policy.where(identity, policy.Action.ANSWER_REQUEST)


def outgoing_for(identity: Identity) -> ColumnElement[bool]:
    """Requests the caller's side made (the member who asked and their school's admins)."""
    return policy.where(identity, policy.Action.WITHDRAW_REQUEST)


# A request's status as a person reads it inside a sentence.
REQUEST_STATUS_WORDS: dict[str, LazyText] = {
    "approved": lazy_gettext("approved"),
    "denied": lazy_gettext("declined"),
    "withdrawn": lazy_gettext("withdrawn"),
    "closed": lazy_gettext("closed"),
    "expired": lazy_gettext("expired"),
}


# Newest first.
REQUEST_ORDER = (
    paging.SortKey(ReuseRequest.created_at, datetime, descending=True),
    paging.SortKey(ReuseRequest.id, UUID, descending=True),
)


@dataclass(frozen=True)
class ListWanted:
    """One list of requests: which side, which status, which page."""

    direction: Direction
    status: str | None = None
    overdue_only: bool = False
    limit: int = paging.DEFAULT_LIMIT
    cursor: str | None = None
    # Only the requests about this resource (its page lists them).
    resource_id: UUID | None = None


class _Reading:
    """The lists of one read: each side's condition built, and its overdue requests
    counted, once for every list of that side."""

    def __init__(self, db: Session, identity: Identity, now: datetime) -> None:
        self.db, self.identity, self.now = db, identity, now
        self.overdue_condition = and_(ReuseRequest.status == PENDING, ReuseRequest.respond_by < now)
        self.sides: dict[Direction, ColumnElement[bool]] = {}
        self.overdue: dict[Direction, int] = {}

    def side(self, direction: Direction) -> ColumnElement[bool]:
        if direction not in self.sides:
            self.sides[direction] = (
                incoming_for(self.identity)
                if direction == "incoming"
                else outgoing_for(self.identity)
            )
        return self.sides[direction]

    def overdue_count(self, direction: Direction) -> int:
        if direction not in self.overdue:
            counted = self.db.scalar(
                select(func.count())
                .select_from(ReuseRequest)
                .join(Resource, Resource.id == ReuseRequest.resource_id)
                .where(self.side(direction), self.overdue_condition)
            )
            self.overdue[direction] = int(counted or 0)
        return self.overdue[direction]

    def list(self, wanted: ListWanted) -> ReuseRequestList:
        query = (
            select(ReuseRequest, Resource)
            .join(Resource, Resource.id == ReuseRequest.resource_id)
            .where(self.side(wanted.direction))
        )
        if wanted.status is not None:
            query = query.where(ReuseRequest.status == wanted.status)
        if wanted.overdue_only:
            query = query.where(self.overdue_condition)
        if wanted.resource_id is not None:
            query = query.where(ReuseRequest.resource_id == wanted.resource_id)
        page = paging.fetch_in(
            self.db,
            query,
            REQUEST_ORDER,
            limit=wanted.limit,
            cursor=wanted.cursor,
            scope=paging.fingerprint(
                "reuse-requests",
                wanted.direction,
                wanted.status,
                wanted.overdue_only,
                wanted.resource_id,
            ),
        )
        pairs = [(r, res) for r, res in page.rows]
        return ReuseRequestList(
            items=request_views_in(self.db, self.identity, pairs, self.now),
            next_cursor=page.next_cursor,
            direction=wanted.direction,
            overdue=self.overdue_count(wanted.direction),
        )


class ReuseRequestService(DomainService):
    # --- asking ------------------------------------------------------------------------

    async def create(
        self, identity: Identity, resource_id: UUID, data: ReuseRequestCreate
    ) -> ReuseRequestOut:
        now = self.clock.now()
        resource = await policy.readable_resource(self.session, identity, resource_id, now=now)
        scope = ReuseScope(data.scope)
        try:
            await policy.require_can_request(self.session, identity, resource, scope, now)
        except RuleRefusal as refusal:
            await self._record_refusal(identity, resource, scope, refusal)
            raise
        key = pending_key(resource.id, identity.school_id, scope)
        existing = await self.session.scalar(
            select(ReuseRequest.id).where(ReuseRequest.pending_key == key)
        )
        if existing is not None:
            raise self._duplicate(existing)
        purpose, audience = data.purpose.strip(), data.audience.strip()
        if not purpose or not audience:
            raise InvalidInput(
                _(
                    "Say what you want to use it for (`purpose`) and who will see it "
                    "(`audience`): the authors decide on that."
                )
            )
        request = ReuseRequest(
            resource_id=resource.id,
            requesting_school_id=identity.school_id,
            requested_by_id=identity.member_id,
            scope=scope,
            purpose=purpose,
            audience=audience,
            status=PENDING,
            pending_key=key,
            respond_by=days_later(now, self.settings.request_response_days),
            created_at=now,
            updated_at=now,
        )
        self.session.add(request)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            await self.session.rollback()
            existing = await self.session.scalar(
                select(ReuseRequest.id).where(ReuseRequest.pending_key == key)
            )
            raise self._duplicate(existing) from exc
        details = {"scope": scope, "purpose": purpose, "audience": audience}
        event = ReuseRequestMade(identity, request, resource, "reuse_request.created", details)
        return await self._commit(event, now)

    async def _commit(self, event: ReuseRequestChanged, now: datetime) -> ReuseRequestOut:
        """Record what happened to the request and commit it with its consequences."""
        uow = unit_of_work(self.session, self.clock)
        uow.record(event)
        await uow.commit()
        views = await request_views(
            self.session, event.actor, [(event.request, event.resource)], now
        )
        return views[0]

    def _duplicate(self, existing: UUID | None) -> Conflict:
        return Conflict(
            _(
                "Your school already has a pending request of this scope for this resource. Wait "
                "for the authors' answer, or withdraw that request first."
            ),
            existing_request_id=str(existing) if existing else None,
        )

    async def _record_refusal(
        self, identity: Identity, resource: Resource, scope: ReuseScope, refusal: RuleRefusal
    ) -> None:
        """The refusal is the answer, and is committed on its own before it is raised."""
        uow = unit_of_work(self.session, self.clock)
        uow.record(ReuseRequestRefused(identity, resource, scope, refusal.code_of_conduct_rule))
        await uow.commit()

    # --- reading ---------------------------------------------------------------------

    async def list(
        self,
        identity: Identity,
        *,
        direction: Direction,
        status: str | None = None,
        overdue_only: bool = False,
        limit: int = paging.DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ReuseRequestList:
        wanted = ListWanted(direction, status, overdue_only, limit, cursor)
        return (await self.lists(identity, wanted))[0]

    async def lists(self, identity: Identity, *wanted: ListWanted) -> tuple[ReuseRequestList, ...]:
        """Several lists of requests read in one go (`exchange.database.run_read`): on
        SQLite, on a reader in this thread, with no hand-off to the driver's thread for
        each step of each statement. A page shows the requests waiting, those answered
        and those asked."""
        now = self.clock.now()

        def read(db: Session) -> tuple[ReuseRequestList, ...]:
            reading = _Reading(db, identity, now)
            return tuple(reading.list(one) for one in wanted)

        return await run_read(self.session, read)

    async def _visible(self, identity: Identity, request_id: UUID) -> tuple[ReuseRequest, Resource]:
        row = (
            await self.session.execute(
                select(ReuseRequest, Resource)
                .join(Resource, Resource.id == ReuseRequest.resource_id)
                .where(ReuseRequest.id == request_id)
            )
        ).first()
        if row is None:
            raise NotFound(refusals.NO_SUCH_REQUEST)
        request, resource = row
        policy.require(identity, policy.Action.READ_REQUEST, request, resource=resource)
        return request, resource

    async def get(self, identity: Identity, request_id: UUID) -> ReuseRequestOut:
        request, resource = await self._visible(identity, request_id)
        return (
            await request_views(self.session, identity, [(request, resource)], self.clock.now())
        )[0]

    # --- answering -------------------------------------------------------------------

    async def decide(
        self, identity: Identity, request_id: UUID, data: DecisionIn
    ) -> ReuseRequestOut:
        now = self.clock.now()
        request, resource = await self._visible(identity, request_id)
        policy.require(identity, policy.Action.ANSWER_REQUEST, request, resource=resource)
        self._require_pending(request)
        note = (data.note or "").strip() or None
        approve = data.decision == "approve"
        if approve:
            if data.expires_at is not None:
                if data.expires_at.tzinfo is None:
                    raise InvalidInput(
                        _("`expires_at` needs a time zone, e.g. 2026-06-30T00:00:00Z.")
                    )
                if data.expires_at <= now:
                    raise InvalidInput(
                        _(
                            "`expires_at` is in the past: give a date after today, or leave it "
                            "out for a permission without an end."
                        )
                    )
            if resource.confidential and request.scope != ReuseScope.ADAPT:
                raise RuleRefusal(
                    _(
                        "This resource is now confidential (code of conduct, rule 6): it can "
                        "never be shared further. Decline the request with a note; you may "
                        "approve a request to adapt it."
                    )
                    if request.scope == ReuseScope.SHARE
                    else _(
                        "This resource is now confidential (code of conduct, rule 6): it can "
                        "never be published. Decline the request with a note; you may approve "
                        "a request to adapt it."
                    ),
                    rule=6,
                )
            policy.require_consent_to_leave(identity, resource, request.scope)
        else:
            if data.expires_at is not None:
                raise InvalidInput(_("`expires_at` only goes with an approval."))
            if note is None:
                raise InvalidInput(
                    _(
                        "Say why in `note` when you decline: the requesting school learns what it "
                        "can do instead (the code of conduct, rule 9)."
                    )
                )
        status = ReuseRequestStatus.APPROVED if approve else ReuseRequestStatus.DENIED
        if not await move_pending(
            self.session,
            request,
            status=status,
            decided_by_id=identity.member_id,
            decided_at=now,
            decision_note=note,
            grant_expires_at=data.expires_at if approve else None,
            updated_at=now,
        ):
            raise Conflict(ANSWERED_A_MOMENT_AGO)
        grant: Grant | None = None
        if approve:
            grant = Grant(
                resource_id=resource.id,
                school_id=request.requesting_school_id,
                scope=request.scope,
                source=GrantSource.REQUEST,
                reuse_request_id=request.id,
                granted_by_id=identity.member_id,
                expires_at=data.expires_at,
                created_at=now,
                updated_at=now,
            )
            self.session.add(grant)
            await self.session.flush()
        details = {
            "scope": request.scope,
            "note": note,
            "grant_id": str(grant.id) if grant else None,
            "expires_at": data.expires_at.isoformat() if data.expires_at else None,
        }
        event = ReuseRequestDecided(identity, request, resource, f"reuse_request.{status}", details)
        return await self._commit(event, now)

    async def withdraw(self, identity: Identity, request_id: UUID) -> ReuseRequestOut:
        now = self.clock.now()
        request, resource = await self._visible(identity, request_id)
        policy.require(identity, policy.Action.WITHDRAW_REQUEST, request, resource=resource)
        self._require_pending(request)
        if not await move_pending(
            self.session,
            request,
            status=ReuseRequestStatus.WITHDRAWN,
            closed_at=now,
            closed_by_id=identity.member_id,
            closed_reason=RequestClosing.WITHDRAWN.value,
            updated_at=now,
        ):
            raise Conflict(ANSWERED_A_MOMENT_AGO)
        details = {"scope": request.scope}
        event = ReuseRequestWithdrawn(
            identity, request, resource, "reuse_request.withdrawn", details
        )
        return await self._commit(event, now)

    @staticmethod
    def _require_pending(request: ReuseRequest) -> None:
        if request.status != PENDING:
            raise Conflict(
                _(
                    "This request is already {status}; only a pending request can be answered or "
                    "withdrawn. A school can make a new request if it still needs to.",
                    status=REQUEST_STATUS_WORDS.get(request.status, request.status),
                ),
                request_status=request.status,
            )


__all__ = ["ReuseRequestService", "incoming_for", "outgoing_for"]
