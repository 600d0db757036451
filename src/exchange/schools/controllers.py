"""HTTP routes of the school directory and profiles: thin, they parse and call the service."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.kernel import paging
from exchange.models import School, SchoolKind, SchoolLocality
from exchange.schools.schemas import (
    ProfileUpdate,
    ReasonOut,
    SchoolOut,
    SchoolPage,
    SelfAssessmentOut,
    SelfAssessmentQuestionOut,
    SuggestionOut,
    SuggestionsOut,
)
from exchange.schools.services import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_SUGGESTIONS,
    OpenPartnership,
    SchoolService,
)


def school_out(
    school: School,
    identity: Identity,
    open_partnerships: dict[UUID, OpenPartnership],
    in_touch: Collection[UUID] = frozenset(),
) -> SchoolOut:
    """A school as the caller may see it: its self-assessment only when the policy lets
    the caller's school read it (rule 6), otherwise None."""
    partnership = open_partnerships.get(school.id)
    answers = school.self_assessment or {}
    return SchoolOut(
        id=school.id,
        name=school.name,
        region=school.region,
        locality=school.locality,
        kind=school.kind,
        languages=list(school.languages or []),
        address=school.address,
        contact_email=school.contact_email,
        contact_phone=school.contact_phone,
        website=school.website,
        strong_subjects=list(school.strong_subjects or []),
        offers=school.offers,
        needs=school.needs,
        self_assessment={str(k): str(v) for k, v in answers.items()}
        if policy.reads_self_assessment(identity, school.id, in_touch)
        else None,
        is_own=school.id == identity.school_id,
        partnership_id=partnership.id if partnership else None,
        partnership_status=partnership.status if partnership else None,
        updated_at=school.updated_at,
    )


# A language code of two or three letters, spaces around it allowed; empty means any.
LANGUAGE_CODE = r"^(\s*[A-Za-z]{2,3}\s*)?$"


class SchoolController(Controller):
    path = "/api/schools"
    tags = ["schools"]
    dependencies = {"schools": Provide(SchoolService, sync_to_thread=False)}

    @get(operation_id="listSchools", summary="The directory of schools, to find a partner")
    async def directory(
        self,
        schools: NamedDependency[SchoolService],
        identity: NamedDependency[Identity],
        q: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None,
        locality: FromQuery[SchoolLocality | None] = None,
        kind: FromQuery[SchoolKind | None] = None,
        language: Annotated[
            str | None, QueryParameter(pattern=LANGUAGE_CODE, description="ky, ru, en, ...")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        cursor: paging.Cursor = None,
    ) -> SchoolPage:
        page = await schools.directory(
            identity,
            q=q,
            region=region,
            locality=locality,
            kind=kind,
            language=language,
            limit=limit,
            cursor=cursor,
        )
        return SchoolPage(
            items=[
                school_out(s, identity, page.open_partnerships, page.in_touch) for s in page.schools
            ],
            next_cursor=page.next_cursor,
            total=page.total,
        )

    @get("/me", operation_id="getOwnSchool", summary="Your school and its profile")
    async def own(
        self, schools: NamedDependency[SchoolService], identity: NamedDependency[Identity]
    ) -> SchoolOut:
        return school_out(await schools.own(identity), identity, {})

    @put(
        "/me/profile",
        operation_id="updateOwnSchoolProfile",
        summary="Set your school's profile: offers, needs, self-assessment (admins)",
    )
    async def update_profile(
        self,
        schools: NamedDependency[SchoolService],
        identity: NamedDependency[Identity],
        data: JSONBody[ProfileUpdate],
    ) -> SchoolOut:
        return school_out(await schools.update_profile(identity, data), identity, {})

    @get(
        "/self-assessment",
        operation_id="getSelfAssessmentQuestions",
        summary="The handbook's self-assessment questions, in Kyrgyz, Russian and English",
    )
    async def self_assessment(self, schools: NamedDependency[SchoolService]) -> SelfAssessmentOut:
        assessment = schools.self_assessment()
        return SelfAssessmentOut(
            version=assessment.version,
            questions=[
                SelfAssessmentQuestionOut(key=q.key, text=dict(q.text))
                for q in assessment.questions
            ],
        )

    @get(
        "/suggestions",
        operation_id="suggestPartners",
        summary="Schools whose offers meet your needs and whose needs meet your offers",
    )
    async def suggestions(
        self,
        schools: NamedDependency[SchoolService],
        identity: NamedDependency[Identity],
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_SUGGESTIONS)] = 10,
    ) -> SuggestionsOut:
        found = await schools.suggestions(identity, limit=limit)
        return SuggestionsOut(
            items=[
                SuggestionOut(
                    school=school_out(found.schools[s.school_id], identity, {}, found.in_touch),
                    score=s.score,
                    two_way=s.two_way,
                    reasons=[
                        ReasonOut(kind=r.kind, words=list(r.words), message=str(r.message))
                        for r in s.reasons
                    ],
                )
                for s in found.ranked
            ],
            next_cursor=None,
            hint=found.hint,
        )

    @get("/{school_id:uuid}", operation_id="getSchool", summary="One school of the directory")
    async def get_school(
        self,
        schools: NamedDependency[SchoolService],
        identity: NamedDependency[Identity],
        school_id: FromPath[UUID],
    ) -> SchoolOut:
        school = await schools.get(identity, school_id)
        return school_out(
            school,
            identity,
            await schools.open_partnerships(identity),
            await schools.schools_in_touch(identity),
        )
