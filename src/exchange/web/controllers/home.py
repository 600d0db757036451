"""The home page (what waits for me, what partners shared, my inbox) and the inbox.

The home page's short lists are sections with ids of their own. With htmx they refresh
in place: every minute and when the window comes back into focus, and after an action
taken from them (allowing a request, "I have seen these", marking notices read), whose
form posts and follows the redirect back to `/` as without JavaScript; the sections of
that page replace the ones shown. Without JavaScript the same forms post and come back
to the home page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.first_run import FirstRunService
from exchange.clock import Clock
from exchange.dashboard.services import DashboardService
from exchange.kernel import paging
from exchange.notifications.controllers import notification_out
from exchange.notifications.service import InboxService
from exchange.partnerships.services import PartnershipService
from exchange.reuse.requests import ListWanted, ReuseRequestService
from exchange.web.controllers.first_run import first_run_form
from exchange.web.forms import FormErrors, first, form_values
from exchange.web.page import Page

SHOWN = 5


class HomeController(Controller):
    include_in_schema = False
    dependencies = {
        "requests": Provide(ReuseRequestService, sync_to_thread=False),
        "inbox": Provide(InboxService, sync_to_thread=False),
        "partnerships": Provide(PartnershipService, sync_to_thread=False),
    }

    @get("/")
    async def home(
        self,
        page: NamedDependency[Page],
        requests: NamedDependency[ReuseRequestService],
        inbox: NamedDependency[InboxService],
        partnerships: NamedDependency[PartnershipService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
    ) -> Any:
        if page.viewer is None and await FirstRunService(db_session, page.settings, clock).needed():
            return first_run_form(page, {}, FormErrors())
        identity = page.require_member()
        dashboard = await DashboardService(db_session, page.settings, clock).show(identity)
        incoming, outgoing = await requests.lists(
            identity,
            ListWanted("incoming", status="pending", limit=paging.MAX_LIMIT),
            ListWanted("outgoing", limit=paging.MAX_LIMIT),
        )
        waiting = sorted(incoming.items, key=lambda r: (not r.overdue, r.respond_by))
        answers = [r for r in outgoing.items if r.status in {"approved", "denied", "closed"}]
        notices = await inbox.newest_unread(identity, SHOWN)
        active, more_partnerships = await partnerships.newest_active(identity, SHOWN)
        return page.render(
            "home.html",
            dashboard=dashboard,
            waiting=waiting[:SHOWN],
            waiting_count=len(waiting),
            answers=answers[:SHOWN],
            answers_more=len(answers) > SHOWN or outgoing.next_cursor is not None,
            unread=notices.unread_count,
            notices=[notification_out(n) for n in notices.items],
            partnerships=active,
            partnerships_more=more_partnerships,
            me=identity,
            deleted=page.request.query_params.get("deleted") == "1",
            decided=page.request.query_params.get("decided"),
            read=page.request.query_params.get("read") == "1",
        )

    @post("/dashboard/seen", status_code=HTTP_303_SEE_OTHER)
    async def dashboard_seen(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
    ) -> Any:
        """The member saw what partners shared until the moment the page showed it."""
        identity = page.require_member()
        sent = first(await form_values(request), "seen_until")
        try:
            seen_until = datetime.fromisoformat(sent)
        except ValueError:
            # Not the moment the page wrote: the member has seen the list as it is now.
            seen_until = clock.now()
        await DashboardService(db_session, page.settings, clock).mark_seen(identity, seen_until)
        return Redirect("/#home-recent", status_code=HTTP_303_SEE_OTHER)

    @get("/inbox")
    async def inbox(self, page: NamedDependency[Page], inbox: NamedDependency[InboxService]) -> Any:
        identity = page.require_member()
        cursor = page.request.query_params.get("cursor") or None
        found = await inbox.page(identity, cursor=cursor)
        return page.render(
            "inbox.html",
            items=[notification_out(n) for n in found.items],
            unread=found.unread_count,
            next_cursor=found.next_cursor,
        )

    @post("/inbox/read", status_code=HTTP_303_SEE_OTHER)
    async def read_all(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        inbox: NamedDependency[InboxService],
    ) -> Any:
        identity = page.require_member()
        await inbox.mark_all_read(identity)
        if first(await form_values(request), "from") == "home":
            return Redirect("/?read=1#home-inbox", status_code=HTTP_303_SEE_OTHER)
        return Redirect("/inbox", status_code=HTTP_303_SEE_OTHER)
