"""HTTP route of the dashboard."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide

from exchange.accounts.identity import Identity
from exchange.dashboard.schemas import Dashboard
from exchange.dashboard.services import DashboardService


class DashboardController(Controller):
    path = "/api/dashboard"
    tags = ["dashboard"]
    dependencies = {"dashboard": Provide(DashboardService, sync_to_thread=False)}

    @get(
        operation_id="getDashboard",
        summary="Open and overdue requests both ways, and new partner resources",
    )
    async def show(
        self, dashboard: NamedDependency[DashboardService], identity: NamedDependency[Identity]
    ) -> Dashboard:
        return await dashboard.show(identity)
