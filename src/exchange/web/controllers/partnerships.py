"""A school's partnerships (`/partnerships`) and a partnership's page (`/partnerships/{id}`):
its goals, its plan (what waits and for whom, activities by status and date), questions
between the partners; an activity's page to change it, mark it done or cancel it and
evaluate it (§4.8); the school year's summary and its documents. The same services and
policy as the API: another school's partnership, or its activity, is 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.activities.calendar_feed import CalendarFeedService
from exchange.activities.plan import PlanService, PlanView
from exchange.activities.plan_controllers import DOCX
from exchange.activities.schemas import ActivityCreate, ActivityUpdate, EvaluationIn
from exchange.activities.services import ActivityService, ActivityView
from exchange.activities.summary_document import summary_docx, summary_filename, summary_text
from exchange.clock import Clock
from exchange.errors import DomainError, NotFound
from exchange.kernel import paging
from exchange.models import ActivityKind, ActivityStatus
from exchange.partnerships.letter import attachment_disposition
from exchange.partnerships.services import PartnershipService
from exchange.questions.schemas import AnswerCreate, QuestionCreate
from exchange.questions.service import QuestionService
from exchange.web.forms import FormErrors, first, form_values, see_other
from exchange.web.language import _
from exchange.web.page import Page

T = TypeVar("T")

KINDS = [kind.value for kind in ActivityKind]
ACTIVITY_FIELDS = (
    "kind",
    "title",
    "description",
    "starts_on",
    "ends_on",
    "host_school_id",
    "goals",
    "responsible_member_ids",
    "cover_arrangements",
    "needs_approval",
    "approval_obtained",
    "resource_ids",
    "tasks",
)
# Empty task rows the form offers below the school's tasks (a page without scripts adds
# more by saving and coming back), and the most it reads.
EMPTY_TASK_ROWS = 3
MAX_TASK_ROWS = 100


def provide_activities(
    db_session: NamedDependency[AsyncSession], clock: NamedDependency[Clock]
) -> ActivityService:
    return ActivityService(db_session, clock)


def _place(errors: FormErrors, exc: DomainError, fields: Sequence[str]) -> None:
    """A service's refusal next to the field it names, or at the top."""
    named = [
        item
        for item in exc.extra.get("errors") or []
        if isinstance(item, dict) and item.get("field") in fields
    ]
    for item in named:
        errors.add(str(item["field"]), str(item.get("message") or exc.detail))
    if not named:
        errors.add(None, str(exc.detail))


async def _attempt(
    errors: FormErrors,
    db_session: AsyncSession,
    action: Callable[[], Awaitable[T]],
    fields: Sequence[str],
    shape_fields: Sequence[str] | None = None,
) -> T | None:
    """What the form asks, done; None when refused. A refusal is rolled back and said next
    to the field it names among `fields` (a value the shape refuses, among `shape_fields`);
    "not found" is not the form's to say: the page answers 404."""
    try:
        return await action()
    except msgspec.ValidationError as exc:
        errors.refuse_shape(exc, fields if shape_fields is None else shape_fields)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        await db_session.rollback()
        _place(errors, exc, fields)
    return None


def _day(values: dict[str, list[str]], name: str, errors: FormErrors, *, required: bool) -> Any:
    raw = first(values, name)
    if not raw:
        if required:
            errors.add(name, _("Give the date as day, month and year."))
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.add(name, _("Give the date as day, month and year."))
        return None


def _activity_fields(values: dict[str, list[str]], errors: FormErrors) -> dict[str, Any]:
    """The activity form as the API's fields; what is missing or malformed goes to
    `errors`."""
    kind = first(values, "kind")
    if kind not in KINDS:
        errors.add("kind", _("Choose what kind of activity it is."))
    title = first(values, "title")
    if not title:
        errors.add("title", _("Give the activity a title."))
    fields: dict[str, Any] = {
        "kind": kind,
        "title": title,
        "description": first(values, "description"),
        "starts_on": _day(values, "starts_on", errors, required=True),
        "ends_on": _day(values, "ends_on", errors, required=False),
        "goals": values.get("goals", []),
        "responsible_member_ids": values.get("responsible_member_ids", []),
        "cover_arrangements": first(values, "cover_arrangements"),
        "needs_approval": first(values, "needs_approval") == "true",
        "approval_obtained": first(values, "approval_obtained") == "true",
    }
    host = first(values, "host_school_id")
    if host:
        fields["host_school_id"] = host
    fields["resource_ids"] = [r for r in values.get("resource_ids", []) if r]
    fields["tasks"] = _task_fields(values, errors)
    return {k: v for k, v in fields.items() if v is not None}


def _task_fields(values: dict[str, list[str]], errors: FormErrors) -> list[dict[str, Any]]:
    """The school's tasks of a joint project, one row each: a row without a task, or
    ticked to be removed, is left out."""
    count = first(values, "task_rows")
    rows = min(int(count), MAX_TASK_ROWS) if count.isdigit() else 0
    tasks = []
    for row in range(rows):
        title = first(values, f"task_title-{row}")
        if not title or first(values, f"task_remove-{row}") == "true":
            continue
        task: dict[str, Any] = {"title": title, "done": first(values, f"task_done-{row}") == "true"}
        owner = first(values, f"task_owner-{row}")
        if owner:
            task["owner_member_id"] = owner
        due = _day(values, f"task_due-{row}", errors, required=False)
        if due is not None:
            task["due_on"] = due
        tasks.append(task)
    return tasks


def _task_values(tasks: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """The school's stored tasks as the form's rows."""
    values: dict[str, list[str]] = {"task_rows": [str(len(tasks))]}
    for row, task in enumerate(tasks):
        values[f"task_title-{row}"] = [task["title"]]
        values[f"task_owner-{row}"] = [task.get("owner_member_id") or ""]
        values[f"task_due-{row}"] = [task.get("due_on") or ""]
        values[f"task_done-{row}"] = ["true"] if task.get("done") else []
    return values


class PartnershipPages(Controller):
    include_in_schema = False
    dependencies = {
        "partnerships": Provide(PartnershipService, sync_to_thread=False),
        "plans": Provide(PlanService, sync_to_thread=False),
        "activities": Provide(provide_activities, sync_to_thread=False),
        "questions": Provide(QuestionService, sync_to_thread=False),
        "feeds": Provide(CalendarFeedService, sync_to_thread=False),
    }

    # --- the list and the partnership's page -------------------------------------------

    @get("/partnerships")
    async def index(
        self, page: NamedDependency[Page], partnerships: NamedDependency[PartnershipService]
    ) -> Any:
        return await self._index(page, partnerships)

    async def _index(
        self, page: Page, partnerships: PartnershipService, *, calendar_url: str | None = None
    ) -> Any:
        identity = page.require_member()
        views, _cursor = await partnerships.list_for(identity, limit=paging.MAX_LIMIT)
        return page.render(
            "partnerships/index.html",
            partnerships=views,
            me=identity,
            calendar_url=calendar_url,
            calendar_off=page.request.query_params.get("calendar") == "off",
        )

    @post("/partnerships/calendar-feed")
    async def turn_on_calendar(
        self,
        page: NamedDependency[Page],
        partnerships: NamedDependency[PartnershipService],
        feeds: NamedDependency[CalendarFeedService],
    ) -> Any:
        """The new address is shown on this answer only (never in a redirect's URL)."""
        identity = page.require_member()
        feed = await feeds.turn_on(identity)
        return await self._index(page, partnerships, calendar_url=feed.url)

    @post("/partnerships/calendar-feed/revoke", status_code=HTTP_303_SEE_OTHER)
    async def revoke_calendar(
        self, page: NamedDependency[Page], feeds: NamedDependency[CalendarFeedService]
    ) -> Any:
        identity = page.require_member()
        await feeds.revoke(identity)
        return see_other("/partnerships?calendar=off#calendar")

    @get("/partnerships/{partnership_id:uuid}")
    async def show(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        questions: NamedDependency[QuestionService],
        activities: NamedDependency[ActivityService],
        partnership_id: FromPath[UUID],
    ) -> Any:
        return await self._show(page, plans, questions, activities, partnership_id)

    async def _show(
        self,
        page: Page,
        plans: PlanService,
        questions: QuestionService,
        activities: ActivityService,
        partnership_id: UUID,
        *,
        errors: FormErrors | None = None,
        values: dict[str, list[str]] | None = None,
        failed: str | None = None,
        status_code: int = 200,
    ) -> Any:
        identity = page.require_member()
        plan = await plans.plan(identity, partnership_id)
        asked = await questions.of_partnership(identity, partnership_id)
        return page.render(
            "partnerships/show.html",
            status_code=status_code,
            plan=plan,
            me=identity,
            names=_names(plan),
            partner_members=_partner_members(plan, identity),
            questions=asked,
            errors=errors or FormErrors(),
            values=values or {},
            failed=failed,
            done=page.request.query_params.get("done"),
        )

    # --- planning an activity ------------------------------------------------------------

    @get("/partnerships/{partnership_id:uuid}/activities/new")
    async def new_activity(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        activities: NamedDependency[ActivityService],
        partnership_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        plan = await plans.plan(identity, partnership_id)
        return await self._activity_form(page, activities, plan, identity, None, FormErrors(), {})

    async def _activity_form(
        self,
        page: Page,
        activities: ActivityService,
        plan: PlanView,
        identity: Identity,
        view: ActivityView | None,
        errors: FormErrors,
        values: dict[str, list[str]],
        *,
        status_code: int = 200,
    ) -> Any:
        if not values and view is not None:
            a = view.activity
            own_tasks = [t for t in a.tasks if t["school_id"] == str(identity.school_id)]
            values = {
                **_task_values(own_tasks),
                "kind": [a.kind],
                "title": [a.title],
                "description": [a.description],
                "starts_on": [a.starts_on.isoformat()],
                "ends_on": [a.ends_on.isoformat()],
                "host_school_id": [str(a.host_school_id)],
                "goals": list(a.goals),
                "responsible_member_ids": [str(m.id) for m in view.members],
                "cover_arrangements": [a.cover_arrangements],
                "needs_approval": ["true"] if a.needs_approval else [],
                "approval_obtained": ["true"] if a.approval_obtained else [],
                "resource_ids": [str(r.id) for r in view.readable_resources],
            }
        elif not values:
            values = {"host_school_id": [str(identity.school_id)]}
            if identity.role != "admin":
                values["responsible_member_ids"] = [str(identity.member_id)]
        filled = first(values, "task_rows")
        filled_rows = min(int(filled), MAX_TASK_ROWS) if filled.isdigit() else 0
        linkable = await activities.linkable_resources(identity, plan.partnership.id)
        linked = list(view.readable_resources) if view else []
        shown = {r.id for r in linkable}
        return page.render(
            "partnerships/activity_form.html",
            status_code=status_code,
            plan=plan,
            view=view,
            kinds=KINDS,
            own_members=await activities.own_members(identity),
            own_school=next(s for s in plan.schools if s.id == identity.school_id),
            partner_tasks=[
                _task_shown(t)
                for t in (view.activity.tasks if view else [])
                if t["school_id"] != str(identity.school_id)
            ],
            names=_names(plan),
            task_rows=range(filled_rows + EMPTY_TASK_ROWS),
            resources=[r for r in linked if r.id not in shown] + linkable,
            errors=errors,
            values=values,
        )

    @post("/partnerships/{partnership_id:uuid}/activities", status_code=HTTP_303_SEE_OTHER)
    async def plan_activity(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        activities: NamedDependency[ActivityService],
        db_session: NamedDependency[AsyncSession],
        partnership_id: FromPath[UUID],
    ) -> Any:
        return await self._save_activity(
            request, page, plans, activities, db_session, partnership_id, None
        )

    async def _save_activity(
        self,
        request: Request[Any, Any, Any],
        page: Page,
        plans: PlanService,
        activities: ActivityService,
        db_session: AsyncSession,
        partnership_id: UUID,
        activity_id: UUID | None,
    ) -> Any:
        """Plan a new activity (`activity_id` None) or change one from the activity form;
        what the form or the service refuses is said next to its field."""
        identity = page.require_member()
        if activity_id is None:
            await plans.plan(identity, partnership_id)  # another school's: 404 first
        else:
            await _plan_and_activity(plans, activities, identity, partnership_id, activity_id)
        values = await form_values(request)
        errors = FormErrors()
        fields = _activity_fields(values, errors)
        if not errors:

            async def save() -> ActivityView:
                if activity_id is None:
                    return await activities.plan(
                        identity, partnership_id, msgspec.convert(fields, ActivityCreate)
                    )
                fields.setdefault("ends_on", fields.get("starts_on"))
                return await activities.update(
                    identity, activity_id, msgspec.convert(fields, ActivityUpdate)
                )

            saved = await _attempt(errors, db_session, save, ACTIVITY_FIELDS)
            if saved is not None:
                return see_other(
                    f"/partnerships/{partnership_id}/activities/{saved.activity.id}"
                    f"?done={'planned' if activity_id is None else 'changed'}"
                )
        # Read again after a rollback.
        changed: ActivityView | None = None
        if activity_id is None:
            plan = await plans.plan(identity, partnership_id)
        else:
            plan, changed = await _plan_and_activity(
                plans, activities, identity, partnership_id, activity_id
            )
        return await self._activity_form(
            page, activities, plan, identity, changed, errors, values, status_code=422
        )

    # --- an activity's page: change, done or cancelled, evaluated ----------------------

    @get("/partnerships/{partnership_id:uuid}/activities/{activity_id:uuid}")
    async def activity(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        activities: NamedDependency[ActivityService],
        partnership_id: FromPath[UUID],
        activity_id: FromPath[UUID],
    ) -> Any:
        return await self._activity_page(page, plans, activities, partnership_id, activity_id)

    async def _activity_page(
        self,
        page: Page,
        plans: PlanService,
        activities: ActivityService,
        partnership_id: UUID,
        activity_id: UUID,
        *,
        errors: FormErrors | None = None,
        values: dict[str, list[str]] | None = None,
        status_code: int = 200,
    ) -> Any:
        identity = page.require_member()
        plan, view = await _plan_and_activity(
            plans, activities, identity, partnership_id, activity_id
        )
        evaluated = any(e.school_id == identity.school_id for e in view.evaluations)
        return page.render(
            "partnerships/activity.html",
            status_code=status_code,
            plan=plan,
            view=view,
            tasks=[_task_shown(t) for t in view.activity.tasks],
            me=identity,
            names=_names(plan),
            can_evaluate=(
                view.activity.status == ActivityStatus.DONE and not evaluated and not plan.is_record
            ),
            can_change=view.activity.status == ActivityStatus.PLANNED and not plan.is_record,
            errors=errors or FormErrors(),
            values=values or {},
            done=page.request.query_params.get("done"),
        )

    @get("/partnerships/{partnership_id:uuid}/activities/{activity_id:uuid}/edit")
    async def edit_activity(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        activities: NamedDependency[ActivityService],
        partnership_id: FromPath[UUID],
        activity_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        plan, view = await _plan_and_activity(
            plans, activities, identity, partnership_id, activity_id
        )
        return await self._activity_form(page, activities, plan, identity, view, FormErrors(), {})

    @post(
        "/partnerships/{partnership_id:uuid}/activities/{activity_id:uuid}",
        status_code=HTTP_303_SEE_OTHER,
    )
    async def change_activity(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        activities: NamedDependency[ActivityService],
        db_session: NamedDependency[AsyncSession],
        partnership_id: FromPath[UUID],
        activity_id: FromPath[UUID],
    ) -> Any:
        return await self._save_activity(
            request, page, plans, activities, db_session, partnership_id, activity_id
        )

    @post(
        "/partnerships/{partnership_id:uuid}/activities/{activity_id:uuid}/done",
        status_code=HTTP_303_SEE_OTHER,
    )
    async def mark_done(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        activities: NamedDependency[ActivityService],
        partnership_id: FromPath[UUID],
        activity_id: FromPath[UUID],
    ) -> Any:
        return await self._move(
            page, plans, activities, partnership_id, activity_id, activities.mark_done, "done"
        )

    @post(
        "/partnerships/{partnership_id:uuid}/activities/{activity_id:uuid}/cancel",
        status_code=HTTP_303_SEE_OTHER,
    )
    async def cancel(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        activities: NamedDependency[ActivityService],
        partnership_id: FromPath[UUID],
        activity_id: FromPath[UUID],
    ) -> Any:
        return await self._move(
            page, plans, activities, partnership_id, activity_id, activities.cancel, "cancelled"
        )

    async def _move(
        self,
        page: Page,
        plans: PlanService,
        activities: ActivityService,
        partnership_id: UUID,
        activity_id: UUID,
        move: Callable[[Identity, UUID], Any],
        done: str,
    ) -> Any:
        identity = page.require_member()
        await _plan_and_activity(plans, activities, identity, partnership_id, activity_id)
        await move(identity, activity_id)
        return see_other(f"/partnerships/{partnership_id}/activities/{activity_id}?done={done}")

    @post(
        "/partnerships/{partnership_id:uuid}/activities/{activity_id:uuid}/evaluations",
        status_code=HTTP_303_SEE_OTHER,
    )
    async def evaluate(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        activities: NamedDependency[ActivityService],
        db_session: NamedDependency[AsyncSession],
        partnership_id: FromPath[UUID],
        activity_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        _plan, view = await _plan_and_activity(
            plans, activities, identity, partnership_id, activity_id
        )
        values = await form_values(request)
        errors = FormErrors()
        went_well, to_change = first(values, "went_well"), first(values, "to_change")
        if not went_well:
            errors.add("went_well", _("Say what went well."))
        if not to_change:
            errors.add("to_change", _("Say what to change next time, or that nothing needs to."))
        progress: dict[str, int] = {}
        for number, goal in enumerate(view.activity.goals):
            mark = first(values, f"goal_progress-{number}")
            if mark not in {"1", "2", "3", "4", "5"}:
                errors.add(f"goal_progress-{number}", _("Choose a progress from 1 to 5."))
            else:
                progress[goal] = int(mark)
        go_on = first(values, "continue")
        if go_on not in {"true", "false"}:
            errors.add("continue", _("Say whether to go on with this kind of activity."))
        if not errors:
            evaluation = {
                "went_well": went_well,
                "to_change": to_change,
                "goal_progress": progress,
                "continue": go_on == "true",
            }
            evaluated = await _attempt(
                errors,
                db_session,
                lambda: activities.evaluate(
                    identity, activity_id, msgspec.convert(evaluation, EvaluationIn)
                ),
                ("went_well", "to_change", "continue"),
                shape_fields=("went_well", "to_change"),
            )
            if evaluated is not None:
                return see_other(
                    f"/partnerships/{partnership_id}/activities/{activity_id}?done=evaluated"
                )
        return await self._activity_page(
            page,
            plans,
            activities,
            partnership_id,
            activity_id,
            errors=errors,
            values=values,
            status_code=422,
        )

    # --- questions between partners -------------------------------------------------------

    @post("/partnerships/{partnership_id:uuid}/questions", status_code=HTTP_303_SEE_OTHER)
    async def ask(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        questions: NamedDependency[QuestionService],
        activities: NamedDependency[ActivityService],
        db_session: NamedDependency[AsyncSession],
        partnership_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        await plans.plan(identity, partnership_id)  # another school's partnership: 404 first
        values = await form_values(request)
        errors = FormErrors()
        question = first(values, "question")
        if not question:
            errors.add("question", _("Write the question you want to ask."))
        if not errors:
            asked = {
                "question": question,
                "addressed_to_member_id": first(values, "addressed_to_member_id") or None,
            }
            sent = await _attempt(
                errors,
                db_session,
                lambda: questions.ask(
                    identity, partnership_id, msgspec.convert(asked, QuestionCreate)
                ),
                ("question", "addressed_to_member_id"),
            )
            if sent is not None:
                return see_other(f"/partnerships/{partnership_id}?done=asked#questions")
        return await self._show(
            page,
            plans,
            questions,
            activities,
            partnership_id,
            errors=errors,
            values=values,
            failed="ask",
            status_code=422,
        )

    @post(
        "/partnerships/{partnership_id:uuid}/questions/{question_id:uuid}/answers",
        status_code=HTTP_303_SEE_OTHER,
    )
    async def answer(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        questions: NamedDependency[QuestionService],
        activities: NamedDependency[ActivityService],
        db_session: NamedDependency[AsyncSession],
        partnership_id: FromPath[UUID],
        question_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        asked = await questions.get(identity, question_id)
        if asked.partnership_id != partnership_id:
            raise NotFound(_("No such question between your school and this partner."))
        values = await form_values(request)
        errors = FormErrors()
        suffix = f"-{question_id}"
        text, cannot_help = first(values, "answer"), first(values, "cannot_help") == "true"
        if not text and not cannot_help:
            errors.add(
                "answer" + suffix,
                _("Write your answer, or say that your school cannot help now."),
            )
        if not errors:
            try:
                data = msgspec.convert({"answer": text, "cannot_help": cannot_help}, AnswerCreate)
                await questions.answer(identity, question_id, data)
            except msgspec.ValidationError:
                errors.add("answer" + suffix, _("The answer is too long: shorten it."))
            except DomainError as exc:
                if exc.status_code == 404:
                    raise
                await db_session.rollback()
                errors.add("answer" + suffix, str(exc.detail))
            else:
                return see_other(
                    f"/partnerships/{partnership_id}?done=answered#question-{question_id}"
                )
        return await self._show(
            page,
            plans,
            questions,
            activities,
            partnership_id,
            errors=errors,
            values=values,
            failed=str(question_id),
            status_code=422,
        )

    # --- the school year's summary ------------------------------------------------------

    @get("/partnerships/{partnership_id:uuid}/summary")
    async def summary(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        partnership_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        plan = await plans.plan(identity, partnership_id)
        summary = await plans.summary(identity, partnership_id, _school_year(page))
        return page.render(
            "partnerships/summary.html", plan=plan, summary=summary, names=_names(plan)
        )

    @get("/partnerships/{partnership_id:uuid}/summary.docx", media_type=DOCX)
    async def summary_docx(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        partnership_id: FromPath[UUID],
    ) -> Response[bytes]:
        identity = page.require_member()
        summary = await plans.summary(identity, partnership_id, _school_year(page))
        return Response(
            content=summary_docx(summary),
            media_type=DOCX,
            headers={
                "Content-Disposition": attachment_disposition(
                    summary_filename(summary, "docx"),
                    f"partnership-summary-{summary.school_year}.docx",
                ),
                "Cache-Control": "private, no-store",
            },
        )

    @get("/partnerships/{partnership_id:uuid}/summary.txt", media_type=MediaType.TEXT)
    async def summary_txt(
        self,
        page: NamedDependency[Page],
        plans: NamedDependency[PlanService],
        partnership_id: FromPath[UUID],
    ) -> Response[str]:
        identity = page.require_member()
        summary = await plans.summary(identity, partnership_id, _school_year(page))
        return Response(
            content=summary_text(summary),
            media_type=MediaType.TEXT,
            headers={
                "Content-Disposition": attachment_disposition(
                    summary_filename(summary, "txt"),
                    f"partnership-summary-{summary.school_year}.txt",
                ),
                "Cache-Control": "private, no-store",
            },
        )


async def _plan_and_activity(
    plans: PlanService,
    activities: ActivityService,
    identity: Identity,
    partnership_id: UUID,
    activity_id: UUID,
) -> tuple[PlanView, ActivityView]:
    plan = await plans.plan(identity, partnership_id)
    view = next((v for v in plan.activities if v.activity.id == activity_id), None)
    if view is None:
        await activities.get(identity, activity_id)  # the API's refusal, in its words
        raise NotFound(_("No such activity in this partnership."))
    return plan, view


def _school_year(page: Page) -> int | None:
    raw = page.request.query_params.get("school_year") or ""
    return int(raw) if raw.isdigit() and len(raw) == 4 else None


def _names(plan: PlanView) -> dict[UUID | str, str]:
    """School and member names the plan's pages show, by id (and by its text, as a
    joint project's tasks keep it)."""
    names: dict[UUID | str, str] = {}
    for school in plan.schools:
        names[school.id] = names[str(school.id)] = school.name
    for view in plan.activities:
        for member in view.people.values():
            names[member.id] = names[str(member.id)] = member.full_name
    return names


def _task_shown(task: dict[str, Any]) -> dict[str, Any]:
    """A stored task as the pages show it: its due day as a date."""
    due = task.get("due_on")
    return {**task, "due_on": date.fromisoformat(due) if due else None}


def _partner_members(plan: PlanView, identity: Identity) -> list[tuple[UUID, str]]:
    """Members of the partner school a question may be addressed to: those the plan
    already names (its activities' responsible members)."""
    found: dict[UUID, str] = {}
    for view in plan.activities:
        for member in view.members:
            if member.school_id != identity.school_id:
                found[member.id] = member.full_name
    return sorted(found.items(), key=lambda item: item[1])
