"""Who is told about a question between partners, and what they read.

A new question reaches the member it is addressed to, or the partner school's admins
when it names nobody; an answer reaches the member who asked (their school's admins
when that member is gone); an overdue question reaches the answering school's admins,
once (see `exchange.escalation`). Each notice goes to the inbox and, when SMTP is
configured, by e-mail.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.events import QuestionAnswered, QuestionAsked, QuestionOverdue
from exchange.i18n import LazyText, lazy_gettext
from exchange.models import Member, PartnerQuestion
from exchange.notifications.notices import Notice, deliver, school_admin_ids, school_name
from exchange.unit_of_work import UnitOfWork


async def _tell(
    uow: UnitOfWork,
    member_ids: set[UUID],
    question: PartnerQuestion,
    kind: str,
    *,
    subject_line: LazyText,
    body: LazyText | list[LazyText],
    **more: Any,
) -> None:
    """Deliver a notice about a question; its payload names the question, with `more`."""
    await deliver(
        uow.session,
        uow.clock,
        member_ids,
        Notice(
            kind=f"question.{kind}",
            subject_type="question",
            subject_id=question.id,
            subject_line=subject_line,
            body=body,
            payload={
                "question_id": str(question.id),
                "partnership_id": str(question.partnership_id),
                "respond_by": str(question.respond_by),
                **more,
            },
        ),
    )


async def _member_or_admins(
    session: AsyncSession, member_id: UUID | None, school_id: UUID
) -> set[UUID]:
    """The member named, while their account is active; else their school's admins."""
    if member_id is not None and await session.scalar(
        select(Member.id).where(Member.id == member_id, Member.is_active.is_(True))
    ):
        return {member_id}
    return await school_admin_ids(session, school_id)


async def question_asked(uow: UnitOfWork, event: QuestionAsked) -> None:
    session, question = uow.session, event.question
    school = await school_name(session, question.asking_school_id)
    recipients = await _member_or_admins(
        session, question.addressed_to_id, question.answering_school_id
    )
    await _tell(
        uow,
        recipients,
        question,
        "asked",
        subject_line=lazy_gettext("{school} asks your school a question", school=school),
        body=[
            lazy_gettext(
                "{school} asks your school: {question}",
                school=school,
                question=question.question,
            ),
            lazy_gettext(
                "Please answer by {date}, even if only to say that you cannot help now "
                "(the code of conduct, rule 9: every request is answered).",
                date=question.respond_by,
            ),
        ],
        asking_school=school,
    )


async def question_answered(uow: UnitOfWork, event: QuestionAnswered) -> None:
    session, question, answer = uow.session, event.question, event.answer
    school = await school_name(session, question.answering_school_id)
    recipients = await _member_or_admins(session, question.asked_by_id, question.asking_school_id)
    if answer.cannot_help:
        first = lazy_gettext(
            "{school} answered your school's question: they cannot help now.", school=school
        )
    else:
        first = lazy_gettext("{school} answered your school's question.", school=school)
    body = [first, lazy_gettext("Your question: {question}", question=question.question)]
    if answer.answer:
        body.append(lazy_gettext("Their answer: {answer}", answer=answer.answer))
    await _tell(
        uow,
        recipients,
        question,
        "answered",
        subject_line=lazy_gettext("{school} answered your question", school=school),
        body=body,
        answering_school=school,
        cannot_help=answer.cannot_help,
    )


async def question_overdue(uow: UnitOfWork, event: QuestionOverdue) -> None:
    """Rule 9: the asked school's admins are told a question waits past its date."""
    session, question = uow.session, event.question
    school = await school_name(session, question.asking_school_id)
    await _tell(
        uow,
        await school_admin_ids(session, question.answering_school_id),
        question,
        "overdue",
        subject_line=lazy_gettext("Overdue: the question of {school}", school=school),
        body=[
            lazy_gettext(
                "On {asked} {school} asked your school a question and has had no answer; "
                "the answer was due by {due}. The code of conduct (rule 9) asks that every "
                "request is answered, even when the answer is that you cannot help now.",
                asked=question.created_at,
                school=school,
                due=question.respond_by,
            ),
            lazy_gettext("The question: {question}", question=question.question),
        ],
        asking_school=school,
    )
