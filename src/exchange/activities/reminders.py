"""The evaluation reminder (§4.8, §6 step 8): a done activity that still waits for an
evaluation is reminded to its responsible members once, `EVALUATION_REMINDER_AFTER` after
it was marked done.

It runs as a periodic background job (`EVALUATION_REMINDERS`, every `REMINDERS_EVERY`,
by the app's worker or `exchange jobs run`). Each activity is claimed with a conditional
UPDATE (`evaluation_reminded_at IS NULL`), which the database lets only one transaction
win, so however many workers run, each member is reminded once; the claim records
`EvaluationReminderDue`, whose notices (`exchange.consequences`) are committed with it.
Only the schools that have not evaluated yet are reminded: their responsible members, or
their admins when the school named nobody.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.events import EvaluationReminderDue
from exchange.i18n import lazy_gettext
from exchange.jobs.worker import JobContext, JobKind
from exchange.models import (
    Activity,
    ActivityEvaluation,
    ActivityStatus,
    Member,
    Partnership,
    PartnershipStatus,
)
from exchange.notifications.notices import Notice, deliver, school_admin_ids
from exchange.unit_of_work import UnitOfWork, unit_of_work

EVALUATION_REMINDER_AFTER = timedelta(days=7)
REMINDERS_EVERY = timedelta(minutes=15)


def waiting_for_evaluation() -> ColumnElement[bool]:
    """SQL condition on Activity: done, with fewer than the two schools' evaluations."""
    evaluations = (
        select(func.count(ActivityEvaluation.id))
        .where(ActivityEvaluation.activity_id == Activity.id)
        .scalar_subquery()
    )
    return and_(Activity.status == ActivityStatus.DONE, evaluations < 2)


def _due(clock: Clock) -> ColumnElement[bool]:
    return and_(
        waiting_for_evaluation(),
        Activity.done_at <= clock.now() - EVALUATION_REMINDER_AFTER,
        Activity.evaluation_reminded_at.is_(None),
        Activity.partnership_id.in_(
            select(Partnership.id).where(Partnership.status == PartnershipStatus.ACTIVE)
        ),
    )


async def remind_evaluations(session: AsyncSession, clock: Clock) -> int:
    """Remind every activity due for it and not yet reminded; commits. Returns how many
    activities this call reminded."""
    uow = unit_of_work(session, clock)
    candidates = list(
        await session.scalars(select(Activity.id).where(_due(clock)).order_by(Activity.done_at))
    )
    reminded = 0
    for activity_id in candidates:
        claimed = await session.execute(
            update(Activity)
            .where(Activity.id == activity_id, _due(clock))
            .values(evaluation_reminded_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another worker claimed it, or it was evaluated meanwhile
        activity = (
            await session.scalars(
                select(Activity)
                .where(Activity.id == activity_id)
                .execution_options(populate_existing=True)
            )
        ).one()
        partnership = await session.get(Partnership, activity.partnership_id)
        assert partnership is not None  # the foreign key cascades
        evaluated = set(
            await session.scalars(
                select(ActivityEvaluation.school_id).where(
                    ActivityEvaluation.activity_id == activity.id
                )
            )
        )
        uow.record(
            EvaluationReminderDue(
                activity=activity,
                waiting_school_ids=tuple(
                    s
                    for s in (partnership.inviting_school_id, partnership.invited_school_id)
                    if s not in evaluated
                ),
            )
        )
        reminded += 1
    await uow.commit()  # also ends the read transaction when nothing was due
    return reminded


async def remind_the_responsible(uow: UnitOfWork, event: EvaluationReminderDue) -> None:
    """Each school still to evaluate: its responsible members, else its admins."""
    session, activity = uow.session, event.activity
    named = [UUID(m) for m in activity.responsible_member_ids]
    recipients: set[UUID] = set()
    for school_id in event.waiting_school_ids:
        own = set(
            await session.scalars(
                select(Member.id).where(
                    Member.id.in_(named),
                    Member.school_id == school_id,
                    Member.is_active.is_(True),
                )
            )
        )
        recipients |= own or await school_admin_ids(session, school_id)
    await deliver(
        session,
        uow.clock,
        recipients,
        Notice(
            kind="activity.evaluation_due",
            subject_type="activity",
            subject_id=activity.id,
            subject_line=lazy_gettext("Evaluate '{title}'", title=activity.title),
            body=[
                lazy_gettext(
                    "'{title}' was marked done on {day} and your school has not evaluated it yet.",
                    title=activity.title,
                    day=activity.done_at or activity.ends_on,
                ),
                lazy_gettext(
                    "Say what went well, what to change, how far it moved each goal it served "
                    "(1 to 5) and whether to go on: the partnership's plan learns from it."
                ),
            ],
            payload={
                "activity_id": str(activity.id),
                "partnership_id": str(activity.partnership_id),
                "title": activity.title,
            },
        ),
    )


async def _remind_job(context: JobContext, _payload: dict[str, Any]) -> None:
    async with context.session_factory() as session:
        await remind_evaluations(session, context.clock)


EVALUATION_REMINDERS = JobKind(_remind_job, every=REMINDERS_EVERY)
