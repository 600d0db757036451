"""The dashboard: counts of open and overdue requests both ways, and new resources
from partners since the member's last look.

Reading the dashboard changes nothing. "New since your last look" counts from the
moment the member last said they had seen what was new (`mark_seen`, an explicit
`POST`): a look is recorded when the member has seen the list, not whenever a page or a
client reads it."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.dashboard.schemas import (
    Dashboard,
    EvaluationsWaiting,
    NewPartnerResources,
    NewResource,
    RequestCounts,
)
from exchange.database import run_read
from exchange.domain_service import DomainService
from exchange.errors import Conflict, InvalidInput
from exchange.i18n import _
from exchange.kernel.refs import Names
from exchange.models import (
    Activity,
    ActivityEvaluation,
    ActivityStatus,
    DashboardVisit,
    PartnerQuestion,
    Partnership,
    PartnershipStatus,
    Resource,
    ReuseRequest,
    ReuseRequestStatus,
)
from exchange.partnerships.services import INVITATION_ANSWER_WINDOW
from exchange.policy import partnerships_visible_to
from exchange.questions import waiting
from exchange.reuse.requests import incoming_for, outgoing_for
from exchange.unit_of_work import unit_of_work

FIRST_LOOK_WINDOW = timedelta(days=14)
LATEST = 10
# New partner resources are counted up to this many; past it the dashboard says "more".
COUNTED = 200


class DashboardService(DomainService):
    async def show(self, identity: Identity) -> Dashboard:
        """Its statements read in one go (`exchange.database.run_read`): on SQLite on a
        reader in this thread, with no hand-off to the driver's thread for each step."""
        now = self.clock.now()
        return await run_read(self.session, lambda db: self._show_in(db, identity, now))

    def _show_in(self, db: Session, identity: Identity, now: datetime) -> Dashboard:
        incoming = self._counts(db, incoming_for(identity), now)
        outgoing = self._counts(db, outgoing_for(identity), now)
        visit = db.scalar(
            select(DashboardVisit).where(DashboardVisit.member_id == identity.member_id)
        )
        since = visit.seen_at if visit else now - FIRST_LOOK_WINDOW
        new = self._new_resources(db, identity, since, now)
        return Dashboard(
            incoming=incoming,
            outgoing=outgoing,
            new_partner_resources=NewPartnerResources(
                since=since,
                until=now,
                basis="last_look" if visit else "last_14_days",
                count=new[0],
                count_capped=new[1],
                latest=new[2],
            ),
            activities_waiting_for_evaluation=self._evaluations_waiting(db, identity),
            incoming_questions=self._question_counts(
                db, PartnerQuestion.answering_school_id == identity.school_id, now
            ),
            outgoing_questions=self._question_counts(
                db, PartnerQuestion.asking_school_id == identity.school_id, now
            ),
            **self._invitation_counts(db, identity, now),
        )

    async def mark_seen(self, identity: Identity, seen_until: datetime) -> datetime:
        """The member has seen what was new up to `seen_until` (the `until` of the
        dashboard they read): later reads count from there. A look never moves back, nor
        past now. Returns the look as recorded."""
        if seen_until.tzinfo is None:
            raise InvalidInput(
                _(
                    "`seen_until` needs a time zone: send back the `until` you were given, "
                    "e.g. 2026-06-30T08:00:00Z."
                ),
                errors=[{"field": "seen_until", "message": "no time zone"}],
            )
        seen = min(seen_until, self.clock.now())
        uow = unit_of_work(self.session, self.clock)
        for _attempt in range(2):
            visit = await self.session.scalar(
                select(DashboardVisit).where(DashboardVisit.member_id == identity.member_id)
            )
            if visit is None:
                self.session.add(DashboardVisit(member_id=identity.member_id, seen_at=seen))
            elif visit.seen_at < seen:
                visit.seen_at = seen
            else:
                seen = visit.seen_at
            try:
                await uow.commit()
                return seen
            except IntegrityError:
                # Two tabs marked it at the same moment: the other one's row is there now.
                await self.session.rollback()
        raise Conflict(
            _(
                "Your last look was being recorded from another window at the same moment. "
                "Try again."
            )
        )

    def _evaluations_waiting(self, db: Session, identity: Identity) -> EvaluationsWaiting:
        evaluations = (
            select(func.count(ActivityEvaluation.id))
            .where(ActivityEvaluation.activity_id == Activity.id)
            .scalar_subquery()
        )
        ours = exists(
            select(ActivityEvaluation.id).where(
                ActivityEvaluation.activity_id == Activity.id,
                ActivityEvaluation.school_id == identity.school_id,
            )
        )
        row = (
            db.execute(
                select(
                    func.count().filter(evaluations < 2).label("total"),
                    func.count().filter(~ours).label("ours"),
                ).where(
                    Activity.status == ActivityStatus.DONE,
                    policy.activities_of_active_partnerships(identity),
                )
            )
        ).one()
        return EvaluationsWaiting(total=int(row.total or 0), from_your_school=int(row.ours or 0))

    def _counts(self, db: Session, side: ColumnElement[bool], now: datetime) -> RequestCounts:
        pending = ReuseRequest.status == ReuseRequestStatus.PENDING
        overdue = and_(pending, ReuseRequest.respond_by < now)
        row = (
            db.execute(
                select(
                    func.count().filter(pending).label("open"),
                    func.count().filter(overdue).label("overdue"),
                )
                .select_from(ReuseRequest)
                .join(Resource, Resource.id == ReuseRequest.resource_id)
                .where(side)
            )
        ).one()
        return RequestCounts(open=int(row.open or 0), overdue=int(row.overdue or 0))

    def _question_counts(
        self, db: Session, side: ColumnElement[bool], now: datetime
    ) -> RequestCounts:
        row = (
            db.execute(
                select(
                    func.count().filter(waiting.waiting()).label("open"),
                    func.count().filter(waiting.overdue(now)).label("overdue"),
                )
                .select_from(PartnerQuestion)
                .where(side)
            )
        ).one()
        return RequestCounts(open=int(row.open or 0), overdue=int(row.overdue or 0))

    def _invitation_counts(
        self, db: Session, identity: Identity, now: datetime
    ) -> dict[str, RequestCounts]:
        """Open invitations both ways, and those unanswered past their 30 days (rule 9)."""
        overdue = Partnership.invited_at <= now - INVITATION_ANSWER_WINDOW
        incoming = Partnership.invited_school_id == identity.school_id
        row = (
            db.execute(
                select(
                    func.count().filter(incoming).label("incoming"),
                    func.count().filter(incoming, overdue).label("incoming_overdue"),
                    func.count().filter(~incoming).label("outgoing"),
                    func.count().filter(~incoming, overdue).label("outgoing_overdue"),
                ).where(
                    Partnership.status == PartnershipStatus.INVITED,
                    partnerships_visible_to(identity),
                )
            )
        ).one()
        return {
            "incoming_invitations": RequestCounts(
                open=int(row.incoming or 0), overdue=int(row.incoming_overdue or 0)
            ),
            "outgoing_invitations": RequestCounts(
                open=int(row.outgoing or 0), overdue=int(row.outgoing_overdue or 0)
            ),
        }

    def _new_resources(
        self, db: Session, identity: Identity, since: datetime, now: datetime
    ) -> tuple[int, bool, list[NewResource]]:
        values = {**policy.reading_parameters(identity, now), _SINCE: since}
        counted = int(db.scalar(_new_count(), {**values, _COUNT_UP_TO: COUNTED + 1}) or 0)
        latest = self._latest(db, values, since, now)
        names = Names.load_in(db, schools=[r.owner_school_id for r in latest])
        return (
            min(counted, COUNTED),
            counted > COUNTED,
            [
                NewResource(
                    id=r.id,
                    title=r.title,
                    kind=r.kind,
                    school=names.school(r.owner_school_id),
                    created_at=r.created_at,
                )
                for r in latest
            ],
        )

    def _latest(
        self, db: Session, values: dict[str, Any], since: datetime, now: datetime
    ) -> list[Resource]:
        """The `LATEST` newest since `since`, looked for in the last 14 days first, then
        in windows four times as long: every resource newer than a window's start is in
        the window, so when it holds `LATEST` they are the newest of all. A member back
        after a year makes the database sort what partners added in weeks, not the
        whole year's."""
        start = now - FIRST_LOOK_WINDOW
        while True:
            lower = max(since, start)
            found = list(db.scalars(_new_latest(), {**values, _SINCE: lower}))
            if len(found) >= LATEST or lower == since:
                return found
            start = now - (now - start) * 4


_SINCE = "new_since"
_COUNT_UP_TO = "new_count_up_to"


def _new_condition() -> ColumnElement[bool]:
    """Other schools' resources the caller may read, added after `since` (a parameter).
    The rule's form that starts from the partners' resources by owner and time
    (`policy.readable_from_others_by_caller`): a school's dashboard weighs what its
    partners added lately, never every resource of the exchange."""
    return and_(
        Resource.created_at > bindparam(_SINCE, type_=Resource.__table__.c.created_at.type),
        policy.readable_from_others_by_caller(),
    )


# Both statements are built once: the read rule is a large expression that SQLAlchemy
# would otherwise walk for its cache key on every read.
@cache
def _new_count() -> Select[int]:
    """How many, counted up to one past `COUNTED`: a member back after months needs no
    exact figure, and counting stops early."""
    found = (
        select(Resource.id)
        .where(_new_condition())
        .limit(bindparam(_COUNT_UP_TO, type_=Integer))
        .subquery()
    )
    return select(func.count()).select_from(found)


@cache
def _new_latest() -> Select[Resource]:
    return (
        select(Resource)
        .where(_new_condition())
        .order_by(Resource.created_at.desc(), Resource.id.desc())
        .limit(LATEST)
    )
