"""The dashboard: counts of open and overdue requests both ways, and new resources
from partners since the member's last look."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.exc import IntegrityError

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.dashboard.schemas import (
    Dashboard,
    EvaluationsWaiting,
    NewPartnerResources,
    NewResource,
    RequestCounts,
)
from exchange.domain_service import DomainService
from exchange.kernel.refs import Names
from exchange.models import (
    Activity,
    ActivityEvaluation,
    ActivityStatus,
    DashboardVisit,
    PartnerQuestion,
    Resource,
    ReuseRequest,
    ReuseRequestStatus,
)
from exchange.questions import waiting
from exchange.reuse.requests import incoming_for, outgoing_for
from exchange.unit_of_work import unit_of_work

FIRST_LOOK_WINDOW = timedelta(days=14)
LATEST = 10


class DashboardService(DomainService):
    async def show(self, identity: Identity) -> Dashboard:
        now = self.clock.now()
        incoming = await self._counts(incoming_for(identity), now)
        outgoing = await self._counts(outgoing_for(identity), now)
        visit = await self.session.scalar(
            select(DashboardVisit).where(DashboardVisit.member_id == identity.member_id)
        )
        since = visit.seen_at if visit else now - FIRST_LOOK_WINDOW
        new = await self._new_resources(identity, since, now)
        dashboard = Dashboard(
            incoming=incoming,
            outgoing=outgoing,
            new_partner_resources=NewPartnerResources(
                since=since,
                basis="last_look" if visit else "last_14_days",
                count=new[0],
                latest=new[1],
            ),
            activities_waiting_for_evaluation=await self._evaluations_waiting(identity),
            incoming_questions=await self._question_counts(
                PartnerQuestion.answering_school_id == identity.school_id, now
            ),
            outgoing_questions=await self._question_counts(
                PartnerQuestion.asking_school_id == identity.school_id, now
            ),
        )
        await self._remember_look(identity, visit, now)
        return dashboard

    async def _evaluations_waiting(self, identity: Identity) -> EvaluationsWaiting:
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
            await self.session.execute(
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

    async def _counts(self, side: ColumnElement[bool], now: datetime) -> RequestCounts:
        pending = ReuseRequest.status == ReuseRequestStatus.PENDING
        overdue = and_(pending, ReuseRequest.respond_by < now)
        row = (
            await self.session.execute(
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

    async def _question_counts(self, side: ColumnElement[bool], now: datetime) -> RequestCounts:
        row = (
            await self.session.execute(
                select(
                    func.count().filter(waiting.waiting()).label("open"),
                    func.count().filter(waiting.overdue(now)).label("overdue"),
                )
                .select_from(PartnerQuestion)
                .where(side)
            )
        ).one()
        return RequestCounts(open=int(row.open or 0), overdue=int(row.overdue or 0))

    async def _new_resources(
        self, identity: Identity, since: datetime, now: datetime
    ) -> tuple[int, list[NewResource]]:
        condition = and_(
            policy.readable_by_caller(),
            Resource.owner_school_id != identity.school_id,
            Resource.created_at > since,
        )
        reading = policy.reading_parameters(identity, now)
        count = await self.session.scalar(
            select(func.count()).select_from(Resource).where(condition), reading
        )
        latest = list(
            await self.session.scalars(
                select(Resource)
                .where(condition)
                .order_by(Resource.created_at.desc(), Resource.id.desc())
                .limit(LATEST),
                reading,
            )
        )
        names = await Names.load(self.session, schools=[r.owner_school_id for r in latest])
        return int(count or 0), [
            NewResource(
                id=r.id,
                title=r.title,
                kind=r.kind,
                school=names.school(r.owner_school_id),
                created_at=r.created_at,
            )
            for r in latest
        ]

    async def _remember_look(
        self, identity: Identity, visit: DashboardVisit | None, now: datetime
    ) -> None:
        if visit is not None:
            visit.seen_at = now
        else:
            self.session.add(DashboardVisit(member_id=identity.member_id, seen_at=now))
        try:
            await unit_of_work(self.session, self.clock).commit()
        except IntegrityError:
            # Two looks at the same moment from two tabs: either one is the last look.
            await self.session.rollback()
