"""Rule 9's periodic job: every request and every question between partners that passed
its answer date is escalated once, to the admins of the school that is to answer.

It runs as a periodic background job (`ESCALATION`, every `ESCALATION_EVERY`, by the
app's worker or `exchange jobs run`), and `exchange requests escalate` runs it at once.
Reading the lists or the dashboard never escalates: they show what is overdue from the
answer dates. It sits above both domains it escalates for (`exchange.reuse.escalation`,
`exchange.questions.escalation`), so neither imports the other.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.jobs.worker import JobContext, JobKind
from exchange.questions.escalation import escalate_overdue_questions
from exchange.reuse.escalation import escalate_overdue_requests

ESCALATION_EVERY = timedelta(minutes=15)


async def escalate_overdue(session: AsyncSession, clock: Clock) -> int:
    """Escalate every overdue, not yet escalated request and question; commits. Returns
    how many this call escalated."""
    return await escalate_overdue_requests(session, clock) + await escalate_overdue_questions(
        session, clock
    )


async def _escalate_job(context: JobContext, _payload: dict[str, Any]) -> None:
    async with context.session_factory() as session:
        await escalate_overdue(session, context.clock)


ESCALATION = JobKind(_escalate_job, every=ESCALATION_EVERY)
