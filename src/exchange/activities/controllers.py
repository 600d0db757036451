"""HTTP routes of partnership life: activities and their evaluations (thin: parse, call)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.activities.schemas import (
    ActivityCreate,
    ActivityMemberOut,
    ActivityOut,
    ActivityPage,
    ActivityUpdate,
    EvaluationIn,
    EvaluationOut,
    LinkedResourceOut,
    TaskOut,
)
from exchange.activities.services import ActivityService, ActivityView
from exchange.clock import Clock
from exchange.kernel import paging
from exchange.openapi import problems


async def provide_activity_service(
    db_session: NamedDependency[AsyncSession], clock: NamedDependency[Clock]
) -> ActivityService:
    return ActivityService(db_session, clock)


def activity_out(view: ActivityView) -> ActivityOut:
    a = view.activity
    return ActivityOut(
        id=a.id,
        partnership_id=a.partnership_id,
        kind=a.kind,
        title=a.title,
        description=a.description,
        starts_on=a.starts_on,
        ends_on=a.ends_on,
        host_school_id=a.host_school_id,
        goals=list(a.goals),
        responsible_member_ids=[m.id for m in view.members],
        responsible_members=[
            ActivityMemberOut(id=m.id, full_name=m.full_name, school_id=m.school_id)
            for m in view.members
        ],
        cover_arrangements=a.cover_arrangements,
        needs_approval=a.needs_approval,
        approval_obtained=a.approval_obtained,
        resource_ids=[r.id for r in view.readable_resources],
        resources=[LinkedResourceOut(id=r.id, title=r.title) for r in view.readable_resources],
        tasks=[
            TaskOut(
                title=t["title"],
                school_id=UUID(t["school_id"]),
                owner_member_id=UUID(t["owner_member_id"]) if t.get("owner_member_id") else None,
                due_on=_date(t.get("due_on")),
                done=bool(t.get("done")),
            )
            for t in a.tasks
        ],
        status=a.status,
        past_due=view.past_due,
        evaluations=[
            EvaluationOut(
                school_id=e.school_id,
                went_well=e.went_well,
                to_change=e.to_change,
                goal_progress=dict(e.goal_progress),
                continue_=e.continue_,
                evaluated_by_id=e.evaluated_by_id,
                created_at=e.created_at,
            )
            for e in view.evaluations
        ],
        awaiting_evaluation_from=view.awaiting_evaluation_from,
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class PartnershipActivityController(Controller):
    path = "/api/partnerships/{partnership_id:uuid}/activities"
    tags = ["partnership life"]
    dependencies = {"activities": Provide(provide_activity_service)}

    @get(
        operation_id="listActivities",
        summary="A partnership's activities, by date (members of its two schools)",
    )
    async def list_activities(
        self,
        activities: NamedDependency[ActivityService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ) -> ActivityPage:
        views, next_cursor = await activities.list_for(
            identity, partnership_id, limit=limit, cursor=cursor
        )
        return ActivityPage(items=[activity_out(v) for v in views], next_cursor=next_cursor)

    @post(
        operation_id="planActivity",
        responses=problems(409),
        summary="Plan an activity of an active partnership (admins, or a member naming "
        "themselves responsible)",
        status_code=HTTP_201_CREATED,
    )
    async def plan(
        self,
        activities: NamedDependency[ActivityService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        data: JSONBody[ActivityCreate],
    ) -> ActivityOut:
        return activity_out(await activities.plan(identity, partnership_id, data))


class ActivityController(Controller):
    path = "/api/activities"
    tags = ["partnership life"]
    dependencies = {"activities": Provide(provide_activity_service)}

    @get("/{activity_id:uuid}", operation_id="getActivity", summary="One activity")
    async def get_activity(
        self,
        activities: NamedDependency[ActivityService],
        identity: NamedDependency[Identity],
        activity_id: FromPath[UUID],
    ) -> ActivityOut:
        return activity_out(await activities.get(identity, activity_id))

    @patch(
        "/{activity_id:uuid}",
        operation_id="updateActivity",
        responses=problems(409),
        summary="Change a planned activity (admins or its responsible members); your "
        "school's members and tasks only",
    )
    async def update_activity(
        self,
        activities: NamedDependency[ActivityService],
        identity: NamedDependency[Identity],
        activity_id: FromPath[UUID],
        data: JSONBody[ActivityUpdate],
    ) -> ActivityOut:
        return activity_out(await activities.update(identity, activity_id, data))

    @post(
        "/{activity_id:uuid}/done",
        operation_id="markActivityDone",
        responses=problems(409),
        summary="Mark a planned activity done: it then waits for both schools' evaluations",
        status_code=HTTP_200_OK,
    )
    async def mark_done(
        self,
        activities: NamedDependency[ActivityService],
        identity: NamedDependency[Identity],
        activity_id: FromPath[UUID],
    ) -> ActivityOut:
        return activity_out(await activities.mark_done(identity, activity_id))

    @post(
        "/{activity_id:uuid}/cancel",
        operation_id="cancelActivity",
        responses=problems(409),
        summary="Cancel a planned activity",
        status_code=HTTP_200_OK,
    )
    async def cancel(
        self,
        activities: NamedDependency[ActivityService],
        identity: NamedDependency[Identity],
        activity_id: FromPath[UUID],
    ) -> ActivityOut:
        return activity_out(await activities.cancel(identity, activity_id))

    @post(
        "/{activity_id:uuid}/evaluations",
        operation_id="evaluateActivity",
        responses=problems(409),
        summary="Your school's evaluation of a done activity, once",
        status_code=HTTP_201_CREATED,
    )
    async def evaluate(
        self,
        activities: NamedDependency[ActivityService],
        identity: NamedDependency[Identity],
        activity_id: FromPath[UUID],
        data: JSONBody[EvaluationIn],
    ) -> ActivityOut:
        return activity_out(await activities.evaluate(identity, activity_id, data))
