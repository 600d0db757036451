"""HTTP routes of a partnership's plan and its school-year summary (thin: parse, call)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter

from exchange.accounts.identity import Identity
from exchange.activities.controllers import activity_out
from exchange.activities.plan import PlanService, PlanView, YearSummary
from exchange.activities.schemas import (
    GoalSummaryOut,
    PlanActivitiesOut,
    PlanOut,
    RemarkOut,
    SchoolProgressOut,
    SummaryActivityOut,
    YearSummaryOut,
)
from exchange.activities.summary_document import summary_docx, summary_filename, summary_text
from exchange.models import ActivityStatus
from exchange.partnerships.letter import attachment_disposition

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

SchoolYear = Annotated[
    int | None,
    QueryParameter(
        ge=2000,
        le=2100,
        description="The school year by the calendar year it starts in (2025: 2025–2026); "
        "the current one by default",
    ),
]


def plan_out(plan: PlanView) -> PlanOut:
    p = plan.partnership
    return PlanOut(
        partnership_id=p.id,
        status=p.status,
        language=p.language,
        schools=plan.schools,
        goals=list(p.goals),
        activities=PlanActivitiesOut(
            planned=[activity_out(v) for v in plan.with_status(ActivityStatus.PLANNED)],
            done=[activity_out(v) for v in plan.with_status(ActivityStatus.DONE)],
            cancelled=[activity_out(v) for v in plan.with_status(ActivityStatus.CANCELLED)],
        ),
        waiting=plan.waiting,
        school_years=plan.school_years,
    )


def summary_out(summary: YearSummary) -> YearSummaryOut:
    return YearSummaryOut(
        partnership_id=summary.partnership.id,
        school_year=summary.school_year,
        label=summary.label,
        starts_on=summary.starts_on,
        ends_on=summary.ends_on,
        ended=summary.ended,
        activities_done=summary.done,
        activities_planned=summary.planned,
        activities_cancelled=summary.cancelled,
        goals=[
            GoalSummaryOut(
                goal=g.goal,
                activities=[
                    SummaryActivityOut(
                        id=v.activity.id,
                        title=v.activity.title,
                        kind=v.activity.kind,
                        starts_on=v.activity.starts_on,
                    )
                    for v in g.activities
                ],
                evaluations=g.evaluations,
                average_progress=g.average,
                progress_by_school=[
                    SchoolProgressOut(school_id=s.id, average_progress=average)
                    for s in summary.schools
                    if (average := g.average_of(s.id)) is not None
                ],
                continue_yes=g.continue_yes,
                continue_no=g.continue_no,
                went_well=[
                    RemarkOut(school_id=r.school.id, activity_title=r.activity_title, text=r.text)
                    for r in g.went_well
                ],
                to_change=[
                    RemarkOut(school_id=r.school.id, activity_title=r.activity_title, text=r.text)
                    for r in g.to_change
                ],
            )
            for g in summary.goals
        ],
    )


class PlanController(Controller):
    path = "/api/partnerships/{partnership_id:uuid}/plan"
    tags = ["partnership life"]
    dependencies = {"plans": Provide(PlanService, sync_to_thread=False)}

    @get(
        operation_id="getPartnershipPlan",
        summary="A partnership's plan: goals, activities by status and date, evaluations, "
        "what waits and for whom (members of its two schools; kept after it ends)",
    )
    async def plan(
        self,
        plans: NamedDependency[PlanService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
    ) -> PlanOut:
        return plan_out(await plans.plan(identity, partnership_id))

    @get(
        "/summary",
        operation_id="getPlanSummary",
        summary="A school year of the partnership, per goal, from the evaluations",
    )
    async def summary(
        self,
        plans: NamedDependency[PlanService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        school_year: SchoolYear = None,
    ) -> YearSummaryOut:
        return summary_out(await plans.summary(identity, partnership_id, school_year))

    @get(
        "/summary.docx",
        operation_id="downloadPlanSummaryDocx",
        media_type=DOCX,
        summary="The school year's summary as a DOCX document, in the partnership's language",
    )
    async def summary_docx(
        self,
        plans: NamedDependency[PlanService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        school_year: SchoolYear = None,
    ) -> Response[bytes]:
        summary = await plans.summary(identity, partnership_id, school_year)
        return Response(
            content=summary_docx(summary),
            media_type=DOCX,
            headers={"Content-Disposition": _disposition(summary, "docx")},
        )

    @get(
        "/summary.txt",
        operation_id="downloadPlanSummaryText",
        media_type=MediaType.TEXT,
        summary="The school year's summary as plain text, in the partnership's language",
    )
    async def summary_text(
        self,
        plans: NamedDependency[PlanService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        school_year: SchoolYear = None,
    ) -> Response[str]:
        summary = await plans.summary(identity, partnership_id, school_year)
        return Response(
            content=summary_text(summary),
            media_type=MediaType.TEXT,
            headers={"Content-Disposition": _disposition(summary, "txt")},
        )


def _disposition(summary: YearSummary, extension: str) -> str:
    return attachment_disposition(
        summary_filename(summary, extension),
        f"partnership-summary-{summary.school_year}-{summary.school_year + 1}.{extension}",
    )
