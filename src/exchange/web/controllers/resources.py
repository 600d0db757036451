"""A resource's pages: sharing one (`/resources/new`), reading one, downloading it,
asking its authors for permission, and the owner's view of who may do what with it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from exchange import policy
from exchange.audit.services import AuditService
from exchange.clock import Clock
from exchange.config import Settings
from exchange.errors import (
    DomainError,
    RuleRefusal,
)
from exchange.kernel import paging
from exchange.models import PartnershipStatus
from exchange.partnerships.services import PartnershipService
from exchange.resources.controllers import preview_response, provide_resource_service
from exchange.resources.download import serve_version
from exchange.resources.metadata import FORM_FIELDS, KINDS, LICENCES
from exchange.resources.schemas import ResourceUpdate
from exchange.resources.services import ResourceService
from exchange.resources.view import grants_of, versions_of
from exchange.reuse.forwards import ForwardService
from exchange.reuse.grants import GrantService
from exchange.reuse.requests import ListWanted, ReuseRequestService
from exchange.reuse.schemas import ForwardIn, ReuseRequestCreate
from exchange.web.forms import FormErrors, first, form_values
from exchange.web.language import _
from exchange.web.page import Page
from exchange.web.uploads import RefusedUpload, place_upload_refusal, take_upload_form

SCOPES = ("adapt", "share", "publish")


async def _partners(page: Page, session: AsyncSession, clock: Clock) -> list[tuple[UUID, str]]:
    """The school's active partners, as (id, name), for `shared_with` and forwarding."""
    identity = page.require_member()
    partnerships = PartnershipService(session, page.settings, clock)
    partners: dict[UUID, str] = {}
    cursor: str | None = None
    while True:
        views, cursor = await partnerships.list_for(
            identity, status=PartnershipStatus.ACTIVE, limit=paging.MAX_LIMIT, cursor=cursor
        )
        for view in views:
            for school_id, school in view.schools.items():
                if school_id != identity.school_id:
                    partners[school_id] = school.name
        if cursor is None:
            break
    return sorted(partners.items(), key=lambda item: item[1].casefold())


def _upload_form(
    page: Page,
    partners: list[tuple[UUID, str]],
    values: dict[str, list[str]],
    errors: FormErrors,
    status_code: int = 200,
) -> Any:
    return page.render(
        "resources/new.html",
        status_code=status_code,
        partners=partners,
        values=values,
        errors=errors,
        kinds=KINDS,
        licences=LICENCES,
        consent_supported="student_consent" in FORM_FIELDS,
        max_upload_bytes=page.settings.max_upload_bytes,
    )


class UploadController(Controller):
    """The upload form: on a router whose body limit is the upload limit."""

    include_in_schema = False
    dependencies = {"resources": Provide(provide_resource_service)}

    @get("/resources/new")
    async def new(
        self,
        page: NamedDependency[Page],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
    ) -> Any:
        page.require_member()
        values: dict[str, list[str]] = {}
        derived_from = page.request.query_params.get("derived_from")
        if derived_from:
            values["derived_from"] = [derived_from]
        partners = await _partners(page, db_session, clock)
        return _upload_form(page, partners, values, FormErrors())

    @post("/resources/new", opt={"exclude_from_csrf": True}, status_code=HTTP_303_SEE_OTHER)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
    ) -> Any:
        identity = page.require_member()
        taken = await take_upload_form(
            request,
            resources,
            db_session,
            lambda receiver: resources.create(identity, receiver),
        )
        if isinstance(taken, RefusedUpload):
            partners = await _partners(page, db_session, clock)
            return _upload_form(
                page, partners, taken.values, taken.errors, status_code=taken.status_code
            )
        return Redirect(f"/resources/{taken.id}?shared=1", status_code=HTTP_303_SEE_OTHER)


class ResourcePages(Controller):
    include_in_schema = False
    dependencies = {"resources": Provide(provide_resource_service)}

    @get("/resources/{resource_id:uuid}")
    async def show(
        self,
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        settings: NamedDependency[Settings],
        resource_id: FromPath[UUID],
    ) -> Any:
        return await self._show(page, resources, db_session, clock, settings, resource_id)

    async def _show(
        self,
        page: Page,
        resources: ResourceService,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        resource_id: UUID,
        *,
        ask_errors: FormErrors | None = None,
        ask_values: dict[str, list[str]] | None = None,
        forward_errors: FormErrors | None = None,
        status_code: int = 200,
    ) -> Any:
        identity = page.require_member()
        # What the API answers for it, read and audited (rule 6) as the API does, and
        # beside it what the page shows more, read the same way (`resources.view`).
        viewed = await resources.view(identity, resource_id)
        await resources.record_view(identity, viewed)
        facts = viewed.facts
        now = clock.now()
        versions = await versions_of(session, viewed)
        grants = await grants_of(session, identity, viewed, now)
        owner = policy.is_owner_school(identity, facts)
        context: dict[str, Any] = {
            "resource": viewed.out,
            "versions": versions,
            "owner": owner,
            "grants": grants,
            "scopes": SCOPES,
            "ask_errors": ask_errors or FormErrors(),
            "ask_values": ask_values or {},
            "forward_errors": forward_errors or FormErrors(),
            "shared": page.request.query_params.get("shared") == "1",
            "asked": page.request.query_params.get("asked") == "1",
            "forwarded": page.request.query_params.get("forwarded") == "1",
            "saved": page.request.query_params.get("saved") == "1",
            "revoked": page.request.query_params.get("revoked") == "1",
            "new_version": page.request.query_params.get("new_version") == "1",
            "can_decide": policy.can_decide(identity, facts),
            "requests": [],
            "downloads": None,
            "forwards": None,
            "forward_targets": [],
        }
        if owner:
            [about_it] = await ReuseRequestService(session, settings, clock).lists(
                identity, ListWanted("incoming", limit=paging.MAX_LIMIT, resource_id=resource_id)
            )
            context["requests"] = about_it.items
            # Where it went on from partners: the owner's view (the page shows it there).
            context["forwards"] = await ForwardService(session, settings, clock).chain(
                identity, resource_id
            )
            if policy.can_read_download_report(identity, facts):
                context["downloads"] = await AuditService(session, settings, clock).downloads(
                    identity, resource_id
                )
        if not owner and any(
            g.scope == "share" and g.status == "active" and not facts.confidential for g in grants
        ):
            context["forward_targets"] = [
                (school_id, name)
                for school_id, name in await _partners(page, session, clock)
                if school_id != facts.owner_school_id
            ]
        response = page.render("resources/show.html", status_code=status_code, **context)
        cache = policy.cache_control_for(facts)
        if cache:
            response.headers["Cache-Control"] = cache
        return response

    @get("/resources/{resource_id:uuid}/content")
    async def content(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> Response[Any]:
        identity = page.require_member()
        return await serve_version(
            request.headers,
            resources,
            identity,
            resource_id,
            disposition=request.query_params.get("disposition"),
        )

    @get("/resources/{resource_id:uuid}/versions/{number:int}/content")
    async def version_content(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
        number: FromPath[int],
    ) -> Response[Any]:
        identity = page.require_member()
        return await serve_version(
            request.headers,
            resources,
            identity,
            resource_id,
            number,
            disposition=request.query_params.get("disposition"),
        )

    @get("/resources/{resource_id:uuid}/preview")
    async def preview(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> Response[Any]:
        """The current file's preview image (as the API's), for a signed-in member."""
        identity = page.require_member()
        return await preview_response(request, identity, resources, resource_id, None)

    @get("/resources/{resource_id:uuid}/versions/{number:int}/preview")
    async def version_preview(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
        number: FromPath[int],
    ) -> Response[Any]:
        """One version's preview: it never changes, so the pages link to it and a
        browser keeps it."""
        identity = page.require_member()
        return await preview_response(request, identity, resources, resource_id, number)

    @post("/resources/{resource_id:uuid}/ask", status_code=HTTP_303_SEE_OTHER)
    async def ask(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        settings: NamedDependency[Settings],
        resource_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        values = await form_values(request)
        scope, purpose, audience = (
            first(values, "scope"),
            first(values, "purpose"),
            first(values, "audience"),
        )
        errors = FormErrors()
        if scope not in SCOPES:
            errors.add("scope", _("Choose what you want to do with it."))
        if not purpose:
            errors.add("purpose", _("Say what you want to use it for."))
        if not audience:
            errors.add("audience", _("Say who will see or use it."))
        if not errors:
            try:
                await ReuseRequestService(db_session, settings, clock).create(
                    identity,
                    resource_id,
                    ReuseRequestCreate(scope=scope, purpose=purpose, audience=audience),  # type: ignore[arg-type]
                )
            except DomainError as exc:
                if exc.status_code == 404:
                    raise
                await db_session.rollback()
                field = "scope" if isinstance(exc, RuleRefusal) else None
                errors.add(field, str(exc.detail))
            else:
                return Redirect(
                    f"/resources/{resource_id}?asked=1#ask", status_code=HTTP_303_SEE_OTHER
                )
        return await self._show(
            page,
            resources,
            db_session,
            clock,
            settings,
            resource_id,
            ask_errors=errors,
            ask_values=values,
            status_code=422,
        )

    @post("/resources/{resource_id:uuid}/forward", status_code=HTTP_303_SEE_OTHER)
    async def forward(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        settings: NamedDependency[Settings],
        resource_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        values = await form_values(request)
        errors = FormErrors()
        try:
            school_id = UUID(first(values, "school_id"))
        except ValueError:
            errors.add("school_id", _("Choose the partner school to pass it to."))
        else:
            try:
                await ForwardService(db_session, settings, clock).forward(
                    identity, resource_id, ForwardIn(school_id=school_id)
                )
            except DomainError as exc:
                if exc.status_code == 404 and "resource" in str(exc.detail).lower():
                    raise
                await db_session.rollback()
                errors.add("school_id", str(exc.detail))
            else:
                return Redirect(
                    f"/resources/{resource_id}?forwarded=1#forward",
                    status_code=HTTP_303_SEE_OTHER,
                )
        return await self._show(
            page,
            resources,
            db_session,
            clock,
            settings,
            resource_id,
            forward_errors=errors,
            status_code=422,
        )

    @get("/resources/{resource_id:uuid}/edit")
    async def edit(
        self,
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        resource_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        resource = await resources.get(identity, resource_id)
        policy.require_can_edit(identity, resource)
        described = await resources.describe(identity, resource)
        values: dict[str, list[str]] = {
            "title": [described.title],
            "kind": [described.kind],
            "subject": [described.subject or ""],
            "grades": [str(g) for g in described.grades],
            "language": [described.language or ""],
            "description": [described.description],
            "visibility": [described.visibility],
            "shared_with": [str(s) for s in described.shared_with],
            "confidential": ["true" if described.confidential else ""],
            "licence": [described.licence],
            "student_consent": [resource.student_consent or ""],
        }
        return await self._edit_form(page, db_session, clock, described, values, FormErrors())

    async def _edit_form(
        self,
        page: Page,
        session: AsyncSession,
        clock: Clock,
        described: Any,
        values: dict[str, list[str]],
        errors: FormErrors,
        status_code: int = 200,
    ) -> Any:
        return page.render(
            "resources/edit.html",
            status_code=status_code,
            resource=described,
            partners=await _partners(page, session, clock),
            values=values,
            errors=errors,
            kinds=KINDS,
            licences=LICENCES,
            consent_supported="student_consent" in FORM_FIELDS,
        )

    @post("/resources/{resource_id:uuid}/edit", status_code=HTTP_303_SEE_OTHER)
    async def save(
        self,
        request: Request[Any, Any, Any],
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        resource_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        values = await form_values(request)
        errors = FormErrors()
        grades: list[int] = []
        for grade in values.get("grades", []):
            if grade.isdigit():
                grades.append(int(grade))
            else:
                errors.add("grades", _("Choose grades from 1 to 11."))
        shared_with: list[UUID] = []
        for school_id in values.get("shared_with", []):
            try:
                shared_with.append(UUID(school_id))
            except ValueError:
                errors.add("shared_with", _("Choose partner schools from the list."))
        if not errors:
            change = ResourceUpdate(
                title=first(values, "title"),
                kind=first(values, "kind"),
                subject=first(values, "subject") or None,
                grades=grades,
                language=first(values, "language") or None,
                description=first(values, "description"),
                visibility=first(values, "visibility", "partners"),
                shared_with=shared_with,
                confidential=first(values, "confidential") in {"true", "on"},
                licence=first(values, "licence", "all_rights_reserved"),
            )
            if "student_consent" in FORM_FIELDS:
                change.student_consent = first(values, "student_consent") or None
            try:
                await resources.update(identity, resource_id, change)
            except DomainError as exc:
                if exc.status_code == 404:
                    raise
                await db_session.rollback()
                place_upload_refusal(errors, exc)
            else:
                return Redirect(f"/resources/{resource_id}?saved=1", status_code=HTTP_303_SEE_OTHER)
        resource = await resources.get(identity, resource_id)
        described = await resources.describe(identity, resource)
        return await self._edit_form(
            page, db_session, clock, described, values, errors, status_code=422
        )

    @post(
        "/resources/{resource_id:uuid}/grants/{grant_id:uuid}/revoke",
        status_code=HTTP_303_SEE_OTHER,
    )
    async def revoke(
        self,
        page: NamedDependency[Page],
        db_session: NamedDependency[AsyncSession],
        clock: NamedDependency[Clock],
        settings: NamedDependency[Settings],
        resource_id: FromPath[UUID],
        grant_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        await GrantService(db_session, settings, clock).revoke(identity, resource_id, grant_id)
        return Redirect(
            f"/resources/{resource_id}?revoked=1#grants", status_code=HTTP_303_SEE_OTHER
        )

    @post("/resources/{resource_id:uuid}/delete", status_code=HTTP_303_SEE_OTHER)
    async def delete(
        self,
        page: NamedDependency[Page],
        resources: NamedDependency[ResourceService],
        resource_id: FromPath[UUID],
    ) -> Any:
        identity = page.require_member()
        await resources.delete(identity, resource_id)
        return Redirect("/?deleted=1", status_code=HTTP_303_SEE_OTHER)
