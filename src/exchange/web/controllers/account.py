"""Signing in and out, and a member's own account."""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Response
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.schemas import Language, MemberUpdate
from exchange.accounts.services import AccountService
from exchange.errors import DomainError, NotAuthenticated, TooManyAttempts
from exchange.i18n import LANGUAGES
from exchange.web.forms import FormErrors, first, form_values, see_other
from exchange.web.language import _
from exchange.web.page import Page, language_cookie
from exchange.web.sessions import ending_session_cookie, safe_next, session_cookie


class AccountController(Controller):
    """A member's own account: name, position, language (and password)."""

    include_in_schema = False
    dependencies = {"accounts": Provide(AccountService, sync_to_thread=False)}

    @get("/account")
    async def show(self, page: NamedDependency[Page]) -> Any:
        page.require_member()
        member = page.member
        assert member is not None
        values = {
            "full_name": [member.full_name],
            "position": [member.position or ""],
            "language": [member.language or ""],
        }
        return self._form(page, values, FormErrors())

    def _form(
        self,
        page: Page,
        values: dict[str, list[str]],
        errors: FormErrors,
        status_code: int = 200,
        password_errors: FormErrors | None = None,
    ) -> Any:
        return page.render(
            "account/account.html",
            status_code=status_code,
            values=values,
            errors=errors,
            password_errors=password_errors or FormErrors(),
            saved=page.request.query_params.get("saved") == "1",
            password_changed=page.request.query_params.get("password") == "changed",
        )

    @post("/account/password", status_code=HTTP_303_SEE_OTHER)
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        identity = page.require_member()
        values = await form_values(request)
        current, new = first(values, "current_password"), first(values, "new_password")
        errors = FormErrors()
        if not current:
            errors.add("current_password", _("Enter your current password."))
        if not new:
            errors.add("new_password", _("Choose a new password."))
        status_code = 422
        if not errors:
            address = request.client.host if request.client else None
            try:
                await accounts.change_password(identity, current, new, address)
            except TooManyAttempts as exc:
                await db_session.rollback()
                errors.add("current_password", str(exc.detail))
                status_code = 429
            except DomainError as exc:
                await db_session.rollback()
                named = [e.get("field") for e in exc.extra.get("errors") or []]
                field = "current_password" if "current_password" in named else "new_password"
                errors.add(field, str(exc.detail))
            else:
                return see_other("/account?password=changed")
        member = page.member
        assert member is not None
        shown = {
            "full_name": [member.full_name],
            "position": [member.position or ""],
            "language": [member.language or ""],
        }
        return self._form(
            page, shown, FormErrors(), status_code=status_code, password_errors=errors
        )

    @post("/account", status_code=HTTP_303_SEE_OTHER)
    async def save(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        identity = page.require_member()
        values = await form_values(request)
        language = first(values, "language")
        errors = FormErrors()
        if language and language not in LANGUAGES:
            errors.add("language", _("Choose one of the languages offered."))
        if not first(values, "full_name"):
            errors.add("full_name", _("Enter your name."))
        if not errors:
            try:
                await accounts.update_me(
                    identity,
                    MemberUpdate(
                        full_name=first(values, "full_name"),
                        position=first(values, "position") or None,
                        language=cast(Language, language) if language else None,
                    ),
                )
            except DomainError as exc:
                await db_session.rollback()
                errors.add("full_name", str(exc.detail))
            else:
                response: Response[Any] = see_other("/account?saved=1")
                if language:
                    response.cookies.append(language_cookie(page.settings, request, language))
                return response
        return self._form(page, values, errors, status_code=422)


class SetPasswordController(Controller):
    """`/set-password?token=`: a new member, or one who forgot, chooses a password with
    the one-time link an admin gave them."""

    include_in_schema = False
    dependencies = {"accounts": Provide(AccountService, sync_to_thread=False)}

    @get("/set-password")
    async def show(self, page: NamedDependency[Page]) -> Any:
        token = page.request.query_params.get("token") or ""
        return page.render("account/set_password.html", token=token, errors=FormErrors())

    @post("/set-password", status_code=HTTP_303_SEE_OTHER)
    async def set_password(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
        db_session: NamedDependency[AsyncSession],
    ) -> Any:
        page.speak()
        values = await form_values(request)
        token, new = first(values, "token"), first(values, "new_password")
        errors = FormErrors()
        if not new:
            errors.add("new_password", _("Choose a new password."))
        elif not token:
            errors.add(None, _("This page needs the whole link you were given. Open it again."))
        else:
            try:
                await accounts.set_password_with_link(token, new)
            except DomainError as exc:
                await db_session.rollback()
                # A wrong, used or expired link is said at the top; a weak password by it.
                about_link = exc.status_code in {404, 409, 410}
                errors.add(None if about_link else "new_password", str(exc.detail))
            else:
                return see_other("/sign-in?password=set")
        return page.render("account/set_password.html", status_code=422, token=token, errors=errors)


class SignInController(Controller):
    tags = ["pages"]
    include_in_schema = False
    dependencies = {"accounts": Provide(AccountService, sync_to_thread=False)}

    @get("/sign-in")
    async def show(self, page: NamedDependency[Page]) -> Any:
        next_path = page.request.query_params.get("next")
        if page.viewer is not None:
            return see_other(safe_next(next_path))
        return page.render(
            "account/sign_in.html",
            errors=FormErrors(),
            email="",
            next=safe_next(next_path),
            password_set=page.request.query_params.get("password") == "set",
        )

    @post("/sign-in", status_code=HTTP_303_SEE_OTHER)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
    ) -> Any:
        page.speak()
        values = await form_values(request)
        email, password = first(values, "email"), first(values, "password")
        next_path = safe_next(first(values, "next"))
        errors = FormErrors()
        if not email:
            errors.add("email", _("Enter your e-mail address."))
        if not password:
            errors.add("password", _("Enter your password."))
        status = 422
        if not errors:
            address = request.client.host if request.client else None
            try:
                issued = await accounts.sign_in(email, password, address)
            except TooManyAttempts as exc:
                minutes = max(1, round(int(exc.headers.get("Retry-After", "60")) / 60))
                errors.add(
                    None,
                    _(
                        "Too many failed sign-ins. Wait about {minutes} min and try again, "
                        "or ask your school's admin to check your account.",
                        minutes=minutes,
                    ),
                )
                status = 429
            except NotAuthenticated:
                errors.add(
                    "password",
                    _(
                        "The e-mail address or the password is not right (or the account "
                        "is disabled). Check them and try again."
                    ),
                )
                status = 401
            else:
                response: Response[Any] = see_other(next_path)
                response.cookies.append(
                    session_cookie(page.settings, request, issued.token, issued.expires_at)
                )
                return response
        return page.render(
            "account/sign_in.html",
            status_code=status,
            errors=errors,
            email=email,
            next=next_path,
            password_set=False,
        )

    @post("/sign-out", status_code=HTTP_303_SEE_OTHER)
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        accounts: NamedDependency[AccountService],
    ) -> Any:
        if page.viewer is not None:
            await accounts.sign_out(page.viewer)
        response: Response[Any] = see_other("/sign-in")
        response.cookies.append(ending_session_cookie(page.settings, request))
        return response
