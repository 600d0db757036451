"""The upload page's resumable uploads: the same tus protocol and service as
`/api/uploads`, for a member signed in to the pages (its session cookie), with the
form token sent in a header on every request that changes something.

`tus-js-client` on `/resources/new` speaks to these routes; the answers, refusals
included, are the API's (tus headers, problem details the script shows by the form).
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from litestar import Controller, Request, Response, delete, head, patch, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from exchange.errors import DomainError
from exchange.problems import handle_exception
from exchange.resources.controllers import provide_resource_service
from exchange.resources.resumable import ResumableUploads
from exchange.resources.resumable_routes import (
    abandon_upload,
    append_piece,
    begin_upload,
    provide_uploads,
    upload_offset,
)
from exchange.web.page import Page
from exchange.web.uploads import form_token_matches

PAGE_UPLOADS_PATH = "/resources/uploads"
_NO_CHECK = {"exclude_from_csrf": True}


def _require_form_token(request: Request[Any, Any, Any]) -> None:
    """The page's form token, sent by the script in the CSRF header."""
    csrf = request.app.csrf_config
    assert csrf is not None
    sent = request.headers.get(csrf.header_name)
    if not form_token_matches(sent, request.cookies.get(csrf.cookie_name), csrf.secret):
        raise PermissionDeniedException("CSRF token verification failed")


class ResumablePageUploads(Controller):
    """tus for the upload page: on the router whose body limit is the upload limit."""

    path = PAGE_UPLOADS_PATH
    include_in_schema = False
    dependencies = {
        "resources": Provide(provide_resource_service),
        "uploads": Provide(provide_uploads),
    }

    @post(opt=_NO_CHECK, status_code=HTTP_201_CREATED)
    async def create(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        uploads: NamedDependency[ResumableUploads],
    ) -> Response[Any]:
        identity = page.require_member()
        _require_form_token(request)
        try:
            return await begin_upload(request, identity, uploads, PAGE_UPLOADS_PATH)
        except DomainError as exc:
            return handle_exception(request, exc)

    @head("/{upload_id:uuid}")
    async def offset(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        uploads: NamedDependency[ResumableUploads],
        upload_id: FromPath[UUID],
    ) -> Response[None]:
        identity = page.require_member()
        try:
            return await upload_offset(request, identity, uploads, upload_id)
        except DomainError as exc:
            # (a problem without its body, as HEAD answers)
            return cast(Response[None], handle_exception(request, exc))

    @patch("/{upload_id:uuid}", opt=_NO_CHECK, status_code=HTTP_204_NO_CONTENT)
    async def append(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        uploads: NamedDependency[ResumableUploads],
        upload_id: FromPath[UUID],
    ) -> Response[None]:
        identity = page.require_member()
        _require_form_token(request)
        try:
            return await append_piece(request, identity, uploads, upload_id)
        except DomainError as exc:
            return cast(Response[None], handle_exception(request, exc))

    @delete("/{upload_id:uuid}", opt=_NO_CHECK, status_code=HTTP_204_NO_CONTENT)
    async def abandon(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        uploads: NamedDependency[ResumableUploads],
        upload_id: FromPath[UUID],
    ) -> Response[None]:
        identity = page.require_member()
        _require_form_token(request)
        try:
            return await abandon_upload(request, identity, uploads, upload_id)
        except DomainError as exc:
            return cast(Response[None], handle_exception(request, exc))
