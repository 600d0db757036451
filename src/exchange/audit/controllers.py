"""HTTP routes of the audit trail and the per-resource download report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter

from exchange.accounts.identity import Identity
from exchange.audit.schemas import AuditPage, DownloadReport
from exchange.audit.services import MAX_PAGE, AuditService
from exchange.errors import InvalidInput
from exchange.i18n import _
from exchange.openapi import problems


class AuditController(Controller):
    path = "/api/audit"
    tags = ["audit"]
    dependencies = {"audit": Provide(AuditService, sync_to_thread=False)}

    @get(
        operation_id="listAuditEvents",
        responses=problems(403, 404),
        summary="Your school's audit trail, newest first (admins)",
    )
    async def list(
        self,
        audit: NamedDependency[AuditService],
        identity: NamedDependency[Identity],
        resource_id: FromQuery[UUID | None] = None,
        since: Annotated[
            str | None,
            QueryParameter(format="date-time", description="RFC 3339, e.g. 2026-09-01T08:00:00Z"),
        ] = None,
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
    ) -> AuditPage:
        return await audit.page(
            identity, resource_id=resource_id, since=_moment(since), limit=limit, cursor=cursor
        )


def _moment(value: str | None) -> datetime | None:
    """An RFC 3339 date and time, and nothing else (Litestar alone would take a number
    of seconds too, which the API does not document)."""
    if value is None:
        return None
    try:
        return msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        raise InvalidInput(
            _("{field} must be a date and time such as 2026-09-01T08:00:00Z.", field="'since'"),
            field="since",
        ) from None


class DownloadReportController(Controller):
    path = "/api/resources/{resource_id:uuid}/downloads"
    tags = ["audit"]
    dependencies = {"audit": Provide(AuditService, sync_to_thread=False)}

    @get(
        operation_id="getDownloadReport",
        responses=problems(403),
        summary="Who downloaded this resource: which schools, how often, when last",
    )
    async def report(
        self,
        audit: NamedDependency[AuditService],
        identity: NamedDependency[Identity],
        resource_id: FromPath[UUID],
    ) -> DownloadReport:
        return await audit.downloads(identity, resource_id)
