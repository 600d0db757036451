"""Activities of a partnership and their evaluations: plan, change, mark done or cancel,
evaluate once per school.

Every call asks the policy first: the partnership must be the caller's school's (404
otherwise), the caller must be allowed to plan or evaluate, and only an active
partnership takes changes (an ended one keeps its activities as a record). Each school
writes only its own parts: the responsible members it names and the tasks it owns. The
members named in an activity are told in their inbox when it is planned, changed or
cancelled, in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.activities.schemas import (
    ActivityCreate,
    ActivityUpdate,
    EvaluationIn,
    TaskIn,
)
from exchange.clock import Clock, local_day
from exchange.display_text import clean_line
from exchange.errors import Conflict, InvalidInput, NotFound
from exchange.events import ActivityCancelled, ActivityChanged, ActivityMoved, ActivityPlanned
from exchange.i18n import LazyText, _, lazy_gettext
from exchange.kernel import paging
from exchange.models import (
    Activity,
    ActivityEvaluation,
    ActivityKind,
    ActivityStatus,
    Member,
    Partnership,
    Resource,
    School,
)
from exchange.notifications.service import notify_members
from exchange.policy import (
    readable_resources,
    refusals,
    require_activity_evaluator,
    require_activity_planner,
    require_partnership_takes_activities,
    require_partnership_visible,
)
from exchange.unit_of_work import UnitOfWork, unit_of_work

NO_SUCH_ACTIVITY = refusals.NO_SUCH_ACTIVITY
ONLY_PLANNED = lazy_gettext(
    "This activity is already done or cancelled: only a planned activity can be changed, "
    "marked done or cancelled."
)
_NOTICES: dict[str, LazyText] = {
    "activity.planned": lazy_gettext(
        "{member} of {school} planned '{title}', an activity you are responsible for."
    ),
    "activity.changed": lazy_gettext(
        "{member} of {school} changed '{title}', an activity you are responsible for."
    ),
    "activity.cancelled": lazy_gettext(
        "{member} of {school} cancelled '{title}', an activity you are responsible for."
    ),
}


def _refused(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field, "source": "body", "message": message}])


@dataclass(frozen=True)
class ActivityView:
    """An activity as one school sees it: the members it names, the linked resources the
    school may read, and both schools' evaluations."""

    activity: Activity
    partnership: Partnership
    members: Sequence[Member]
    readable_resources: Sequence[Resource]
    evaluations: Sequence[ActivityEvaluation]
    today: date
    # Every member the activity names (responsible members and task owners), by id.
    people: Mapping[UUID, Member] = field(default_factory=dict)

    @property
    def past_due(self) -> bool:
        """Still planned after its last day: it asks to be marked done or cancelled."""
        return self.activity.status == ActivityStatus.PLANNED and (
            self.activity.ends_on < self.today
        )

    @property
    def awaiting_evaluation_from(self) -> list[UUID]:
        if self.activity.status != ActivityStatus.DONE:
            return []
        done = {e.school_id for e in self.evaluations}
        p = self.partnership
        return [s for s in (p.inviting_school_id, p.invited_school_id) if s not in done]


# What a change takes as it is given; the other fields are checked against the
# partnership, the school's members or what the school may read.
COPIED_AS_GIVEN = (
    "kind",
    "title",
    "description",
    "cover_arrangements",
    "needs_approval",
    "approval_obtained",
)
ACTIVITY_ORDER = (paging.SortKey(Activity.starts_on, date), paging.SortKey(Activity.id, UUID))


class ActivityService:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    # --- reading -----------------------------------------------------------------------

    async def list_for(
        self,
        identity: Identity,
        partnership_id: UUID,
        *,
        limit: int = paging.DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> tuple[list[ActivityView], str | None]:
        """A page of the partnership's activities by date, and the cursor after it."""
        partnership = await self._partnership(identity, partnership_id)
        page = await paging.fetch(
            self.session,
            select(Activity).where(Activity.partnership_id == partnership.id),
            ACTIVITY_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("activities", partnership.id),
        )
        return await self._views(identity, partnership, page.rows), page.next_cursor

    async def all_of(self, identity: Identity, partnership: Partnership) -> list[ActivityView]:
        """Every activity of a partnership the caller may read, by date (the plan)."""
        require_partnership_visible(identity, partnership)
        rows = await self.session.scalars(
            select(Activity)
            .where(Activity.partnership_id == partnership.id)
            .order_by(Activity.starts_on, Activity.id)
        )
        return await self._views(identity, partnership, list(rows))

    async def own_members(self, identity: Identity) -> list[Member]:
        """The active members of the caller's school, by name: those it may name responsible."""
        rows = await self.session.scalars(
            select(Member)
            .where(Member.school_id == identity.school_id, Member.is_active.is_(True))
            .order_by(Member.full_name, Member.id)
        )
        return list(rows)

    async def linkable_resources(
        self, identity: Identity, partnership_id: UUID, *, limit: int = 50
    ) -> list[Resource]:
        """Resources of the partnership's two schools the caller may read, newest first:
        what an activity of theirs may link for exchanging beforehand."""
        partnership = await self._partnership(identity, partnership_id)
        return list(
            await self.session.scalars(
                select(Resource)
                .where(
                    Resource.owner_school_id.in_(
                        [partnership.inviting_school_id, partnership.invited_school_id]
                    ),
                    readable_resources(identity, self.clock.now()),
                )
                .order_by(Resource.created_at.desc(), Resource.id.desc())
                .limit(limit)
            )
        )

    async def get(self, identity: Identity, activity_id: UUID) -> ActivityView:
        activity, partnership = await self._load(identity, activity_id)
        return (await self._views(identity, partnership, [activity]))[0]

    # --- planning and changing ---------------------------------------------------------

    async def plan(
        self, identity: Identity, partnership_id: UUID, data: ActivityCreate
    ) -> ActivityView:
        partnership = await self._partnership(identity, partnership_id, lock=True)
        require_partnership_takes_activities(partnership)
        require_activity_planner(identity, [str(m) for m in data.responsible_member_ids])
        responsible = await self._own_members(
            identity, data.responsible_member_ids, "responsible_member_ids"
        )
        ends_on = data.ends_on or data.starts_on
        _check_dates(data.starts_on, ends_on)
        activity = Activity(
            partnership_id=partnership.id,
            kind=data.kind,
            title=data.title,
            description=data.description,
            starts_on=data.starts_on,
            ends_on=ends_on,
            host_school_id=_host(partnership, data.host_school_id or identity.school_id),
            goals=_goals(partnership, data.goals),
            responsible_member_ids=responsible,
            cover_arrangements=data.cover_arrangements,
            needs_approval=data.needs_approval,
            approval_obtained=data.approval_obtained,
            resource_ids=await self._require_readable(identity, data.resource_ids),
            tasks=await self._own_tasks(identity, data.tasks),
            status=ActivityStatus.PLANNED,
            planned_by_id=identity.member_id,
        )
        _check_tasks_fit(activity)
        self.session.add(activity)
        return await self._save(
            identity, partnership, activity, ActivityPlanned(actor=identity, activity=activity)
        )

    async def update(
        self, identity: Identity, activity_id: UUID, data: ActivityUpdate
    ) -> ActivityView:
        activity, partnership = await self._to_change(identity, activity_id)
        require_activity_planner(identity, activity.responsible_member_ids)
        _require_planned(activity)
        before = _snapshot(activity)
        was_named = set(activity.responsible_member_ids)
        for name in COPIED_AS_GIVEN:
            if (value := getattr(data, name)) is not UNSET:
                setattr(activity, name, value)
        starts_on = activity.starts_on if data.starts_on is UNSET else data.starts_on
        ends_on = activity.ends_on if data.ends_on is UNSET else data.ends_on
        _check_dates(starts_on, ends_on)
        activity.starts_on, activity.ends_on = starts_on, ends_on
        if data.host_school_id is not UNSET:
            activity.host_school_id = _host(partnership, data.host_school_id)
        if data.goals is not UNSET:
            activity.goals = _goals(partnership, data.goals)
        if data.responsible_member_ids is not UNSET:
            own = await self._own_members(
                identity, data.responsible_member_ids, "responsible_member_ids"
            )
            others = await self._other_schools_ids(identity, activity.responsible_member_ids)
            activity.responsible_member_ids = others + own
        if data.resource_ids is not UNSET:
            readable = await self._readable_ids(identity, activity.resource_ids)
            kept = [r for r in activity.resource_ids if r not in readable]
            activity.resource_ids = kept + await self._require_readable(identity, data.resource_ids)
        if data.tasks is not UNSET:
            others_tasks = [t for t in activity.tasks if t["school_id"] != str(identity.school_id)]
            activity.tasks = others_tasks + await self._own_tasks(identity, data.tasks)
        _check_tasks_fit(activity)
        if _snapshot(activity) == before:
            return (await self._views(identity, partnership, [activity]))[0]
        return await self._save(
            identity,
            partnership,
            activity,
            ActivityChanged(
                actor=identity,
                activity=activity,
                taken_off=frozenset(was_named - set(activity.responsible_member_ids)),
            ),
        )

    async def mark_done(self, identity: Identity, activity_id: UUID) -> ActivityView:
        return await self._move(identity, activity_id, ActivityStatus.DONE)

    async def cancel(self, identity: Identity, activity_id: UUID) -> ActivityView:
        return await self._move(identity, activity_id, ActivityStatus.CANCELLED)

    async def _move(
        self, identity: Identity, activity_id: UUID, target: ActivityStatus
    ) -> ActivityView:
        activity, partnership = await self._to_change(identity, activity_id)
        require_activity_planner(identity, activity.responsible_member_ids)
        _require_planned(activity)
        activity.status = target
        if target is ActivityStatus.DONE:
            activity.done_at = self.clock.now()
        if target is ActivityStatus.CANCELLED:
            return await self._save(
                identity,
                partnership,
                activity,
                ActivityCancelled(actor=identity, activity=activity),
            )
        return await self._save(identity, partnership, activity)

    # --- evaluating --------------------------------------------------------------------

    async def evaluate(
        self, identity: Identity, activity_id: UUID, data: EvaluationIn
    ) -> ActivityView:
        activity, _partnership = await self._to_change(identity, activity_id)
        require_activity_evaluator(identity, activity.responsible_member_ids)
        if activity.status != ActivityStatus.DONE:
            raise Conflict(
                _("Only a done activity can be evaluated: mark it done first."),
                activity_status=activity.status,
            )
        already = await self.session.scalar(
            select(ActivityEvaluation.id).where(
                ActivityEvaluation.activity_id == activity.id,
                ActivityEvaluation.school_id == identity.school_id,
            )
        )
        if already is not None:
            raise _evaluated_twice()
        progress = {clean_line(goal): value for goal, value in data.goal_progress.items()}
        if set(progress) != set(activity.goals) or len(progress) != len(data.goal_progress):
            raise _refused(
                "goal_progress",
                _(
                    "'goal_progress' must give a progress from 1 to 5 for each goal the "
                    "activity served, and for no other."
                ),
            )
        self.session.add(
            ActivityEvaluation(
                activity_id=activity.id,
                school_id=identity.school_id,
                went_well=data.went_well,
                to_change=data.to_change,
                goal_progress=progress,
                continue_=data.continue_,
                evaluated_by_id=identity.member_id,
            )
        )
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the same school's second evaluation at once
            await self.session.rollback()
            raise _evaluated_twice() from exc
        await unit_of_work(self.session, self.clock).commit()
        return await self.get(identity, activity_id)

    # --- the parts ---------------------------------------------------------------------

    async def _to_change(
        self, identity: Identity, activity_id: UUID
    ) -> tuple[Activity, Partnership]:
        """The activity, locked, of a partnership that still takes activities."""
        activity, partnership = await self._load(identity, activity_id, lock=True)
        require_partnership_takes_activities(partnership)
        return activity, partnership

    async def _save(
        self, identity: Identity, partnership: Partnership, activity: Activity, *events: Any
    ) -> ActivityView:
        """Write the change with what happened (`events`), once, and answer the activity as
        the caller sees it."""
        await self.session.flush()
        uow = unit_of_work(self.session, self.clock)
        uow.record(*events)
        await uow.commit()
        return (await self._views(identity, partnership, [activity]))[0]

    async def _partnership(
        self, identity: Identity, partnership_id: UUID, *, lock: bool = False
    ) -> Partnership:
        query = select(Partnership).where(Partnership.id == partnership_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        partnership = await self.session.scalar(query)
        if partnership is None:
            raise NotFound(_("No such partnership among your school's partnerships."))
        require_partnership_visible(identity, partnership)
        return partnership

    async def _load(
        self, identity: Identity, activity_id: UUID, *, lock: bool = False
    ) -> tuple[Activity, Partnership]:
        activity = await self.session.get(Activity, activity_id)
        if activity is None:
            raise NotFound(NO_SUCH_ACTIVITY)
        partnership = await self.session.get(Partnership, activity.partnership_id)
        if partnership is None:  # pragma: no cover - the foreign key cascades
            raise NotFound(NO_SUCH_ACTIVITY)
        policy.require(identity, policy.Action.READ_ACTIVITY, partnership)
        if lock:
            # The row lock (PostgreSQL) makes a concurrent move wait and see the new status.
            activity = await self.session.scalar(
                select(Activity)
                .where(Activity.id == activity_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            assert activity is not None
        return activity, partnership

    async def _own_members(
        self, identity: Identity, member_ids: Iterable[UUID], field: str
    ) -> list[str]:
        wanted = list(dict.fromkeys(member_ids))
        if not wanted:
            return []
        found = set(
            await self.session.scalars(
                select(Member.id).where(
                    Member.id.in_(wanted),
                    Member.school_id == identity.school_id,
                    Member.is_active.is_(True),
                )
            )
        )
        if len(found) != len(wanted):
            raise _refused(
                field,
                _(
                    "Each school names only its own members: '{field}' must list active members "
                    "of your school.",
                    field=field,
                ),
            )
        return [str(member_id) for member_id in wanted]

    async def _other_schools_ids(self, identity: Identity, member_ids: Iterable[str]) -> list[str]:
        """The members named by the partner school: another school's part, kept as it is."""
        ids = [UUID(m) for m in member_ids]
        if not ids:
            return []
        own = set(
            await self.session.scalars(
                select(Member.id).where(Member.id.in_(ids), Member.school_id == identity.school_id)
            )
        )
        return [str(m) for m in ids if m not in own]

    async def _readable_ids(self, identity: Identity, resource_ids: Iterable[Any]) -> list[str]:
        """The ids given, each one a resource the caller's school reads; one it cannot read
        is refused as if it did not exist (`resource_ids` of a stored activity: those of
        them the caller reads)."""
        wanted = [UUID(str(r)) for r in dict.fromkeys(str(r) for r in resource_ids)]
        if not wanted:
            return []
        readable = set(
            await self.session.scalars(
                select(Resource.id).where(
                    Resource.id.in_(wanted), readable_resources(identity, self.clock.now())
                )
            )
        )
        return [str(r) for r in wanted if r in readable]

    async def _require_readable(
        self, identity: Identity, resource_ids: Sequence[UUID]
    ) -> list[str]:
        readable = await self._readable_ids(identity, resource_ids)
        if len(readable) != len(set(resource_ids)):
            raise _refused(
                "resource_ids",
                _(
                    "'resource_ids' may link only resources your school can read; find them "
                    "with the resource search and use their ids."
                ),
            )
        return readable

    async def _own_tasks(self, identity: Identity, tasks: Sequence[TaskIn]) -> list[dict[str, Any]]:
        owners = [t.owner_member_id for t in tasks if t.owner_member_id is not None]
        await self._own_members(identity, owners, "tasks")
        return [
            {
                "title": task.title,
                "school_id": str(identity.school_id),
                "owner_member_id": str(task.owner_member_id) if task.owner_member_id else None,
                "due_on": task.due_on.isoformat() if task.due_on else None,
                "done": task.done,
            }
            for task in tasks
        ]

    async def _views(
        self, identity: Identity, partnership: Partnership, activities: Sequence[Activity]
    ) -> list[ActivityView]:
        today = local_day(self.clock.now())
        member_ids = {UUID(m) for a in activities for m in a.responsible_member_ids} | {
            UUID(t["owner_member_id"]) for a in activities for t in a.tasks if t["owner_member_id"]
        }
        members: dict[UUID, Member] = {}
        if member_ids:
            members = {
                m.id: m
                for m in await self.session.scalars(select(Member).where(Member.id.in_(member_ids)))
            }
        resource_ids = {UUID(r) for a in activities for r in a.resource_ids}
        resources: dict[UUID, Resource] = {}
        if resource_ids:
            resources = {
                r.id: r
                for r in await self.session.scalars(
                    select(Resource).where(
                        Resource.id.in_(resource_ids),
                        readable_resources(identity, self.clock.now()),
                    )
                )
            }
        evaluations: dict[UUID, list[ActivityEvaluation]] = {a.id: [] for a in activities}
        if activities:
            for evaluation in await self.session.scalars(
                select(ActivityEvaluation)
                .where(ActivityEvaluation.activity_id.in_(list(evaluations)))
                .order_by(ActivityEvaluation.created_at, ActivityEvaluation.id)
            ):
                evaluations[evaluation.activity_id].append(evaluation)
        return [
            ActivityView(
                activity=a,
                partnership=partnership,
                members=[members[UUID(m)] for m in a.responsible_member_ids if UUID(m) in members],
                readable_resources=[
                    resources[UUID(r)] for r in a.resource_ids if UUID(r) in resources
                ],
                evaluations=evaluations[a.id],
                today=today,
                people=members,
            )
            for a in activities
        ]


def _evaluated_twice() -> Conflict:
    return Conflict(
        _(
            "Your school has already evaluated this activity; each school evaluates an "
            "activity once."
        )
    )


def _require_planned(activity: Activity) -> None:
    if activity.status != ActivityStatus.PLANNED:
        raise Conflict(ONLY_PLANNED, activity_status=activity.status)


def _check_dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise _refused(
            "ends_on",
            _(
                "'ends_on' cannot be before 'starts_on': an activity ends on or after its first "
                "day."
            ),
        )


def _host(partnership: Partnership, school_id: UUID) -> UUID:
    if school_id not in (partnership.inviting_school_id, partnership.invited_school_id):
        raise _refused(
            "host_school_id", _("'host_school_id' must be one of the partnership's two schools.")
        )
    return school_id


def _goals(partnership: Partnership, goals: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(goals))
    if any(goal not in partnership.goals for goal in chosen):
        raise _refused(
            "goals",
            _(
                "Each goal must be one of the partnership's goals, written as the partnership "
                "states it."
            ),
        )
    return chosen


def _check_tasks_fit(activity: Activity) -> None:
    if activity.tasks and activity.kind != ActivityKind.JOINT_PROJECT:
        raise _refused(
            "tasks",
            _("Only a joint project has tasks: set 'kind' to 'joint_project', or send no tasks."),
        )


def _snapshot(activity: Activity) -> tuple[Any, ...]:
    return (
        activity.kind,
        activity.title,
        activity.description,
        activity.starts_on,
        activity.ends_on,
        activity.host_school_id,
        list(activity.goals),
        list(activity.responsible_member_ids),
        activity.cover_arrangements,
        activity.needs_approval,
        activity.approval_obtained,
        list(activity.resource_ids),
        [dict(t) for t in activity.tasks],
    )


async def tell_the_named_members(uow: UnitOfWork, event: ActivityMoved) -> None:
    """Tell the members named in the activity (and any just taken off it), not the
    member who made the change."""
    identity, activity, kind = event.actor, event.activity, event.kind
    recipients = {UUID(m) for m in [*activity.responsible_member_ids, *event.taken_off]}
    recipients.discard(identity.member_id)
    if not recipients:
        return
    school = await uow.session.get(School, identity.school_id)
    await notify_members(
        uow.session,
        uow.clock,
        member_ids=recipients,
        kind=kind,
        subject_type="activity",
        subject_id=activity.id,
        payload={
            "message": _NOTICES[kind].with_params(
                member=identity.full_name,
                school=school.name if school else "",
                title=activity.title,
            ),
            "activity_id": str(activity.id),
            "partnership_id": str(activity.partnership_id),
            "status": activity.status,
            "starts_on": activity.starts_on.isoformat(),
        },
    )
