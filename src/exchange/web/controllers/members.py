"""The school's members (`/members`): everyone sees who is in their school; admins add a
member without choosing their password (the page shows the one-time link to copy, and
it is e-mailed when the exchange sends mail), make a new link for a member who forgot
theirs, change a member's name or position, and disable or enable an account. The same
service and rules as `/api/members`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.accounts.controllers import member_out
from exchange.accounts.password_links import IssuedLink
from exchange.accounts.schemas import MemberCreate, MemberOut, MemberUpdate
from exchange.accounts.services import AccountService
from exchange.errors import Conflict, DomainError
from exchange.i18n import lazy_gettext
from exchange.web.forms import FormErrors, first, form_values, see_other
from exchange.web.language import _
from exchange.web.page import Page

ROLES = ("teacher", "admin")
_NOTICES = {"disabled", "enabled", "saved"}
CHANGE_REFUSAL = lazy_gettext(
    "Only an admin of your school can change another member's details. Ask your school's admin."
)


class MemberPages(Controller):
    include_in_schema = False
    dependencies = {"accounts": Provide(AccountService, sync_to_thread=False)}

    @get("/members")
    async def index(
        self, page: NamedDependency[Page], accounts: NamedDependency[AccountService]
    ) -> Any:
        page.require_member()
        return await self._list(page, accounts)

    async def _list(
        self,
        page: Page,
        accounts: AccountService,
        *,
        values: dict[str, list[str]] | None = None,
        errors: FormErrors | None = None,
        added: MemberOut | None = None,
        link: IssuedLink | None = None,
        link_for: MemberOut | None = None,
        problem: str | None = None,
        status_code: int = 200,
    ) -> Any:
        identity = page.require_member()
        cursor = page.request.query_params.get("cursor") or None
        found = await accounts.list_members(identity, cursor=cursor)
        notice = page.request.query_params.get("done")
        return page.render(
            "members/index.html",
            status_code=status_code,
            members=[member_out(m) for m in found.rows],
            next_cursor=found.next_cursor,
            paged=cursor is not None,
            is_admin=identity.is_admin,
            me=identity.member_id,
            roles=ROLES,
            values=values or {"role": ["teacher"]},
            errors=errors or FormErrors(),
            added=added,
            link=link,
            link_for=link_for,
            problem=problem,
            notice=notice if notice in _NOTICES else None,
        )

    @post("/members", status_code=HTTP_303_SEE_OTHER)
    async def add(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        identity = page.require_member()
        values = await form_values(request)
        errors = FormErrors()
        email, full_name = first(values, "email"), first(values, "full_name")
        role = first(values, "role", "teacher")
        if "@" not in email.strip("@"):
            errors.add("email", _("Enter the member's e-mail address, like name@school.kg."))
        if not full_name:
            errors.add("full_name", _("Enter the member's name."))
        if role not in ROLES:
            errors.add("role", _("Choose whether the member is a teacher or an admin."))
        if not errors:
            try:
                data = msgspec.convert(
                    {
                        "email": email,
                        "full_name": full_name,
                        "role": role,
                        "position": first(values, "position") or None,
                    },
                    MemberCreate,
                )
                member, link = await accounts.add_member(identity, data)
                shown = member_out(member)
            except msgspec.ValidationError as exc:
                errors.add(
                    _field_of(str(exc)), _("This is too long or not written as it should be.")
                )
            except DomainError as exc:
                if exc.status_code == 403:
                    raise
                await db_session.rollback()
                errors.add("email" if isinstance(exc, Conflict) else "full_name", str(exc.detail))
            else:
                # The link is shown once, on this answer, never in an address.
                return await self._list(page, accounts, added=shown, link=link, link_for=shown)
        return await self._list(page, accounts, values=values, errors=errors, status_code=422)

    @post("/members/{member_id:uuid}/password-link", status_code=HTTP_303_SEE_OTHER)
    async def new_link(
        self,
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        member_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        try:
            link = await accounts.issue_password_reset(identity, member_id)
        except Conflict as exc:
            await db_session.rollback()
            return await self._list(page, accounts, problem=str(exc.detail), status_code=409)
        member = member_out(await accounts.get_member(identity, member_id))
        return await self._list(page, accounts, link=link, link_for=member)

    @post("/members/{member_id:uuid}/disable", status_code=HTTP_303_SEE_OTHER)
    async def disable(
        self,
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        member_id: FromPath[UUID],
    ) -> Any:
        return await self._set_active(page, accounts, db_session, member_id, active=False)

    @post("/members/{member_id:uuid}/enable", status_code=HTTP_303_SEE_OTHER)
    async def enable(
        self,
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        member_id: FromPath[UUID],
    ) -> Any:
        return await self._set_active(page, accounts, db_session, member_id, active=True)

    async def _set_active(
        self,
        page: Page,
        accounts: AccountService,
        session: AsyncSession,
        member_id: UUID,
        *,
        active: bool,
    ) -> Any:
        identity = page.require_member()
        try:
            await accounts.set_member_active(identity, member_id, active=active)
        except Conflict as exc:
            await session.rollback()
            return await self._list(page, accounts, problem=str(exc.detail), status_code=409)
        done = "enabled" if active else "disabled"
        return see_other(f"/members?done={done}#member-{member_id}")

    @get("/members/{member_id:uuid}/edit")
    async def edit(
        self,
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        member_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        member = await accounts.get_member(identity, member_id)
        if member.id == identity.member_id and not identity.is_admin:
            return see_other("/account")
        policy.require_admin(identity, CHANGE_REFUSAL)
        values = {"full_name": [member.full_name], "position": [member.position or ""]}
        return self._edit_form(page, member_out(member), values, FormErrors())

    def _edit_form(
        self,
        page: Page,
        member: MemberOut,
        values: dict[str, list[str]],
        errors: FormErrors,
        status_code: int = 200,
    ) -> Any:
        return page.render(
            "members/edit.html",
            status_code=status_code,
            member=member,
            values=values,
            errors=errors,
        )

    @post("/members/{member_id:uuid}/edit", status_code=HTTP_303_SEE_OTHER)
    async def save(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
        member_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        values = await form_values(request)
        errors = FormErrors()
        full_name = first(values, "full_name")
        if not full_name:
            errors.add("full_name", _("Enter the member's name."))
        if not errors:
            try:
                change = msgspec.convert(
                    {"full_name": full_name, "position": first(values, "position") or None},
                    MemberUpdate,
                )
                if member_id == identity.member_id:
                    await accounts.update_me(identity, change)
                else:
                    await accounts.update_member(identity, member_id, change)
            except msgspec.ValidationError as exc:
                errors.add(
                    _field_of(str(exc)), _("This is too long or not written as it should be.")
                )
            except DomainError as exc:
                if exc.status_code in (403, 404):
                    raise
                await db_session.rollback()
                errors.add("full_name", str(exc.detail))
            else:
                return see_other(f"/members?done=saved#member-{member_id}")
        member = member_out(await accounts.get_member(identity, member_id))
        return self._edit_form(page, member, values, errors, status_code=422)


def _field_of(message: str) -> str | None:
    """The form field a validation message names (`... - at `$.position``)."""
    for name in ("email", "full_name", "position", "role"):
        if f"$.{name}" in message:
            return name
    return None
