"""Requests (`/requests`): what partner schools asked of our resources, with the
decision form, and what we asked of theirs, with its status; overdue ones are marked
(rule 9: every request is answered)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import end_of_day
from exchange.errors import DomainError
from exchange.kernel import paging
from exchange.reuse.requests import ListWanted, ReuseRequestService
from exchange.reuse.schemas import DecisionIn
from exchange.web.forms import FormErrors, first, form_values
from exchange.web.language import _
from exchange.web.page import Page


class RequestPages(Controller):
    include_in_schema = False
    dependencies = {"requests": Provide(ReuseRequestService, sync_to_thread=False)}

    @get("/requests")
    async def show(
        self, page: NamedDependency[Page], requests: NamedDependency[ReuseRequestService]
    ) -> Any:
        return await self._show(page, requests)

    async def _show(
        self,
        page: Page,
        requests: ReuseRequestService,
        *,
        failed: UUID | None = None,
        errors: FormErrors | None = None,
        values: dict[str, list[str]] | None = None,
        status_code: int = 200,
    ) -> Any:
        identity = page.require_member()
        # Each list pages on by its own cursor, so that reading on in one keeps the others.
        query = page.request.query_params
        pending, incoming, outgoing = await requests.lists(
            identity,
            ListWanted(
                "incoming",
                status="pending",
                limit=paging.MAX_LIMIT,
                cursor=query.get("waiting_cursor") or None,
            ),
            ListWanted("incoming", cursor=query.get("answered_cursor") or None),
            ListWanted("outgoing", cursor=query.get("outgoing_cursor") or None),
        )
        # Overdue first, then the nearest answer-by date: what must be done first on top.
        waiting = sorted(pending.items, key=lambda r: (not r.overdue, r.respond_by))
        answered = [r for r in incoming.items if r.status != "pending"]
        return page.render(
            "requests/index.html",
            status_code=status_code,
            waiting=waiting,
            waiting_next=pending.next_cursor,
            answered=answered,
            answered_next=incoming.next_cursor,
            incoming_overdue=pending.overdue,
            outgoing=outgoing.items,
            outgoing_next=outgoing.next_cursor,
            outgoing_overdue=outgoing.overdue,
            failed=failed,
            errors=errors or FormErrors(),
            values=values or {},
            decided=page.request.query_params.get("decided"),
            withdrawn=page.request.query_params.get("withdrawn") == "1",
        )

    @post("/requests/{request_id:uuid}/decision", status_code=HTTP_303_SEE_OTHER)
    async def decide(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        requests: NamedDependency[ReuseRequestService],
        db_session: NamedDependency[AsyncSession],
        request_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        values = await form_values(request)
        decision, note, expires = (
            first(values, "decision"),
            first(values, "note"),
            first(values, "expires_at"),
        )
        errors = FormErrors()
        suffix = f"-{request_id}"
        if decision not in {"approve", "deny"}:
            errors.add("decision" + suffix, _("Choose whether you allow it or not."))
        if decision == "deny" and not note:
            errors.add(
                "note" + suffix,
                _("Say why you refuse: the school that asked learns what it can do instead."),
            )
        expires_at = None
        if expires and decision == "approve":
            try:
                expires_at = end_of_day(date.fromisoformat(expires))
            except ValueError:
                errors.add(
                    "expires_at" + suffix, _("Give the date as day, month and year, or none.")
                )
        if not errors:
            try:
                await requests.decide(
                    identity,
                    request_id,
                    DecisionIn(
                        decision=decision,  # type: ignore[arg-type]
                        note=note or None,
                        expires_at=expires_at,
                    ),
                )
            except DomainError as exc:
                if exc.status_code == 404:
                    raise
                await db_session.rollback()
                field = "expires_at" if "expires_at" in str(exc.detail) else "note"
                errors.add(field + suffix, str(exc.detail))
            else:
                if first(values, "from") == "home":  # allowed from the home page's list
                    return Redirect(
                        f"/?decided={decision}#home-waiting", status_code=HTTP_303_SEE_OTHER
                    )
                return Redirect(
                    f"/requests?decided={decision}#request-{request_id}",
                    status_code=HTTP_303_SEE_OTHER,
                )
        return await self._show(
            page, requests, failed=request_id, errors=errors, values=values, status_code=422
        )

    @post("/requests/{request_id:uuid}/withdraw", status_code=HTTP_303_SEE_OTHER)
    async def withdraw(
        self,
        page: NamedDependency[Page],
        requests: NamedDependency[ReuseRequestService],
        request_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        await requests.withdraw(identity, request_id)
        return Redirect("/requests?withdrawn=1#outgoing", status_code=HTTP_303_SEE_OTHER)
