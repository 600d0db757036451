"""Finding and inviting partners (`/partners`): the directory of schools with its search,
filters and the API's cursor, suggestions with their reasons, a school's profile (its
self-assessment where the policy lets the reader see it), and for admins an invitation
with its letter previewed before it is sent, downloadable as text, DOCX or ODT, accepted
under the code of conduct with an explicit "we agree", declined or withdrawn with a
reason, and reminded once when it is overdue (rule 9). The same services and policy as
the API: another school's invitation is 404."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.directory.controllers import entry_out
from exchange.directory.services import DirectoryService
from exchange.errors import DomainError, InvalidInput, NotFound
from exchange.files.media_types import DOCX, ODT
from exchange.models import PartnershipStatus, SchoolKind, SchoolLocality
from exchange.partnerships.conduct import CodeOfConductService
from exchange.partnerships.content import CHARACTERISTICS
from exchange.partnerships.letter import (
    attachment_disposition,
    letter_docx,
    letter_filename,
    letter_odt,
)
from exchange.partnerships.schemas import PartnershipInvite
from exchange.partnerships.services import PartnershipService, PartnershipView
from exchange.policy import refusals
from exchange.schools.schemas import ProfileUpdate
from exchange.schools.services import SchoolService
from exchange.web.forms import FormErrors, first, form_values, see_other
from exchange.web.language import _
from exchange.web.page import Page

FILTERS = ("q", "region", "locality", "kind", "language")
LOCALITIES = [locality.value for locality in SchoolLocality]
SCHOOL_KINDS = [kind.value for kind in SchoolKind]
LETTER_LANGUAGES = ("ky", "ru", "en")
INVITE_FIELDS = ("goals", "characteristics", "language")
SUGGESTIONS_SHOWN = 5
UNCLAIMED_SHOWN = 5
TEACHING_LANGUAGES = ("ky", "ru", "en", "uz")
# The profile's one-line and free-text fields, by the API's names.
PROFILE_LINES = (
    "region",
    "locality",
    "kind",
    "address",
    "contact_email",
    "contact_phone",
    "website",
    "offers",
    "needs",
)
MAX_REASON = 2000  # the API's `note`


def _filters(page: Page) -> dict[str, str]:
    """The directory's filters as the reader chose them; a value the directory does not
    know is dropped rather than refused."""
    query = page.request.query_params
    chosen = {name: (query.get(name) or "").strip() for name in FILTERS}
    if chosen["locality"] not in LOCALITIES:
        chosen["locality"] = ""
    if chosen["kind"] not in SCHOOL_KINDS:
        chosen["kind"] = ""
    return chosen


def _invite_values(values: dict[str, list[str]], errors: FormErrors) -> dict[str, Any]:
    """The invitation form as the API's fields: goals one per line."""
    goals = [
        line.strip()
        for text in values.get("goals", [])
        for line in text.splitlines()
        if line.strip()
    ]
    if not goals:
        errors.add(
            "goals",
            _("Write at least one concrete goal, one per line, saying what the schools will do."),
        )
    language = first(values, "language")
    if language not in LETTER_LANGUAGES:
        errors.add("language", _("Choose the language of the letter."))
    return {
        "goals": goals,
        "characteristics": [c for c in values.get("characteristics", []) if c],
        "language": language,
    }


def _other_school(view: PartnershipView) -> Any:
    p = view.partnership
    return view.schools[
        p.invited_school_id
        if view.side is policy.PartnershipSide.INVITING
        else p.inviting_school_id
    ]


@dataclass(frozen=True)
class InvitationAnswer:
    """A move on the invitation's page: what it needs from the form, the service call,
    and the word the page is told afterwards (`?done=`)."""

    done: str
    make: Callable[[PartnershipService, Identity, UUID, str], Awaitable[Any]]
    needs_reason: bool = False
    needs_agreement: bool = False


INVITATION_ANSWERS: dict[str, InvitationAnswer] = {
    "accept": InvitationAnswer(
        "accepted", lambda s, who, pid, note: s.accept(who, pid), needs_agreement=True
    ),
    "decline": InvitationAnswer(
        "declined", lambda s, who, pid, note: s.decline(who, pid, note=note), needs_reason=True
    ),
    "withdraw": InvitationAnswer(
        "withdrawn", lambda s, who, pid, note: s.withdraw(who, pid, note=note), needs_reason=True
    ),
    "end": InvitationAnswer(
        "ended", lambda s, who, pid, note: s.end(who, pid, note=note), needs_reason=True
    ),
    "remind": InvitationAnswer("reminded", lambda s, who, pid, note: s.remind(who, pid)),
}


# The letter as a document a director prints and signs: Word or OpenDocument.
LETTER_DOCUMENTS: dict[str, tuple[str, Callable[[str, str], bytes]]] = {
    "docx": (DOCX, letter_docx),
    "odt": (ODT, letter_odt),
}


async def _letter_document(
    page: Page, partnerships: PartnershipService, partnership_id: UUID, extension: str
) -> Response[bytes]:
    identity = page.require_member()
    view = await partnerships.get(identity, partnership_id)
    p = view.partnership
    media_type, render = LETTER_DOCUMENTS[extension]
    filename = letter_filename(p.language, view.schools[p.invited_school_id].name, extension)
    return Response(
        content=render(p.invitation_letter, p.language),
        media_type=media_type,
        headers={
            "Content-Disposition": attachment_disposition(
                filename, f"invitation-letter.{extension}"
            ),
            "Cache-Control": "private, no-store",
        },
    )


class PartnerPages(Controller):
    include_in_schema = False
    dependencies = {
        "schools": Provide(SchoolService, sync_to_thread=False),
        "partnerships": Provide(PartnershipService, sync_to_thread=False),
        "conduct": Provide(CodeOfConductService, sync_to_thread=False),
        "directory": Provide(DirectoryService, sync_to_thread=False),
    }

    # --- the directory and the suggestions ---------------------------------------------

    @get("/partners")
    async def directory(
        self,
        page: NamedDependency[Page],
        schools: NamedDependency[SchoolService],
        partnerships: NamedDependency[PartnershipService],
        directory: NamedDependency[DirectoryService],
    ) -> Any:
        identity = page.require_member()
        chosen = _filters(page)
        cursor = page.request.query_params.get("cursor") or None
        problem = None
        found = None
        try:
            found = await schools.directory(
                identity,
                q=chosen["q"] or None,
                region=chosen["region"] or None,
                locality=SchoolLocality(chosen["locality"]) if chosen["locality"] else None,
                kind=SchoolKind(chosen["kind"]) if chosen["kind"] else None,
                language=chosen["language"] or None,
                cursor=cursor,
            )
        except InvalidInput as exc:
            problem = str(exc.detail)
        fragment = page.request.headers.get("hx-request") == "true"
        if fragment and cursor:
            response = page.render(
                "partners/results.html",
                found=found,
                chosen=chosen,
                problem=problem,
                paged=True,
                me=identity,
            )
            response.headers["Vary"] = "Cookie, HX-Request"
            return response
        suggestions = None
        invitations: list[PartnershipView] = []
        unclaimed = None
        if cursor is None:
            unclaimed = await directory.entries(
                identity, q=chosen["q"] or None, kind="school", limit=UNCLAIMED_SHOWN
            )
            suggestions = await schools.suggestions(identity, limit=SUGGESTIONS_SHOWN)
            invitations, _next = await partnerships.list_for(
                identity, status=PartnershipStatus.INVITED
            )
        response = page.render(
            "partners/index.html",
            found=found,
            chosen=chosen,
            problem=problem,
            paged=cursor is not None,
            suggestions=suggestions,
            invitations=invitations,
            other_school=_other_school,
            me=identity,
            unclaimed=unclaimed,
            unclaimed_entries=[entry_out(e, unclaimed, page.language) for e in unclaimed.entries]
            if unclaimed
            else [],
            localities=LOCALITIES,
            kinds=SCHOOL_KINDS,
        )
        response.headers["Vary"] = "Cookie, HX-Request"
        return response

    # --- the school's own profile and self-assessment (admins) ---------------------------

    @get("/partners/profile")
    async def profile_form(
        self, page: NamedDependency[Page], schools: NamedDependency[SchoolService]
    ) -> Any:
        identity = page.require_member()
        policy.require(identity, policy.Action.EDIT_PROFILE)
        school = await schools.own(identity)
        values: dict[str, list[str]] = {
            name: [getattr(school, name) or ""] for name in PROFILE_LINES
        }
        values["languages"] = list(school.languages or [])
        values["strong_subjects"] = ["\n".join(school.strong_subjects or [])]
        for key, answer in (school.self_assessment or {}).items():
            values[f"self_assessment.{key}"] = [str(answer)]
        return self._profile_page(page, schools, FormErrors(), values)

    def _profile_page(
        self,
        page: Page,
        schools: SchoolService,
        errors: FormErrors,
        values: dict[str, list[str]],
        *,
        status_code: int = 200,
    ) -> Any:
        questions = [
            (q.key, q.text.get(page.language) or q.text["en"])
            for q in schools.self_assessment().questions
        ]
        return page.render(
            "partners/profile.html",
            status_code=status_code,
            errors=errors,
            values=values,
            questions=questions,
            localities=LOCALITIES,
            kinds=SCHOOL_KINDS,
            teaching_languages=TEACHING_LANGUAGES,
        )

    @post("/partners/profile", status_code=HTTP_303_SEE_OTHER)
    async def save_profile(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        schools: NamedDependency[SchoolService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        identity = page.require_member()
        policy.require(identity, policy.Action.EDIT_PROFILE)
        values = await form_values(request)
        errors = FormErrors()
        fields: dict[str, Any] = {name: first(values, name) or None for name in PROFILE_LINES}
        fields["languages"] = [c for c in values.get("languages", []) if c]
        fields["strong_subjects"] = [
            line.strip() for line in first(values, "strong_subjects").splitlines() if line.strip()
        ]
        fields["self_assessment"] = {
            name.removeprefix("self_assessment."): first(values, name)
            for name in values
            if name.startswith("self_assessment.") and first(values, name)
        }
        try:
            data = msgspec.convert(fields, ProfileUpdate)
            await schools.update_profile(identity, data)
        except msgspec.ValidationError as exc:
            errors.refuse_shape(exc, (*PROFILE_LINES, "strong_subjects"))
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            await db_session.rollback()
            errors.add(None, str(exc.detail))
        else:
            return see_other(f"/partners/schools/{identity.school_id}?done=profile")
        return self._profile_page(page, schools, errors, values, status_code=422)

    # --- a school's profile --------------------------------------------------------------

    @get("/partners/schools/{school_id:uuid}")
    async def school(
        self,
        page: NamedDependency[Page],
        schools: NamedDependency[SchoolService],
        school_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        school = await schools.get(identity, school_id)
        open_partnerships = await schools.open_partnerships(identity)
        in_touch = await schools.schools_in_touch(identity)
        answers = None
        if policy.reads_self_assessment(identity, school.id, in_touch):
            questions = schools.self_assessment().questions
            given = school.self_assessment or {}
            answers = [
                (q.text.get(page.language) or q.text["en"], str(given[q.key]))
                for q in questions
                if given.get(q.key)
            ]
        return page.render(
            "partners/school.html",
            school=school,
            answers=answers,
            partnership=open_partnerships.get(school.id),
            is_own=school.id == identity.school_id,
            can_invite=policy.permits(identity, policy.Action.INVITE),
            can_edit=school.id == identity.school_id
            and policy.permits(identity, policy.Action.EDIT_PROFILE),
            done=page.request.query_params.get("done"),
        )

    # --- inviting a school -----------------------------------------------------------------

    @get("/partners/schools/{school_id:uuid}/invite")
    async def invite_form(
        self,
        page: NamedDependency[Page],
        schools: NamedDependency[SchoolService],
        school_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        school = await schools.get(identity, school_id)
        policy.require(identity, policy.Action.INVITE)
        return self._invite_page(page, school, FormErrors(), {"language": [page.language]}, None)

    def _invite_page(
        self,
        page: Page,
        school: Any,
        errors: FormErrors,
        values: dict[str, list[str]],
        letter: str | None,
        *,
        status_code: int = 200,
    ) -> Any:
        return page.render(
            "partners/invite.html",
            status_code=status_code,
            school=school,
            errors=errors,
            values=values,
            letter=letter,
            characteristics=CHARACTERISTICS,
            letter_languages=LETTER_LANGUAGES,
        )

    @post("/partners/schools/{school_id:uuid}/invite", status_code=HTTP_303_SEE_OTHER)
    async def invite(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        schools: NamedDependency[SchoolService],
        partnerships: NamedDependency[PartnershipService],
        db_session: NamedDependency[AsyncSession],
        school_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        school = await schools.get(identity, school_id)
        policy.require(identity, policy.Action.INVITE)
        values = await form_values(request)
        errors = FormErrors()
        fields = _invite_values(values, errors)
        sending = "send" in values  # the send button, not the preview
        letter = None
        if not errors:
            try:
                data = msgspec.convert(
                    {"partner_school_id": str(school_id), **fields}, PartnershipInvite
                )
                if sending:
                    view = await partnerships.invite(identity, data)
                else:
                    letter = await partnerships.preview_letter(identity, data)
            except msgspec.ValidationError:
                errors.add("goals", _("A goal is too long, or there are too many: shorten them."))
            except DomainError as exc:
                await db_session.rollback()
                errors.add(None, str(exc.detail))
            else:
                if sending:
                    return see_other(f"/partners/invitations/{view.partnership.id}?done=sent")
        school = await schools.get(identity, school_id)  # read again after a rollback
        return self._invite_page(
            page, school, errors, values, letter, status_code=422 if errors else 200
        )

    # --- an invitation -------------------------------------------------------------------

    @get("/partners/invitations/{partnership_id:uuid}")
    async def invitation(
        self,
        page: NamedDependency[Page],
        partnerships: NamedDependency[PartnershipService],
        conduct: NamedDependency[CodeOfConductService],
        partnership_id: FromPath[UUID],
    ) -> Any:
        return await self._invitation_page(page, partnerships, conduct, partnership_id)

    async def _invitation_page(
        self,
        page: Page,
        partnerships: PartnershipService,
        conduct: CodeOfConductService,
        partnership_id: UUID,
        *,
        errors: FormErrors | None = None,
        values: dict[str, list[str]] | None = None,
        status_code: int = 200,
    ) -> Any:
        identity = page.require_member()
        view = await partnerships.get(identity, partnership_id)
        p = view.partnership
        open_invitation = p.status == PartnershipStatus.INVITED
        return page.render(
            "partners/invitation.html",
            status_code=status_code,
            view=view,
            p=p,
            partner=_other_school(view),
            conduct=await conduct.in_force(),
            can_answer=open_invitation
            and policy.permits(identity, policy.Action.ACCEPT_INVITATION, p),
            can_withdraw=open_invitation
            and policy.permits(identity, policy.Action.WITHDRAW_INVITATION, p),
            can_end=p.status == PartnershipStatus.ACTIVE
            and policy.permits(identity, policy.Action.END_PARTNERSHIP, p),
            errors=errors or FormErrors(),
            values=values or {},
            done=page.request.query_params.get("done"),
        )

    @get("/partners/invitations/{partnership_id:uuid}/letter.txt", media_type=MediaType.TEXT)
    async def letter_text(
        self,
        page: NamedDependency[Page],
        partnerships: NamedDependency[PartnershipService],
        partnership_id: FromPath[UUID],
    ) -> Response[str]:
        identity = page.require_member()
        text, filename = await partnerships.letter(identity, partnership_id)
        return Response(
            content=text,
            media_type=MediaType.TEXT,
            headers={
                "Content-Disposition": attachment_disposition(filename),
                "Cache-Control": "private, no-store",
            },
        )

    @get("/partners/invitations/{partnership_id:uuid}/letter.docx", media_type=DOCX)
    async def letter_docx(
        self,
        page: NamedDependency[Page],
        partnerships: NamedDependency[PartnershipService],
        partnership_id: FromPath[UUID],
    ) -> Response[bytes]:
        return await _letter_document(page, partnerships, partnership_id, "docx")

    @get("/partners/invitations/{partnership_id:uuid}/letter.odt", media_type=ODT)
    async def letter_odt(
        self,
        page: NamedDependency[Page],
        partnerships: NamedDependency[PartnershipService],
        partnership_id: FromPath[UUID],
    ) -> Response[bytes]:
        return await _letter_document(page, partnerships, partnership_id, "odt")

    @post("/partners/invitations/{partnership_id:uuid}/{move:str}", status_code=HTTP_303_SEE_OTHER)
    async def answer(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        partnerships: NamedDependency[PartnershipService],
        conduct: NamedDependency[CodeOfConductService],
        db_session: NamedDependency[AsyncSession],
        partnership_id: FromPath[UUID],
        move: FromPath[str],
    ) -> Any:
        """Accept (with "we agree" ticked), decline, withdraw or end (with a reason), or
        remind the invited school of an overdue invitation; what is missing or no longer
        possible is said on the invitation's page."""
        identity = page.require_member()
        answer = INVITATION_ANSWERS.get(move)
        if answer is None:
            raise NotFound(refusals.NO_SUCH_PARTNERSHIP)
        await partnerships.get(identity, partnership_id)  # another school's: 404 first
        values = await form_values(request)
        errors = FormErrors()
        note = first(values, "note")
        field = "note-" + answer.done
        if answer.needs_agreement and first(values, "agree") != "true":
            errors.add(
                "agree",
                _(
                    "Tick “We agree” below to accept: a partnership starts only when both "
                    "schools agree to the code of conduct."
                ),
            )
        elif answer.needs_reason and not note:
            errors.add(field, _("Give a reason: the other school reads it with your answer."))
        elif answer.needs_reason and len(note) > MAX_REASON:
            errors.add(field, _("The reason is too long: shorten it to 2000 characters."))
        if not errors:
            try:
                await answer.make(partnerships, identity, partnership_id, note)
            except DomainError as exc:
                if exc.status_code in (403, 404):  # the policy's refusal is the page's
                    raise
                await db_session.rollback()
                errors.add(None, str(exc.detail))
            else:
                if answer.done == "accepted":
                    return see_other(f"/partnerships/{partnership_id}")
                return see_other(f"/partners/invitations/{partnership_id}?done={answer.done}")
        return await self._invitation_page(
            page,
            partnerships,
            conduct,
            partnership_id,
            errors=errors,
            values=values,
            status_code=422,
        )
