"""Questions between partner schools: asking, answering and reading them (rule 9).

Every access decision is the policy's (`exchange.policy`, "questions between
partners"); overdue questions are escalated by the same periodic job as reuse requests
(`exchange.escalation`); reads show what is overdue from the dates and write
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from uuid import UUID

from sqlalchemy import func, select

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.clock import days_later
from exchange.domain_service import DomainService
from exchange.errors import InvalidInput, NotFound
from exchange.events import QuestionAnswered, QuestionAsked
from exchange.i18n import _
from exchange.kernel import paging
from exchange.kernel.refs import Names
from exchange.models import (
    Member,
    PartnerQuestion,
    Partnership,
    PartnershipStatus,
    QuestionAnswer,
    Resource,
)
from exchange.policy import refusals
from exchange.questions import waiting
from exchange.questions.schemas import (
    AnswerCreate,
    AnswerOut,
    LinkedResource,
    QuestionCreate,
    QuestionList,
    QuestionOut,
)
from exchange.unit_of_work import unit_of_work

Direction = Literal["incoming", "outgoing"]
# Newest first.
QUESTION_ORDER = (
    paging.SortKey(PartnerQuestion.created_at, datetime, descending=True),
    paging.SortKey(PartnerQuestion.id, UUID, descending=True),
)


class QuestionService(DomainService):
    # --- asking ------------------------------------------------------------------------

    async def ask(
        self, identity: Identity, partnership_id: UUID, data: QuestionCreate
    ) -> QuestionOut:
        now = self.clock.now()
        partnership = await self.session.get(Partnership, partnership_id)
        if partnership is None:
            raise NotFound(refusals.NO_SUCH_PARTNERSHIP)
        answering_school_id = policy.require_can_ask(identity, partnership)
        if data.addressed_to_member_id is not None:
            addressed = await self.session.scalar(
                select(Member.id).where(
                    Member.id == data.addressed_to_member_id,
                    Member.school_id == answering_school_id,
                    Member.is_active.is_(True),
                )
            )
            if addressed is None:
                raise InvalidInput(
                    _(
                        "`addressed_to_member_id` is not a member of your partner school. "
                        "Choose one of their members, or leave it out to ask the school."
                    )
                )
        question = PartnerQuestion(
            partnership_id=partnership.id,
            asking_school_id=identity.school_id,
            answering_school_id=answering_school_id,
            asked_by_id=identity.member_id,
            addressed_to_id=data.addressed_to_member_id,
            question=data.question,
            respond_by=days_later(now, self.settings.request_response_days),
            created_at=now,
            updated_at=now,
        )
        self.session.add(question)
        await self.session.flush()
        unit_of_work(self.session, self.clock).record(QuestionAsked(question=question))
        await unit_of_work(self.session, self.clock).commit()
        return (await self._views(identity, [(question, partnership)], now))[0]

    # --- answering ---------------------------------------------------------------------

    async def answer(
        self, identity: Identity, question_id: UUID, data: AnswerCreate
    ) -> QuestionOut:
        now = self.clock.now()
        question, partnership = await self._visible(identity, question_id)
        policy.require_can_answer(identity, question, partnership)
        text = data.answer.strip()
        if not text and not data.resource_ids and not data.cannot_help:
            raise InvalidInput(
                _(
                    "Write an answer, link a resource, or say that your school cannot help now "
                    "(`cannot_help`): an empty answer is no answer (the code of conduct, rule 9)."
                )
            )
        linked = list(dict.fromkeys(data.resource_ids))
        for resource_id in linked:
            # Readable by both schools under the usual read rule; one message for every
            # other case, so that no school learns what exists beyond what it can read.
            if not (
                await policy.school_can_read(self.session, identity.school_id, resource_id, now)
                and await policy.school_can_read(
                    self.session, question.asking_school_id, resource_id, now
                )
            ):
                raise InvalidInput(
                    _(
                        "The resource {id} is not one you can share with them: link only "
                        "resources your partner school can read.",
                        id=str(resource_id),
                    )
                )
        answer = QuestionAnswer(
            question_id=question.id,
            answered_by_id=identity.member_id,
            answer=text,
            cannot_help=data.cannot_help,
            resource_ids=[str(r) for r in linked],
            created_at=now,
            updated_at=now,
        )
        self.session.add(answer)
        if question.answered_at is None:
            question.answered_at = now
        question.updated_at = now
        await self.session.flush()
        unit_of_work(self.session, self.clock).record(
            QuestionAnswered(question=question, answer=answer)
        )
        await unit_of_work(self.session, self.clock).commit()
        return (await self._views(identity, [(question, partnership)], now))[0]

    # --- reading -----------------------------------------------------------------------

    async def list_questions(
        self,
        identity: Identity,
        *,
        direction: Direction,
        limit: int = paging.DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> QuestionList:
        now = self.clock.now()
        side = (
            PartnerQuestion.answering_school_id == identity.school_id
            if direction == "incoming"
            else PartnerQuestion.asking_school_id == identity.school_id
        )
        page = await paging.fetch(
            self.session,
            select(PartnerQuestion, Partnership)
            .join(Partnership, Partnership.id == PartnerQuestion.partnership_id)
            .where(side, policy.questions_visible_to(identity)),
            QUESTION_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("questions", direction),
        )
        overdue = await self.session.scalar(
            select(func.count())
            .select_from(PartnerQuestion)
            .where(side, policy.questions_visible_to(identity), waiting.overdue(now))
        )
        items = await self._views(identity, [(q, p) for q, p in page.rows], now)
        return QuestionList(
            items=items,
            next_cursor=page.next_cursor,
            direction=direction,
            overdue=int(overdue or 0),
        )

    async def of_partnership(self, identity: Identity, partnership_id: UUID) -> list[QuestionOut]:
        """Every question between the two schools of a partnership, newest first (the
        partnership's page)."""
        rows = await self.session.execute(
            select(PartnerQuestion, Partnership)
            .join(Partnership, Partnership.id == PartnerQuestion.partnership_id)
            .where(
                PartnerQuestion.partnership_id == partnership_id,
                policy.questions_visible_to(identity),
            )
            .order_by(PartnerQuestion.created_at.desc(), PartnerQuestion.id.desc())
        )
        return await self._views(identity, [(q, p) for q, p in rows], self.clock.now())

    async def get(self, identity: Identity, question_id: UUID) -> QuestionOut:
        question, partnership = await self._visible(identity, question_id)
        return (await self._views(identity, [(question, partnership)], self.clock.now()))[0]

    async def _visible(
        self, identity: Identity, question_id: UUID
    ) -> tuple[PartnerQuestion, Partnership]:
        row = (
            await self.session.execute(
                select(PartnerQuestion, Partnership)
                .join(Partnership, Partnership.id == PartnerQuestion.partnership_id)
                .where(PartnerQuestion.id == question_id)
            )
        ).first()
        policy.require_question_visible(identity, row[0] if row else None)
        assert row is not None
        return row[0], row[1]

    async def _views(
        self,
        identity: Identity,
        rows: Sequence[tuple[PartnerQuestion, Partnership]],
        now: datetime,
    ) -> list[QuestionOut]:
        ids = [q.id for q, _p in rows]
        answers: dict[UUID, list[QuestionAnswer]] = {i: [] for i in ids}
        if ids:
            for answer in await self.session.scalars(
                select(QuestionAnswer)
                .where(QuestionAnswer.question_id.in_(ids))
                .order_by(QuestionAnswer.created_at, QuestionAnswer.id)
            ):
                answers[answer.question_id].append(answer)
        every_answer = [a for listed in answers.values() for a in listed]
        resource_ids = {UUID(r) for a in every_answer for r in a.resource_ids}
        titles: dict[UUID, str] = {}
        if resource_ids:
            found = await self.session.execute(
                select(Resource.id, Resource.title).where(
                    Resource.id.in_(resource_ids), policy.readable_by_caller()
                ),
                policy.reading_parameters(identity, now),
            )
            titles = {row.id: row.title for row in found}
        names = await Names.load(
            self.session,
            schools=[s for q, _p in rows for s in (q.asking_school_id, q.answering_school_id)],
            members=[m for q, _p in rows for m in (q.asked_by_id, q.addressed_to_id)]
            + [a.answered_by_id for a in every_answer],
        )
        views = []
        for question, partnership in rows:
            status: Literal["open", "answered", "closed"]
            if question.answered_at is not None:
                status = "answered"
            elif partnership.status == PartnershipStatus.ACTIVE:
                status = "open"
            else:
                status = "closed"
            views.append(
                QuestionOut(
                    id=question.id,
                    partnership_id=question.partnership_id,
                    asking_school=names.school(question.asking_school_id),
                    answering_school=names.school(question.answering_school_id),
                    asked_by=names.member(question.asked_by_id),
                    addressed_to=names.member(question.addressed_to_id),
                    question=question.question,
                    status=status,
                    created_at=question.created_at,
                    respond_by=question.respond_by,
                    overdue=status == "open" and question.respond_by < now,
                    escalated_at=question.escalated_at,
                    answered_at=question.answered_at,
                    answers=[
                        AnswerOut(
                            id=a.id,
                            answered_by=names.member(a.answered_by_id),
                            answer=a.answer,
                            cannot_help=a.cannot_help,
                            resources=[
                                LinkedResource(
                                    id=UUID(r),
                                    title=titles.get(UUID(r)),
                                    readable=UUID(r) in titles,
                                )
                                for r in a.resource_ids
                            ],
                            created_at=a.created_at,
                        )
                        for a in answers[question.id]
                    ],
                )
            )
        return views
