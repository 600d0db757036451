"""HTTP routes of questions between partner schools: thin, they parse and call services."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from exchange.accounts.identity import Identity
from exchange.kernel import paging
from exchange.openapi import problems
from exchange.questions.schemas import AnswerCreate, QuestionCreate, QuestionList, QuestionOut
from exchange.questions.service import QuestionService


class PartnershipQuestionController(Controller):
    path = "/api/partnerships/{partnership_id:uuid}/questions"
    tags = ["questions"]
    dependencies = {"questions": Provide(QuestionService, sync_to_thread=False)}

    @post(
        operation_id="askPartnerQuestion",
        responses=problems(409),
        summary="Ask the partner school a question (answered by `respond_by`, rule 9)",
        status_code=HTTP_201_CREATED,
    )
    async def ask(
        self,
        questions: NamedDependency[QuestionService],
        identity: NamedDependency[Identity],
        partnership_id: FromPath[UUID],
        data: JSONBody[QuestionCreate],
    ) -> QuestionOut:
        return await questions.ask(identity, partnership_id, data)


class QuestionController(Controller):
    path = "/api/questions"
    tags = ["questions"]
    dependencies = {"questions": Provide(QuestionService, sync_to_thread=False)}

    @get(
        operation_id="listPartnerQuestions",
        summary="Questions your school was asked (incoming) or asked (outgoing)",
    )
    async def list(
        self,
        questions: NamedDependency[QuestionService],
        identity: NamedDependency[Identity],
        direction: FromQuery[Literal["incoming", "outgoing"]] = "incoming",
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ) -> QuestionList:
        return await questions.list_questions(
            identity, direction=direction, limit=limit, cursor=cursor
        )

    @get(
        "/{question_id:uuid}",
        operation_id="getPartnerQuestion",
        summary="One question with its answers",
    )
    async def get(
        self,
        questions: NamedDependency[QuestionService],
        identity: NamedDependency[Identity],
        question_id: FromPath[UUID],
    ) -> QuestionOut:
        return await questions.get(identity, question_id)

    @post(
        "/{question_id:uuid}/answers",
        operation_id="answerPartnerQuestion",
        responses=problems(409),
        summary="Answer a question your school was asked (or say you cannot help now)",
        status_code=HTTP_201_CREATED,
    )
    async def answer(
        self,
        questions: NamedDependency[QuestionService],
        identity: NamedDependency[Identity],
        question_id: FromPath[UUID],
        data: JSONBody[AnswerCreate],
    ) -> QuestionOut:
        return await questions.answer(identity, question_id, data)
