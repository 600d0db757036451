"""HTTP routes of the audit trail and the per-resource download report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.audit.schemas import AuditPage, DownloadReport
from exchange.audit.services import MAX_PAGE, AuditService
from exchange.clock import Clock
from exchange.config import Settings


async def provide_audit(
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> AuditService:
    return AuditService(db_session, settings, clock)


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]
    dependencies = {"audit": Provide(provide_audit)}

    @get(
        operation_id="listAuditEvents",
        summary="Your school's audit trail, newest first (admins)",
    )
    async def list(
        self,
        audit: NamedDependency[AuditService],
        identity: NamedDependency[Identity],
        resource_id: FromQuery[UUID | None] = None,
        since: FromQuery[datetime | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
    ) -> AuditPage:
        return await audit.page(
            identity, resource_id=resource_id, since=since, limit=limit, cursor=cursor
        )


class DownloadReportController(Controller):
    path = "/api/resources/{resource_id:uuid}/downloads"
    tags = ["audit"]
    dependencies = {"audit": Provide(provide_audit)}

    @get(
        operation_id="getDownloadReport",
        summary="Who downloaded this resource: which schools, how often, when last",
    )
    async def report(
        self,
        audit: NamedDependency[AuditService],
        identity: NamedDependency[Identity],
        resource_id: FromPath[UUID],
    ) -> DownloadReport:
        return await audit.downloads(identity, resource_id)
