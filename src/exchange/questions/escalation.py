"""Rule 9 for questions between partners: a question past its answer date is escalated
to the admins of the school that was asked, exactly once, whichever worker sees it
first (claimed as requests are, `exchange.kernel.claims`). The claim records
`QuestionOverdue`, whose notices are committed with it. The periodic job that runs it
is `exchange.escalation`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.events import QuestionOverdue
from exchange.kernel.claims import claim_escalation
from exchange.models import PartnerQuestion
from exchange.questions import waiting
from exchange.unit_of_work import unit_of_work


async def escalate_overdue_questions(session: AsyncSession, clock: Clock) -> int:
    """Escalate every overdue, not yet escalated question; commits. Returns how many
    this call escalated."""
    now = clock.now()
    uow = unit_of_work(session, clock)
    candidates = list(
        await session.scalars(
            select(PartnerQuestion.id)
            .where(waiting.overdue(now), PartnerQuestion.escalated_at.is_(None))
            .order_by(PartnerQuestion.respond_by)
        )
    )
    escalated = 0
    for question_id in candidates:
        if not await claim_escalation(
            session, PartnerQuestion, question_id, waiting.overdue(now), now
        ):
            continue
        question = (
            await session.scalars(
                select(PartnerQuestion)
                .where(PartnerQuestion.id == question_id)
                .execution_options(populate_existing=True)
            )
        ).one()
        uow.record(QuestionOverdue(question=question))
        escalated += 1
    await uow.commit()
    return escalated
