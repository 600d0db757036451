"""The directory of schools, a school's own profile, and partner suggestions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import ColumnElement, String, cast, func, or_, select

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.domain_service import DomainService
from exchange.errors import InvalidInput, NotFound
from exchange.events import SchoolProfileUpdated
from exchange.i18n import _
from exchange.kernel import paging
from exchange.kernel.text import LIKE_ESCAPE, contains_pattern, fold
from exchange.models import Partnership, School, SchoolKind, SchoolLocality
from exchange.partnerships.content import SelfAssessment, load_self_assessment
from exchange.policy import (
    partnerships_visible_to,
    refusals,
    self_assessment_partnerships,
)
from exchange.schools.matching import Profile, Suggestion, suggest
from exchange.schools.schemas import ProfileUpdate
from exchange.unit_of_work import unit_of_work

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
DIRECTORY_ORDER = (paging.SortKey(School.name, str), paging.SortKey(School.id, UUID))
MAX_SUGGESTIONS = 50
# Suggestions are scored in Python over at most this many recently updated profiles.
SUGGESTION_CANDIDATES = 500
_OPEN = ("invited", "active")


@dataclass(frozen=True)
class OpenPartnership:
    id: UUID
    status: str


@dataclass(frozen=True)
class Suggestions:
    ranked: list[Suggestion]
    schools: dict[UUID, School]
    hint: str | None
    # The schools whose self-assessment the caller may read (see `schools_in_touch`).
    in_touch: frozenset[UUID] = frozenset()


@dataclass(frozen=True)
class DirectoryPage:
    schools: list[School]
    next_cursor: str | None
    total: int
    open_partnerships: dict[UUID, OpenPartnership]
    in_touch: frozenset[UUID] = frozenset()


class SchoolService(DomainService):
    async def directory(
        self,
        identity: Identity,
        *,
        q: str | None = None,
        region: str | None = None,
        locality: SchoolLocality | None = None,
        kind: SchoolKind | None = None,
        language: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> DirectoryPage:
        """Every member may browse the directory: it shows schools, never their members.
        A page of the schools that match, by name, and how many match in all."""
        conditions: list[ColumnElement[bool]] = [
            School.search_text.like(contains_pattern(word), escape=LIKE_ESCAPE)
            for word in fold(q).split()
        ]
        if region and fold(region):
            conditions.append(School.region_key == fold(region))
        if locality is not None:
            conditions.append(School.locality == locality)
        if kind is not None:
            conditions.append(School.kind == kind)
        if language:
            code = language.strip().lower()
            if not code.isascii() or not code.isalpha() or not 2 <= len(code) <= 3:
                raise InvalidInput(_("'language' is a language code such as ky, ru or en."))
            # The list is stored as JSON text on SQLite and JSONB on PostgreSQL; both
            # render a member as "ky" (codes are letters only, so nothing to escape).
            conditions.append(cast(School.languages, String).like(f'%"{code}"%'))
        total = await self.session.scalar(
            select(func.count()).select_from(School).where(*conditions)
        )
        page = await paging.fetch(
            self.session,
            select(School).where(*conditions),
            DIRECTORY_ORDER,
            limit=limit,
            cursor=cursor,
            scope=paging.fingerprint("schools", q, region, locality, kind, language),
        )
        return DirectoryPage(
            schools=page.rows,
            next_cursor=page.next_cursor,
            total=int(total or 0),
            open_partnerships=await self.open_partnerships(identity),
            in_touch=await self.schools_in_touch(identity),
        )

    async def get(self, identity: Identity, school_id: UUID) -> School:
        school = await self.session.get(School, school_id)
        if school is None:
            raise NotFound(refusals.NO_SUCH_SCHOOL)
        return school

    async def own(self, identity: Identity) -> School:
        return await self.get(identity, identity.school_id)

    async def open_partnerships(self, identity: Identity) -> dict[UUID, OpenPartnership]:
        """The caller's school's invited and active partnerships, by the other school."""
        rows = await self.session.execute(
            select(
                Partnership.id,
                Partnership.status,
                Partnership.inviting_school_id,
                Partnership.invited_school_id,
            ).where(partnerships_visible_to(identity), Partnership.status.in_(_OPEN))
        )
        found: dict[UUID, OpenPartnership] = {}
        for partnership_id, status, inviting, invited in rows:
            other = invited if inviting == identity.school_id else inviting
            found[other] = OpenPartnership(id=partnership_id, status=status)
        return found

    async def schools_in_touch(self, identity: Identity) -> frozenset[UUID]:
        """The other schools that may read the caller's school's self-assessment, and
        whose self-assessment it may read (rule 6; the policy says which partnerships)."""
        rows = await self.session.execute(
            select(Partnership.inviting_school_id, Partnership.invited_school_id).where(
                self_assessment_partnerships(identity)
            )
        )
        return frozenset(
            invited if inviting == identity.school_id else inviting for inviting, invited in rows
        )

    def self_assessment(self) -> SelfAssessment:
        return load_self_assessment()

    async def update_profile(self, identity: Identity, data: ProfileUpdate) -> School:
        policy.require(identity, policy.Action.EDIT_PROFILE)
        school = await self.own(identity)
        answers = _clean_answers(data.self_assessment, load_self_assessment())
        school.region = _text_or_none(data.region)
        school.locality = SchoolLocality(data.locality) if data.locality else None
        school.kind = SchoolKind(data.kind) if data.kind else None
        school.languages = list(dict.fromkeys(code.lower() for code in data.languages))
        school.address = _text_or_none(data.address)
        school.contact_email = _text_or_none(data.contact_email)
        school.contact_phone = _text_or_none(data.contact_phone)
        school.website = _text_or_none(data.website)
        school.strong_subjects = _clean_list(data.strong_subjects)
        school.offers = _text_or_none(data.offers)
        school.needs = _text_or_none(data.needs)
        school.self_assessment = answers
        uow = unit_of_work(self.session, self.clock)
        uow.record(SchoolProfileUpdated(identity, school, sorted(answers)))
        await uow.commit()
        return school

    async def suggestions(self, identity: Identity, *, limit: int = 10) -> Suggestions:
        """Schools that fit this one both ways, without itself and its current partners."""
        if not 1 <= limit <= MAX_SUGGESTIONS:
            raise InvalidInput(
                _(
                    "'limit' must be between 1 and {MAX_SUGGESTIONS}.",
                    MAX_SUGGESTIONS=MAX_SUGGESTIONS,
                )
            )
        own = await self.own(identity)
        excluded = {own.id, *(await self.open_partnerships(identity))}
        candidates = list(
            await self.session.scalars(
                select(School)
                .where(
                    School.id.not_in(excluded),
                    or_(
                        School.offers.is_not(None),
                        School.needs.is_not(None),
                        cast(School.strong_subjects, String) != "[]",
                    ),
                )
                .order_by(School.updated_at.desc(), School.id)
                .limit(SUGGESTION_CANDIDATES)
            )
        )
        ranked = suggest(_profile(own), (_profile(s) for s in candidates), limit=limit)
        hint = None
        if not (own.offers or own.needs or own.strong_subjects):
            hint = _(
                "Fill in what your school offers and needs in its profile to get partner "
                "suggestions."
            )
        return Suggestions(
            ranked,
            {school.id: school for school in candidates},
            hint,
            await self.schools_in_touch(identity),
        )


def _profile(school: School) -> Profile:
    return Profile(
        school_id=school.id,
        name=school.name,
        offers=school.offers,
        needs=school.needs,
        strong_subjects=list(school.strong_subjects or []),
    )


def _text_or_none(value: str | None) -> str | None:
    return (value or "").strip() or None


def _clean_list(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(" ".join(value.split()) for value in values if value.strip()))


def _clean_answers(answers: dict[str, str], assessment: SelfAssessment) -> dict[str, str]:
    keys = [question.key for question in assessment.questions]
    unknown = sorted(set(answers) - set(keys))
    if unknown:
        raise InvalidInput(
            _(
                "Unknown self-assessment questions: {value}. Use the keys of the "
                "self-assessment's questions.",
                value=", ".join(unknown),
            ),
            unknown_keys=unknown,
        )
    # Kept in the questionnaire's order; empty answers are not answers.
    return {key: answers[key].strip() for key in keys if answers.get(key, "").strip()}
