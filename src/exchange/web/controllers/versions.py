"""A new version of a resource from the page (`/resources/{id}/versions/new`): the file
and what changed in it, through the API's pipeline, with refusals next to their field."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.models import ResourceKind
from exchange.resources.controllers import provide_resource_service
from exchange.resources.metadata import MAX_CHANGE_NOTE_CHARS, VERSION_FORM_FIELDS
from exchange.resources.schemas import ResourceOut
from exchange.resources.services import ResourceService
from exchange.web.forms import FormErrors
from exchange.web.page import Page
from exchange.web.uploads import RefusedUpload, take_upload_form

VERSION_PAGE_FIELDS = frozenset({*VERSION_FORM_FIELDS, "file"})


def _version_form(
    page: Page,
    resource: ResourceOut,
    values: dict[str, list[str]],
    errors: FormErrors,
    status_code: int = 200,
) -> Any:
    return page.render(
        "resources/new_version.html",
        status_code=status_code,
        resource=resource,
        values=values,
        errors=errors,
        student_work=resource.kind == ResourceKind.STUDENT_WORK.value,
        max_upload_bytes=page.settings.max_upload_bytes,
        max_note_chars=MAX_CHANGE_NOTE_CHARS,
    )


class VersionPages(Controller):
    """On the router whose body limit is the upload limit."""

    include_in_schema = False
    dependencies = {"resources": Provide(provide_resource_service)}

    @get("/resources/{resource_id:uuid}/versions/new")
    async def new(
        self,
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        resource = await resources.get(identity, resource_id)
        policy.require_can_edit(identity, resource, policy.EditAction.ADD_VERSION)
        described = await resources.describe(identity, resource)
        values = {"student_consent": [resource.student_consent or ""]}
        return _version_form(page, described, values, FormErrors())

    @post(
        "/resources/{resource_id:uuid}/versions/new",
        opt={"exclude_from_csrf": True},
        status_code=HTTP_303_SEE_OTHER,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        db_session: NamedDependency[AsyncSession],
        resource_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        taken = await take_upload_form(
            request,
            resources,
            db_session,
            lambda receiver: resources.add_version(identity, resource_id, receiver),
            VERSION_PAGE_FIELDS,
        )
        if isinstance(taken, RefusedUpload):
            current = await resources.get(identity, resource_id)
            described = await resources.describe(identity, current)
            return _version_form(
                page, described, taken.values, taken.errors, status_code=taken.status_code
            )
        return Redirect(
            f"/resources/{taken.id}?new_version=1#versions", status_code=HTTP_303_SEE_OTHER
        )
