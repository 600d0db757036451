"""The plan of a partnership (§6, the eight planning steps): its goals, its activities by
status and date with their evaluations, and what waits for whom; and, for a school year,
a summary per goal drawn from the evaluations (§4.8), for the page and the printed
document.

Read by the members of the partnership's two schools only (404 to anyone else), while it
lives and after it ended, as a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from statistics import mean
from uuid import UUID

from sqlalchemy import select

from exchange.accounts.identity import Identity
from exchange.activities.schemas import WaitingOut
from exchange.activities.services import ActivityService, ActivityView
from exchange.clock import local_day
from exchange.domain_service import DomainService
from exchange.errors import InvalidInput, NotFound
from exchange.i18n import _
from exchange.kernel.refs import Names, SchoolRef
from exchange.models import ActivityStatus, PartnerQuestion, Partnership, PartnershipStatus
from exchange.policy import require_partnership_visible
from exchange.questions import waiting as questions_waiting

# Kyrgyzstan's school year runs from 1 September; its summer holidays start in June.
SCHOOL_YEAR_STARTS = (9, 1)
LESSONS_END = (5, 31)


def school_year_of(day: date) -> int:
    """The school year a day belongs to, named by the calendar year it starts in."""
    return day.year if (day.month, day.day) >= SCHOOL_YEAR_STARTS else day.year - 1


def school_year_span(year: int) -> tuple[date, date]:
    """Its first and last day (the summer belongs to the year that ends with it)."""
    return date(year, *SCHOOL_YEAR_STARTS), date(year + 1, 8, 31)


def school_year_label(year: int) -> str:
    return f"{year}–{year + 1}"


@dataclass(frozen=True)
class PlanView:
    partnership: Partnership
    schools: list[SchoolRef]
    activities: list[ActivityView]
    waiting: list[WaitingOut]  # what it waits for, and from whom
    school_years: list[int]
    today: date

    def with_status(self, status: ActivityStatus) -> list[ActivityView]:
        return [v for v in self.activities if v.activity.status == status]

    @property
    def is_record(self) -> bool:
        """Ended (or never begun): readable, nothing is added."""
        return self.partnership.status != PartnershipStatus.ACTIVE


@dataclass(frozen=True)
class Remark:
    """A sentence of one school's evaluation, with the activity it is about."""

    school: SchoolRef
    activity_title: str
    text: str


@dataclass
class GoalSummary:
    goal: str
    activities: list[ActivityView] = field(default_factory=list)
    progress: dict[UUID, list[int]] = field(default_factory=dict)
    continue_yes: int = 0
    continue_no: int = 0
    went_well: list[Remark] = field(default_factory=list)
    to_change: list[Remark] = field(default_factory=list)

    @property
    def evaluations(self) -> int:
        return self.continue_yes + self.continue_no

    @property
    def average(self) -> float | None:
        marks = [m for school in self.progress.values() for m in school]
        return round(mean(marks), 1) if marks else None

    def average_of(self, school_id: UUID) -> float | None:
        marks = self.progress.get(school_id)
        return round(mean(marks), 1) if marks else None


@dataclass(frozen=True)
class YearSummary:
    partnership: Partnership
    schools: list[SchoolRef]
    school_year: int
    starts_on: date
    ends_on: date
    ended: bool
    goals: list[GoalSummary]
    done: int
    planned: int
    cancelled: int

    @property
    def label(self) -> str:
        return school_year_label(self.school_year)

    def school_name(self, school_id: UUID) -> str:
        return next((s.name for s in self.schools if s.id == school_id), "")


class PlanService(DomainService):
    async def plan(self, identity: Identity, partnership_id: UUID) -> PlanView:
        partnership = await self._partnership(identity, partnership_id)
        views = await ActivityService(self.session, self.clock).all_of(identity, partnership)
        today = local_day(self.clock.now())
        years = {school_year_of(v.activity.starts_on) for v in views}
        years.add(school_year_of(today))
        return PlanView(
            partnership=partnership,
            schools=await self._schools(partnership),
            activities=views,
            waiting=await self._waiting(partnership, views, today),
            school_years=sorted(years, reverse=True),
            today=today,
        )

    async def summary(
        self, identity: Identity, partnership_id: UUID, school_year: int | None = None
    ) -> YearSummary:
        plan = await self.plan(identity, partnership_id)
        year = school_year if school_year is not None else school_year_of(plan.today)
        if not 2000 <= year <= plan.today.year + 1:
            message = _("Choose a school year from 2000 to next year, by the year it starts in.")
            raise InvalidInput(
                message, errors=[{"field": "school_year", "source": "query", "message": message}]
            )
        first, last = school_year_span(year)
        in_year = [v for v in plan.activities if first <= v.activity.starts_on <= last]
        names = {s.id: s for s in plan.schools}
        goals = {goal: GoalSummary(goal) for goal in plan.partnership.goals}
        for view in in_year:
            if view.activity.status != ActivityStatus.DONE:
                continue
            for goal in view.activity.goals:
                summary = goals.setdefault(goal, GoalSummary(goal))
                summary.activities.append(view)
                for evaluation in view.evaluations:
                    school = names.get(evaluation.school_id) or SchoolRef(
                        id=evaluation.school_id, name=""
                    )
                    mark = evaluation.goal_progress.get(goal)
                    if mark is not None:
                        summary.progress.setdefault(evaluation.school_id, []).append(mark)
                    if evaluation.continue_:
                        summary.continue_yes += 1
                    else:
                        summary.continue_no += 1
                    title = view.activity.title
                    if evaluation.went_well:
                        summary.went_well.append(Remark(school, title, evaluation.went_well))
                    if evaluation.to_change:
                        summary.to_change.append(Remark(school, title, evaluation.to_change))
        return YearSummary(
            partnership=plan.partnership,
            schools=plan.schools,
            school_year=year,
            starts_on=first,
            ends_on=last,
            ended=plan.today > date(year + 1, *LESSONS_END),
            goals=list(goals.values()),
            done=sum(v.activity.status == ActivityStatus.DONE for v in in_year),
            planned=sum(v.activity.status == ActivityStatus.PLANNED for v in in_year),
            cancelled=sum(v.activity.status == ActivityStatus.CANCELLED for v in in_year),
        )

    async def _partnership(self, identity: Identity, partnership_id: UUID) -> Partnership:
        partnership = await self.session.get(Partnership, partnership_id)
        if partnership is None:
            raise NotFound(_("No such partnership among your school's partnerships."))
        require_partnership_visible(identity, partnership)
        return partnership

    async def _schools(self, partnership: Partnership) -> list[SchoolRef]:
        ids = [partnership.inviting_school_id, partnership.invited_school_id]
        names = await Names.load(self.session, schools=ids)
        return [names.school(i) for i in ids]

    async def _waiting(
        self, partnership: Partnership, views: list[ActivityView], today: date
    ) -> list[WaitingOut]:
        """What the plan waits for while the partnership lives (a record waits for
        nothing)."""
        if partnership.status != PartnershipStatus.ACTIVE:
            return []
        waiting: list[WaitingOut] = []
        for view in views:
            a = view.activity
            by_school: dict[UUID, list[UUID]] = {}
            for member in view.members:
                by_school.setdefault(member.school_id, []).append(member.id)
            if view.past_due:
                for school_id in dict.fromkeys([a.host_school_id, *by_school]):
                    waiting.append(
                        WaitingOut(
                            "done_or_cancelled",
                            a.title,
                            school_id,
                            by_school.get(school_id, []),
                            activity_id=a.id,
                            due_on=a.ends_on,
                        )
                    )
            for school_id in view.awaiting_evaluation_from:
                waiting.append(
                    WaitingOut(
                        "evaluation",
                        a.title,
                        school_id,
                        by_school.get(school_id, []),
                        activity_id=a.id,
                        since=local_day(a.done_at) if a.done_at else None,
                    )
                )
            if a.status == ActivityStatus.PLANNED:
                for task in a.tasks:
                    if task.get("done"):
                        continue
                    owner = task.get("owner_member_id")
                    waiting.append(
                        WaitingOut(
                            "task",
                            task["title"],
                            UUID(task["school_id"]),
                            [UUID(owner)] if owner else [],
                            activity_id=a.id,
                            due_on=date.fromisoformat(task["due_on"])
                            if task.get("due_on")
                            else None,
                        )
                    )
        questions = await self.session.scalars(
            select(PartnerQuestion)
            .where(PartnerQuestion.partnership_id == partnership.id, questions_waiting.waiting())
            .order_by(PartnerQuestion.respond_by)
        )
        for question in questions:
            waiting.append(
                WaitingOut(
                    "answer",
                    question.question,
                    question.answering_school_id,
                    [question.addressed_to_id] if question.addressed_to_id else [],
                    question_id=question.id,
                    since=local_day(question.created_at),
                    due_on=local_day(question.respond_by),
                )
            )
        return waiting
