"""The first-run page: while no school exists, `/` offers to create the first school and
its admin, with the setup code from the console of `exchange serve`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.response import Response
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.first_run import FirstRunService
from exchange.accounts.services import AccountService
from exchange.clock import Clock
from exchange.errors import DomainError, NotFound
from exchange.web.forms import FormErrors, first, form_values, see_other
from exchange.web.language import _
from exchange.web.page import Page
from exchange.web.sessions import session_cookie

FIELDS = ("setup_code", "name", "region", "full_name", "email", "password")


def first_run_form(
    page: Page, values: dict[str, list[str]], errors: FormErrors, status_code: int = 200
) -> Any:
    return page.render("first_run.html", status_code=status_code, values=values, errors=errors)


class FirstRunController(Controller):
    include_in_schema = False

    @post("/setup", status_code=HTTP_303_SEE_OTHER)
    async def create(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
    ) -> Any:
        page.speak()
        first_run = FirstRunService(db_session, page.settings, clock)
        if not await first_run.needed():
            raise NotFound(_("The exchange already has its first school."))
        values = await form_values(request)
        errors = FormErrors()
        for name, message in (
            ("setup_code", _("Enter the setup code shown where the exchange was started.")),
            ("name", _("Enter the school's name.")),
            ("full_name", _("Enter your name.")),
            ("email", _("Enter your e-mail address.")),
            ("password", _("Choose a password.")),
        ):
            if not first(values, name):
                errors.add(name, message)
        if not errors:
            try:
                _school, admin = await first_run.create_first_school(
                    setup_code=first(values, "setup_code"),
                    name=first(values, "name"),
                    region=first(values, "region") or None,
                    admin_name=first(values, "full_name"),
                    admin_email=first(values, "email"),
                    admin_password=first(values, "password"),
                )
            except DomainError as exc:
                await db_session.rollback()
                field = exc.extra.get("field")
                detail = str(exc.detail)
                if field not in FIELDS:
                    field = "password" if "password" in detail.lower() else "email"
                    if "name" in detail.lower() and "e-mail" not in detail.lower():
                        field = "name"
                errors.add(str(field), detail)
            else:
                accounts = AccountService(db_session, page.settings, clock)
                address = request.client.host if request.client else None
                issued = await accounts.sign_in(admin.email, first(values, "password"), address)
                response: Response[Any] = see_other("/")
                response.cookies.append(
                    session_cookie(page.settings, request, issued.token, issued.expires_at)
                )
                return response
        values.pop("password", None)
        return first_run_form(page, values, errors, status_code=422)
