"""HTTP route of the dashboard."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from exchange.accounts.identity import Identity
from exchange.dashboard.schemas import Dashboard, DashboardSeen, LastLook
from exchange.dashboard.services import DashboardService
from exchange.errors import InvalidInput
from exchange.i18n import _


class DashboardController(Controller):
    path = "/api/dashboard"
    tags = ["dashboard"]
    dependencies = {"dashboard": Provide(DashboardService, sync_to_thread=False)}

    @get(
        operation_id="getDashboard",
        summary="Open and overdue requests both ways, and new partner resources",
        description="Reads only: what is new counts from the last look the member recorded "
        "with `POST /api/dashboard/seen`.",
    )
    async def show(
        self, dashboard: NamedDependency[DashboardService], identity: NamedDependency[Identity]
    ) -> Dashboard:
        return await dashboard.show(identity)

    @post(
        "/seen",
        operation_id="markDashboardSeen",
        summary="Record that the member saw the new partner resources until a moment",
        description=(
            "Send the `until` of `new_partner_resources` from the dashboard the member "
            "read: later dashboards count new partner resources from there. Reading the "
            "dashboard records nothing by itself."
        ),
        status_code=HTTP_200_OK,
    )
    async def mark_seen(
        self,
        dashboard: NamedDependency[DashboardService],
        identity: NamedDependency[Identity],
        data: JSONBody[DashboardSeen],
        request: Request[Any, Any, Any],
    ) -> LastLook:
        # Litestar reads a number as seconds since 1970; a look is the `until` sent back.
        if not isinstance((await request.json()).get("seen_until"), str):
            raise InvalidInput(
                _(
                    "`seen_until` is a moment written as text: send back the `until` you "
                    "were given, e.g. 2026-06-30T08:00:00Z."
                ),
                errors=[{"field": "seen_until", "message": "not a moment written as text"}],
            )
        return LastLook(seen_until=await dashboard.mark_seen(identity, data.seen_until))
