"""Schools that are not on the exchange yet, on the pages.

- `/partners/not-on-exchange`: the handbook's schools and sister cities (appendices 4
  and 5) that are not on the exchange, each marked so, with what the handbook says; an
  admin invites one by e-mail from its page, or any school by name at
  `/partners/invite-by-email`. The registration link is shown once to pass on, and
  e-mailed when the exchange sends mail.
- `/claim`: a school on the handbook's list asks for a link to claim its entry, sent
  only to an address of its own.
- `/register?token=`: the link's holder registers the school, chooses the first
  admin's password, is signed in and finds the invitation waiting on `/partners`.

The same service and rules as `/api/directory`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.accounts.services import AccountService
from exchange.directory.controllers import entry_out, invitation_out
from exchange.directory.handbook import SCHOOL, SISTER_CITY
from exchange.directory.services import (
    DirectoryService,
    EntryPage,
    IssuedRegistration,
)
from exchange.errors import DomainError
from exchange.partnerships.content import CHARACTERISTICS
from exchange.web.controllers.partners import LETTER_LANGUAGES, _invite_values
from exchange.web.forms import FormErrors, first, form_values, see_other
from exchange.web.language import _
from exchange.web.page import Page
from exchange.web.sessions import session_cookie

CLAIM_LIST_SIZE = 100


def _place(errors: FormErrors, exc: DomainError, default: str | None = None) -> None:
    """A service's refusal next to the field it names, or at the top."""
    named = [e.get("field") for e in (exc.extra or {}).get("errors", []) if isinstance(e, dict)]
    errors.add(named[0] if named and named[0] else default, str(exc.detail))


class UnclaimedPages(Controller):
    include_in_schema = False
    dependencies = {"directory": Provide(DirectoryService, sync_to_thread=False)}

    @get("/partners/not-on-exchange")
    async def entries(
        self, page: NamedDependency[Page], directory: NamedDependency[DirectoryService]
    ) -> Any:
        identity = page.require_member()
        query = page.request.query_params
        q = (query.get("q") or "").strip()
        kind = query.get("kind") if query.get("kind") in (SCHOOL, SISTER_CITY) else None
        cursor = query.get("cursor") or None
        found = await directory.entries(identity, q=q or None, kind=kind, cursor=cursor)
        return page.render(
            "directory/entries.html",
            entries=[entry_out(e, found, page.language) for e in found.entries],
            found=found,
            q=q,
            kind=kind or "",
            paged=cursor is not None,
        )

    @get("/partners/not-on-exchange/{entry_id:uuid}")
    async def entry(
        self,
        page: NamedDependency[Page],
        directory: NamedDependency[DirectoryService],
        entry_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        found = await directory.entry(identity, entry_id)
        shown = entry_out(found.entries[0], found, page.language)
        values = {"email": [shown.contact_email or ""], "language": [page.language]}
        return self._entry_page(page, found, values, FormErrors())

    def _entry_page(
        self,
        page: Page,
        found: EntryPage,
        values: dict[str, list[str]],
        errors: FormErrors,
        *,
        status_code: int = 200,
        sent_to: str | None = None,
    ) -> Any:
        return page.render(
            "directory/entry.html",
            status_code=status_code,
            sent_to=sent_to,
            entry=entry_out(found.entries[0], found, page.language),
            can_invite=bool(page.viewer and page.viewer.is_admin),
            values=values,
            errors=errors,
            characteristics=CHARACTERISTICS,
            letter_languages=LETTER_LANGUAGES,
        )

    @post("/partners/not-on-exchange/{entry_id:uuid}/invite", status_code=HTTP_303_SEE_OTHER)
    async def invite_entry(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        directory: NamedDependency[DirectoryService],
        db_session: NamedDependency[AsyncSession],
        entry_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        policy.require(identity, policy.Action.INVITE)
        found = await directory.entry(identity, entry_id)
        values = await form_values(request)
        errors = FormErrors()
        issued = await self._invite(page, directory, db_session, values, errors, entry_id)
        if issued is not None:
            return self._invited(page, directory, issued)
        return self._entry_page(page, found, values, errors, status_code=422)

    async def _invite(
        self,
        page: Page,
        directory: DirectoryService,
        session: AsyncSession,
        values: dict[str, list[str]],
        errors: FormErrors,
        entry_id: UUID | None,
    ) -> IssuedRegistration | None:
        identity = page.require_member()
        fields = _invite_values(values, errors)
        email = first(values, "email")
        if "@" not in email.strip("@"):
            errors.add("email", _("Enter the school's e-mail address, like office@school.kg."))
        name = first(values, "school_name")
        if entry_id is None and not name:
            errors.add("school_name", _("Write the name of the school you invite."))
        if errors:
            return None
        try:
            return await directory.invite_by_email(
                identity,
                email=email,
                goals=fields["goals"],
                language=fields["language"],
                characteristics=fields["characteristics"],
                entry_id=entry_id,
                school_name=name or None,
            )
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            await session.rollback()
            _place(errors, exc, "email" if exc.status_code in (409, 429) else None)
            return None

    @post("/partners/not-on-exchange/{entry_id:uuid}/claim", status_code=HTTP_303_SEE_OTHER)
    async def claim_for_my_school(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        directory: NamedDependency[DirectoryService],
        db_session: NamedDependency[AsyncSession],
        entry_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        policy.require(identity, policy.Action.EDIT_PROFILE)
        found = await directory.entry(identity, entry_id)
        values = await form_values(request)
        errors = FormErrors()
        email = first(values, "claim_email")
        if "@" not in email.strip("@"):
            errors.add(
                "claim_email", _("Enter your school's e-mail address, like office@school.kg.")
            )
        else:
            try:
                link = await directory.request_claim(entry_id, email, page.language, identity)
            except DomainError as exc:
                if exc.status_code in (403, 404):
                    raise
                await db_session.rollback()
                errors.add("claim_email", str(exc.detail))
            else:
                return self._entry_page(
                    page, found, {"language": [page.language]}, FormErrors(), sent_to=link.email
                )
        claim_values = {"claim_email": [email], "language": [page.language]}
        return self._entry_page(page, found, claim_values, errors, status_code=422)

    def _invited(self, page: Page, directory: DirectoryService, issued: IssuedRegistration) -> Any:
        # The link is shown once, on this answer, never in an address.
        return page.render(
            "directory/invited.html",
            invitation=invitation_out(
                issued.link,
                directory.clock.now(),
                url=issued.url,
                emailed=issued.mailed,
                letter=issued.letter,
            ),
        )

    @get("/partners/invite-by-email")
    async def invite_form(
        self, page: NamedDependency[Page], directory: NamedDependency[DirectoryService]
    ) -> Any:
        identity = page.require_member()
        policy.require(identity, policy.Action.INVITE)
        values = {"language": [page.language]}
        return await self._invite_page(page, directory, values, FormErrors())

    async def _invite_page(
        self,
        page: Page,
        directory: DirectoryService,
        values: dict[str, list[str]],
        errors: FormErrors,
        *,
        status_code: int = 200,
    ) -> Any:
        identity = page.require_member()
        now = directory.clock.now()
        links, _next = await directory.invitations_sent(identity)
        sent = [invitation_out(link, now) for link in links]
        return page.render(
            "directory/invite.html",
            status_code=status_code,
            values=values,
            errors=errors,
            sent=sent,
            characteristics=CHARACTERISTICS,
            letter_languages=LETTER_LANGUAGES,
        )

    @post("/partners/invite-by-email", status_code=HTTP_303_SEE_OTHER)
    async def invite_by_name(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        directory: NamedDependency[DirectoryService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        identity = page.require_member()
        policy.require(identity, policy.Action.INVITE)
        values = await form_values(request)
        errors = FormErrors()
        issued = await self._invite(page, directory, db_session, values, errors, None)
        if issued is not None:
            return self._invited(page, directory, issued)
        return await self._invite_page(page, directory, values, errors, status_code=422)


class RegistrationPages(Controller):
    """Open to a visitor: the school is not on the exchange yet."""

    include_in_schema = False
    dependencies = {
        "directory": Provide(DirectoryService, sync_to_thread=False),
        "accounts": Provide(AccountService, sync_to_thread=False),
    }

    @get("/claim")
    async def claim_form(
        self, page: NamedDependency[Page], directory: NamedDependency[DirectoryService]
    ) -> Any:
        page.speak()
        chosen = page.request.query_params.get("entry_id") or ""
        return await self._claim_page(page, directory, {"entry_id": [chosen]}, FormErrors())

    async def _claim_page(
        self,
        page: Page,
        directory: DirectoryService,
        values: dict[str, list[str]],
        errors: FormErrors,
        *,
        status_code: int = 200,
        sent_to: str | None = None,
    ) -> Any:
        found = await directory.entries(None, kind=SCHOOL, limit=CLAIM_LIST_SIZE)
        shown = [entry_out(e, found, page.language) for e in found.entries]
        return page.render(
            "directory/claim.html",
            status_code=status_code,
            entries=[e for e in shown if e.claimable],
            others=[e for e in shown if not e.claimable],
            values=values,
            errors=errors,
            sent_to=sent_to,
        )

    @post("/claim", status_code=HTTP_303_SEE_OTHER)
    async def claim(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        directory: NamedDependency[DirectoryService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        page.speak()
        values = await form_values(request)
        errors = FormErrors()
        entry_id, email = first(values, "entry_id"), first(values, "email")
        chosen = None
        try:
            chosen = UUID(entry_id)
        except ValueError:
            errors.add("entry_id", _("Choose your school in the list."))
        if "@" not in email.strip("@"):
            errors.add("email", _("Enter your school's e-mail address, like office@school.kg."))
        if chosen is not None and not errors:
            try:
                link = await directory.request_claim(chosen, email, page.language)
            except DomainError as exc:
                await db_session.rollback()
                _place(errors, exc, "email" if exc.status_code != 404 else "entry_id")
            else:
                return await self._claim_page(
                    page, directory, {"entry_id": [""]}, FormErrors(), sent_to=link.email
                )
        return await self._claim_page(page, directory, values, errors, status_code=422)

    @get("/register")
    async def register_form(
        self,
        page: NamedDependency[Page],
        directory: NamedDependency[DirectoryService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        page.speak()
        token = page.request.query_params.get("token") or ""
        return await self._register_page(page, directory, db_session, token, {}, FormErrors())

    async def _register_page(
        self,
        page: Page,
        directory: DirectoryService,
        session: AsyncSession,
        token: str,
        values: dict[str, list[str]],
        errors: FormErrors,
        *,
        status_code: int = 200,
    ) -> Any:
        holder = None
        if not token:
            errors.add(None, _("This page needs the whole link you were given. Open it again."))
        else:
            try:
                holder = await directory.holder(token)
            except DomainError as exc:
                await session.rollback()
                if not errors.general:
                    errors.add(None, str(exc.detail))
                status_code = max(status_code, 409 if exc.status_code == 409 else 404)
        if holder is not None and "school_name" not in values:
            values = {**values, "school_name": [holder.link.school_name]}
        return page.render(
            "directory/register.html",
            status_code=status_code,
            token=token,
            holder=holder,
            values=values,
            errors=errors,
        )

    @post("/register/confirm", status_code=HTTP_303_SEE_OTHER)
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        directory: NamedDependency[DirectoryService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        page.speak()
        values = await form_values(request)
        token = first(values, "token")
        errors = FormErrors()
        if token:
            try:
                school = await directory.attach(token)
            except DomainError as exc:
                await db_session.rollback()
                errors.add(None, str(exc.detail))
            else:
                return page.render("directory/confirmed.html", school_name=school.name)
        return await self._register_page(
            page, directory, db_session, token, values, errors, status_code=422
        )

    @post("/register", status_code=HTTP_303_SEE_OTHER)
    async def register(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        directory: NamedDependency[DirectoryService],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        page.speak()
        values = await form_values(request)
        token = first(values, "token")
        full_name, password = first(values, "full_name"), first(values, "password")
        errors = FormErrors()
        if not full_name:
            errors.add("full_name", _("Enter your name."))
        if not password:
            errors.add("password", _("Choose a password."))
        if token and not errors:
            try:
                done = await directory.register(
                    token,
                    full_name=full_name,
                    password=password,
                    school_name=first(values, "school_name") or None,
                )
            except DomainError as exc:
                await db_session.rollback()
                about_link = exc.status_code in {404, 409} and (
                    "link_status" in (exc.extra or {}) or "entry_status" in (exc.extra or {})
                )
                _place(errors, exc, None if about_link else "password")
            else:
                address = request.client.host if request.client else None
                issued = await accounts.sign_in(done.member.email, password, address)
                arrived = "invited#invitations" if done.partnership else "claimed"
                response: Response[Any] = see_other(f"/partners?registered={arrived}")
                response.cookies.append(
                    session_cookie(page.settings, request, issued.token, issued.expires_at)
                )
                return response
        return await self._register_page(
            page, directory, db_session, token, values, errors, status_code=422
        )
