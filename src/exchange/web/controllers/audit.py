"""The audit trail on a page (`/audit`): what happened to the school's resources,
requests, partnerships and accounts, newest first, each entry in a sentence of the
reader's language. The API's list, its policy (the owner school's admins) and its
filters: one resource (`resource_id`, its id or its page's address) and a first day
(`since`)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency, Provide

from exchange.audit.services import AuditService
from exchange.clock import start_of_day
from exchange.web.forms import FormErrors
from exchange.web.language import _
from exchange.web.page import Page

_AN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


class AuditPages(Controller):
    include_in_schema = False
    dependencies = {"audit": Provide(AuditService, sync_to_thread=False)}

    @get("/audit")
    async def index(self, page: NamedDependency[Page], audit: NamedDependency[AuditService]) -> Any:
        identity = page.require_member()
        query = page.request.query_params
        resource_text = (query.get("resource_id") or "").strip()
        since_text = (query.get("since") or "").strip()
        errors = FormErrors()
        resource_id: UUID | None = None
        if resource_text:
            found = _AN_ID.search(resource_text)
            if found:
                resource_id = UUID(found.group(0))
            else:
                errors.add(
                    "resource_id",
                    _("Give the resource's address (from its page) or its number."),
                )
        since: datetime | None = None
        if since_text:
            try:
                since = start_of_day(date.fromisoformat(since_text))
            except ValueError:
                errors.add("since", _("Give the date as day, month and year, or none."))
        cursor = query.get("cursor") or None
        trail = await audit.page(
            identity,
            resource_id=resource_id,
            since=since,
            cursor=None if errors else cursor,
        )
        return page.render(
            "audit/index.html",
            status_code=422 if errors else 200,
            entries=trail.items,
            next_cursor=trail.next_cursor,
            paged=cursor is not None,
            values={"resource_id": [resource_text], "since": [since_text]},
            errors=errors,
            filtered=resource_id is not None or since is not None,
        )
