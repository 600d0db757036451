"""HTTP routes of resources: thin, they parse and call the service.

Uploads are read from the raw request stream (see `exchange.resources.upload`). The
resource routes sit on a router whose body limit is the upload limit (a Litestar limit
is fixed per layer, and settings are only known when the app is made); the one route
with a JSON body has its own small limit, which the metadata it carries always fits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar
from uuid import UUID

from litestar import Controller, Request, Response, Router, delete, get, head, patch, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, InternalServerException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.accounts.identity import Identity
from exchange.clock import Clock
from exchange.config import Settings
from exchange.errors import DomainError, PayloadTooLarge
from exchange.i18n import _
from exchange.kernel import paging
from exchange.openapi import problems
from exchange.resources.download import describe_version, serve_version
from exchange.resources.openapi import (
    DownloadHeadOperation,
    DownloadOperation,
    PreviewOperation,
    ResourceUploadOperation,
    VersionUploadOperation,
)
from exchange.resources.previews import read_preview
from exchange.resources.schemas import ResourceOut, ResourceUpdate, VersionPage
from exchange.resources.services import ResourceService
from exchange.resources.upload import IncomingForm, UploadReceiver
from exchange.search.deps import (
    SEARCH_DESCRIPTION,
    SearchOperation,
    provide_search_params,
    provide_search_service,
)
from exchange.search.schemas import SearchPage
from exchange.search.services import SearchParams, SearchService

T = TypeVar("T")


async def provide_resource_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    clock: NamedDependency[Clock],
) -> ResourceService:
    return ResourceService(db_session, settings, clock, request.app.state["blob_store"])


def incoming_form(request: Request[Any, Any, Any]) -> IncomingForm:
    length = request.headers.get("content-length")
    return IncomingForm(
        content_type=request.headers.get("content-type", ""),
        content_length=int(length) if length and length.isdigit() else None,
        body=body_of(request),
    )


def _cut_form() -> Exception:
    return DomainError(
        _(
            "The upload ended before the file was complete (the connection dropped). Upload "
            "it again."
        )
    )


async def body_of(
    request: Request[Any, Any, Any], went_away: Callable[[], Exception] = _cut_form
) -> AsyncIterator[bytes]:
    """The request body as it arrives, with the framework's refusals as domain errors
    (`went_away` makes the error of a client that went away)."""
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException as exc:  # Litestar's word for "the client went away"
        raise went_away() from exc
    except ClientException as exc:
        if exc.status_code == 413:
            raise PayloadTooLarge(
                _("The upload is larger than the exchange accepts. Make the file smaller.")
            ) from exc
        raise


def _receiver(request: Request[Any, Any, Any], resources: ResourceService) -> UploadReceiver:
    return UploadReceiver(incoming_form(request), resources.settings, resources.store)


# Title, 20,000 characters of description, 100 ids...: far below this in UTF-8 JSON.
MAX_METADATA_BODY_BYTES = 256 * 1024


class ResourceController(Controller):
    path = "/api/resources"
    tags = ["resources"]
    dependencies = {"resources": Provide(provide_resource_service)}

    @post(
        operation_id="uploadResource",
        responses=problems(400, 408, 413, 415, 422, 507),
        operation_class=ResourceUploadOperation,
        summary="Share a file: multipart form with the part 'file' and metadata fields",
        description=(
            "Fields: title, kind, subject, grades (repeated or comma-separated), language, "
            "description, visibility (school|partners|selected), shared_with (school ids, "
            "for 'selected'), confidential, licence, derived_from, author_ids, co_authors "
            "(one per field), student_consent. The file is checked by its content; what "
            "schools do not share is refused. A student's work (kind student_work) leaves "
            "the school only with student_consent recorded: 'parents' (the parents agreed) "
            "or 'not_needed_anonymous' (it shows no student's name or face); without it "
            "its visibility is 'school', and a wider one is refused (422)."
        ),
        status_code=HTTP_201_CREATED,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
    ) -> ResourceOut:
        resource = await resources.create(identity, _receiver(request, resources))
        return await resources.describe(identity, resource)

    @post(
        "/{resource_id:uuid}/versions",
        operation_id="uploadResourceVersion",
        responses=problems(400, 408, 413, 415, 422, 507),
        operation_class=VersionUploadOperation,
        summary="Upload a new version of the file (an author or an admin of the owner school)",
        description=(
            "Multipart: the part 'file', the field change_note (what changed from the "
            "version before, shown in the history), and for a student's work the field "
            "student_consent ('parents' or 'not_needed_anonymous') restating the consent "
            "for the new file; a work shared as anonymous needs it."
        ),
        status_code=HTTP_201_CREATED,
    )
    async def add_version(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> ResourceOut:
        resource = await resources.add_version(identity, resource_id, _receiver(request, resources))
        return await resources.describe(identity, resource)

    @get(
        operation_id="searchResources",
        operation_class=SearchOperation,
        summary="Search the resources your school may read",
        description=SEARCH_DESCRIPTION,
        dependencies={
            "searches": Provide(provide_search_service),
            "search": Provide(provide_search_params, sync_to_thread=False),
        },
    )
    async def search(
        self,
        identity: NamedDependency[Identity],
        searches: NamedDependency[SearchService],
        search: NamedDependency[SearchParams],
    ) -> SearchPage:
        return await searches.search(identity, search)

    @get(
        "/{resource_id:uuid}",
        operation_id="getResource",
        summary="A resource: metadata, current version, provenance",
    )
    async def get_one(
        self,
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> Response[ResourceOut]:
        viewed = await resources.view(identity, resource_id)
        await resources.record_view(identity, viewed)
        return _private(viewed.out, viewed.facts)

    @patch(
        "/{resource_id:uuid}",
        operation_id="updateResource",
        summary="Change a resource's metadata (an author or an admin of the owner school)",
        request_max_body_size=MAX_METADATA_BODY_BYTES,
    )
    async def update(
        self,
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
        data: JSONBody[ResourceUpdate],
    ) -> ResourceOut:
        resource = await resources.update(identity, resource_id, data)
        return await resources.describe(identity, resource)

    @delete(
        "/{resource_id:uuid}",
        operation_id="deleteResource",
        summary="Delete a resource and all its versions (an author or an admin of the owner "
        "school)",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def remove(
        self,
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> None:
        await resources.delete(identity, resource_id)

    @get(
        "/{resource_id:uuid}/versions",
        operation_id="listResourceVersions",
        summary="The versions of a resource, newest first",
    )
    async def versions(
        self,
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
        limit: paging.Limit = paging.DEFAULT_LIMIT,
        cursor: paging.Cursor = None,
    ) -> Response[VersionPage]:
        resource, versions = await resources.versions(
            identity, resource_id, limit=limit, cursor=cursor
        )
        return _private(versions, resource)

    @get(
        "/{resource_id:uuid}/content",
        operation_id="downloadResource",
        responses=problems(416, 422),
        operation_class=DownloadOperation,
        summary="Download the current file (Range, If-Range, If-None-Match supported)",
    )
    async def content(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> Response[Any]:
        return await serve_version(
            request.headers, resources, identity, resource_id, disposition=_disposition(request)
        )

    @get(
        "/{resource_id:uuid}/versions/{number:int}/content",
        operation_id="downloadResourceVersion",
        responses=problems(416, 422),
        operation_class=DownloadOperation,
        summary="Download one version's file (Range, If-Range, If-None-Match supported)",
    )
    async def version_content(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
        number: FromPath[int],
    ) -> Response[Any]:
        return await serve_version(
            request.headers,
            resources,
            identity,
            resource_id,
            number,
            disposition=_disposition(request),
        )

    @get(
        "/{resource_id:uuid}/preview",
        operation_id="getResourcePreview",
        operation_class=PreviewOperation,
        summary="A small image of the current file (at most 20 KB, WebP); 404 while there is none",
        description=(
            "Readable by whoever may read the file. The resource's `preview` says whether "
            "one is `ready`, `pending` (being made) or `none` (this file has none)."
        ),
    )
    async def preview(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> Response[bytes | None]:
        return await preview_response(request, identity, resources, resource_id, None)

    @get(
        "/{resource_id:uuid}/versions/{number:int}/preview",
        operation_id="getResourceVersionPreview",
        operation_class=PreviewOperation,
        summary="A small image of one version's file (at most 20 KB, WebP); 404 while "
        "there is none",
        description="The version's `preview` says whether one is `ready`, `pending` or `none`.",
    )
    async def version_preview(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
        number: FromPath[int],
    ) -> Response[bytes | None]:
        return await preview_response(request, identity, resources, resource_id, number)

    @head(
        "/{resource_id:uuid}/content",
        operation_id="describeResourceContent",
        responses=problems(416, 422),
        operation_class=DownloadHeadOperation,
        summary="The headers of the current file's download (size, type, ETag), no body",
    )
    async def content_head(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> Response[None]:
        return await describe_version(
            request.headers, resources, identity, resource_id, disposition=_disposition(request)
        )

    @head(
        "/{resource_id:uuid}/versions/{number:int}/content",
        operation_id="describeResourceVersionContent",
        responses=problems(416, 422),
        operation_class=DownloadHeadOperation,
        summary="The headers of one version's download (size, type, ETag), no body",
    )
    async def version_content_head(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
        number: FromPath[int],
    ) -> Response[None]:
        return await describe_version(
            request.headers,
            resources,
            identity,
            resource_id,
            number,
            disposition=_disposition(request),
        )


def _disposition(request: Request[Any, Any, Any]) -> str | None:
    """`?disposition=` as sent (described in the OpenAPI document by the operation)."""
    return request.query_params.get("disposition")


async def preview_response(
    request: Request[Any, Any, Any],
    identity: Identity,
    resources: ResourceService,
    resource_id: UUID,
    number: int | None,
) -> Response[bytes | None]:
    """A preview image's answer (the API's and the pages'): its bytes, or 304 when the
    caller's copy (`If-None-Match`) is current."""
    preview = await read_preview(
        resources,
        identity,
        resource_id,
        number,
        if_none_match=request.headers.get("if-none-match"),
    )
    headers = {
        "ETag": preview.etag,
        "Cache-Control": preview.cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if preview.content is None:
        return Response(None, status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(preview.content, media_type=preview.media_type, headers=headers)


def _private(body: T, resource: policy.AnyResource) -> Response[T]:
    """Rule 6: a confidential resource's metadata is never stored by a cache."""
    return Response(
        body, headers={"Cache-Control": policy.cache_control_for(resource) or "private"}
    )


def resource_routes(settings: Settings) -> list[Any]:
    """The resource routes, on a router whose body limit is the upload limit."""
    return [
        Router(
            path="/",
            route_handlers=[ResourceController],
            request_max_body_size=settings.request_max_body_bytes,
        )
    ]
