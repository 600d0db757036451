"""HTTP route of the dashboard."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.config import Settings
from exchange.dashboard.schemas import Dashboard
from exchange.dashboard.services import DashboardService


async def provide_dashboard(
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> DashboardService:
    return DashboardService(db_session, settings, clock)


class DashboardController(Controller):
    path = "/api/dashboard"
    tags = ["dashboard"]
    dependencies = {"dashboard": Provide(provide_dashboard)}

    @get(
        operation_id="getDashboard",
        summary="Open and overdue requests both ways, and new partner resources",
    )
    async def show(
        self, dashboard: NamedDependency[DashboardService], identity: NamedDependency[Identity]
    ) -> Dashboard:
        return await dashboard.show(identity)
