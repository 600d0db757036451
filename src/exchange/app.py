"""The app factory: one function wires settings, database, routes, errors and docs."""

from __future__ import annotations

import gc
from typing import Annotated, Any, get_args, get_origin

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Request
from litestar._asgi.routing_trie.types import ASGIHandlerTuple
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware._utils import build_exclude_path_pattern
from litestar.middleware.csrf import CSRFMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute

from exchange import __version__
from exchange.accounts.controllers import AuthController, MeController, MemberController
from exchange.accounts.identity import BearerTokenMiddleware, Identity, provide_identity
from exchange.activities.calendar_controllers import CalendarController, CalendarFeedController
from exchange.activities.controllers import ActivityController, PartnershipActivityController
from exchange.activities.plan_controllers import PlanController
from exchange.audit.controllers import AuditController, DownloadReportController
from exchange.blobstore import BlobStore, open_blob_store
from exchange.clock import Clock, SystemClock, use_time_zone
from exchange.config import Settings
from exchange.consequences import build_consequences, job_kinds
from exchange.dashboard.controllers import DashboardController
from exchange.database import create_alchemy_config, create_engine, create_session_factory
from exchange.directory.controllers import DirectoryController
from exchange.health import HealthController
from exchange.i18n import LanguageMiddleware
from exchange.jobs.worker import JobContext, JobWorker
from exchange.mail.smtp import SmtpTarget
from exchange.notifications.controllers import NotificationController
from exchange.observability import RequestContextMiddleware, configure_logging
from exchange.openapi import (
    API_DESCRIPTION,
    ClosedStructSchemaPlugin,
    document_routes,
    viewer_render_plugin,
    viewer_routes,
)
from exchange.partnerships.controllers import CodeOfConductController, PartnershipController
from exchange.questions.controllers import PartnershipQuestionController, QuestionController
from exchange.request_bodies import ExchangeRequest, require_json_content_type, takes_json_body
from exchange.request_pace import PacedReceive, PaceRule
from exchange.resources.controllers import resource_routes
from exchange.resources.resumable_routes import upload_routes
from exchange.reuse.controllers import ResourceReuseController, ReuseRequestController
from exchange.schools.controllers import SchoolController
from exchange.search.engines import search_engine_for
from exchange.web.errors import handle_app_exception
from exchange.web.routes import create_compression_config, create_csrf_config, web_routes
from exchange.web.templating import create_template_config

ROUTE_HANDLERS: list[Any] = [
    HealthController,
    AuthController,
    MeController,
    MemberController,
    SchoolController,
    DirectoryController,
    PartnershipController,
    CodeOfConductController,
    PartnershipActivityController,
    PlanController,
    CalendarFeedController,
    CalendarController,
    ActivityController,
    NotificationController,
    ResourceReuseController,
    ReuseRequestController,
    PartnershipQuestionController,
    QuestionController,
    AuditController,
    DownloadReportController,
    DashboardController,
]


def freeze_startup_objects() -> None:
    """Leaves what the process holds once the app has started (modules, routes, models,
    the engine: some 170,000 objects) out of Python's cyclic garbage collection while it
    serves.

    A full collection walks every object it tracks, and with all of these it takes about
    100 ms, a pause that lands on whichever request happens to be running. Objects made
    after the start are collected as before.
    """
    gc.freeze()


class ExchangeApp(Litestar):
    """Litestar with the request context and the language outermost, so that even
    routing errors and errors raised by authentication carry a request id, reach the
    access log and are written in the caller's language."""

    def __init__(self, *args: Any, body_pace: PaceRule | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outer = RequestContextMiddleware(LanguageMiddleware(super().__call__))
        self._body_pace = body_pace

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await super().__call__(scope, receive, send)
            return
        if scope["type"] == "http" and self._body_pace is not None:
            receive = PacedReceive(receive, self._body_pace)
        await self._outer(scope, receive, send)


# Downloads read the store in pieces of this size: fewer thread hops and socket writes
# than the store's default, still a bounded, small amount held per download.
DOWNLOAD_CHUNK_BYTES = 1024 * 1024


def create_blob_store(settings: Settings) -> BlobStore:
    """The store named by `EXCHANGE_STORAGE_URL` (`file://...` or `s3://bucket/prefix`)."""
    return open_blob_store(
        settings.storage_url,
        s3_endpoint_url=settings.s3_endpoint_url,
        read_chunk_bytes=DOWNLOAD_CHUNK_BYTES,
    )


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    use_time_zone(settings.time_zone)
    configure_logging(settings)
    if settings.smtp_url:
        SmtpTarget.from_url(settings.smtp_url)  # a bad URL stops the start, not a mail
    engine = create_engine(settings)
    consequences = build_consequences()
    alchemy = create_alchemy_config(settings, engine, consequences)
    blob_store = create_blob_store(settings)
    search_engine = search_engine_for(engine)

    def provide_settings() -> Settings:
        return settings

    def provide_clock() -> Clock:
        return clock

    worker = JobWorker(
        JobContext(
            session_factory=create_session_factory(engine, settings, consequences=consequences),
            settings=settings,
            clock=clock,
            state={"blob_store": blob_store},
        ),
        kinds=job_kinds(),
    )

    async def start_jobs() -> None:
        if settings.run_jobs:
            worker.start()

    async def stop_jobs_and_dispose_engine() -> None:
        await worker.stop()
        await engine.dispose()
        await blob_store.close()

    app = ExchangeApp(
        route_handlers=[
            *ROUTE_HANDLERS,
            *resource_routes(settings),
            *upload_routes(settings),
            *web_routes(settings),
            viewer_routes(),
        ],
        plugins=[SQLAlchemyPlugin(config=alchemy), ClosedStructSchemaPlugin()],
        dependencies={
            "settings": Provide(provide_settings, sync_to_thread=False),
            "clock": Provide(provide_clock, sync_to_thread=False),
            "identity": Provide(provide_identity, sync_to_thread=False),
        },
        state=State(
            {
                "settings": settings,
                "clock": clock,
                "alchemy_config": alchemy,
                "consequences": consequences,
                "engine": engine,
                "job_worker": worker,
                "blob_store": blob_store,
                "search_engine": search_engine,
            }
        ),
        middleware=[
            DefineMiddleware(BearerTokenMiddleware, exclude=[r"^/health", r"^/schema"]),
        ],
        request_class=ExchangeRequest,
        guards=[require_json_content_type],
        exception_handlers={Exception: handle_app_exception},
        template_config=create_template_config(),
        csrf_config=create_csrf_config(settings),
        compression_config=create_compression_config(),
        request_max_body_size=settings.max_json_body_bytes,
        openapi_config=OpenAPIConfig(
            title="The partner-school exchange",
            version=__version__,
            description=API_DESCRIPTION,
            path="/schema",
            render_plugins=[viewer_render_plugin()],
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        signature_namespace={"Identity": Identity, "Request": Request},
        on_startup=[start_jobs, freeze_startup_objects],
        on_shutdown=[stop_jobs_and_dispose_engine],
        debug=settings.debug,
        body_pace=settings.body_pace,
    )
    document_routes(app)
    answer_options_with_every_method(app)
    resolve_dependencies_in_turn(app)
    pass_on_what_the_app_made(app)
    guard_only_json_bodies(app)
    leave_page_middleware_off_the_api(app)
    return app


def _http_handlers(app: Litestar) -> list[Any]:
    return [
        handler
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler, _model in route.route_handler_map.values()
    ]


def guard_only_json_bodies(app: Litestar) -> None:
    """The JSON body check (`require_json_content_type`) runs only for the routes that
    take a JSON body.

    It is declared once for the whole app, so that no route that takes JSON is left out;
    for any other route it has nothing to check, yet Litestar would still run it on every
    request, and hands each guard a fresh copy of the route's handler (some seventy
    attributes copied, more than the rest of `GET /api/me`'s own work).
    """
    for handler in _http_handlers(app):
        if not takes_json_body(handler):
            handler._resolved_guards = [
                guard
                for guard in handler.resolve_guards()
                if guard is not require_json_content_type
            ]


def leave_page_middleware_off_the_api(app: Litestar) -> None:
    """Routes whose every address the form protection (CSRF) and the compression leave
    alone (the API, health checks, the API's documentation: `NOT_PAGES`) are served
    without passing through either.

    Litestar puts both around every route and lets each decide per request, from the
    address, to step aside. A route's addresses all begin with its template's text
    before its first parameter, and the excluded patterns are anchored prefixes
    (`^/api(/|$)`, `^/health`, ...), so when that text matches, every request of the
    route would step aside: the two layers are taken out of its stack once, at the start.
    """
    layers: list[tuple[type, Any]] = []
    if app.csrf_config is not None:
        layers.append((CSRFMiddleware, build_exclude_path_pattern(exclude=app.csrf_config.exclude)))
    if app.compression_config is not None:
        layers.append(
            (
                app.compression_config.middleware_class,
                build_exclude_path_pattern(exclude=app.compression_config.exclude),
            )
        )
    nodes = [app.asgi_router.root_route_map_node]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children.values())
        if not node.asgi_handlers or node.is_mount:
            continue
        fixed_text = node.path_template.split("{", 1)[0]
        kinds = tuple(
            kind for kind, exclude in layers if exclude is not None and exclude.match(fixed_text)
        )
        if not kinds:
            continue
        for method, (stack, handler) in list(node.asgi_handlers.items()):
            node.asgi_handlers[method] = ASGIHandlerTuple(_without(stack, kinds), handler)


def _without(stack: Any, kinds: tuple[type, ...]) -> Any:
    """The middleware stack with the layers of `kinds` taken out (each layer holds the
    next as `app`)."""
    outer: Any = _past(stack, kinds)
    layer = outer
    while hasattr(layer, "app"):
        layer.app = _past(layer.app, kinds)
        layer = layer.app
    return outer


def _past(layer: Any, kinds: tuple[type, ...]) -> Any:
    while isinstance(layer, kinds):
        layer = layer.app  # type: ignore[attr-defined]
    return layer


def resolve_dependencies_in_turn(app: Litestar) -> None:
    """Each route's dependencies are made one after the other, in the order Litestar
    worked out (a dependency after those it takes).

    Litestar makes the dependencies that do not take each other at the same time, in a
    task group: a task each, several turns of the event loop per request. The
    exchange's dependencies build objects (a service, the caller's identity, the
    search asked for) and wait for nothing, so running them together gains nothing
    and the task group costs more than the objects themselves.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for _handler, kwargs_model in route.route_handler_map.values():
            kwargs_model.dependency_batches = [
                {dependency}
                for batch in kwargs_model.dependency_batches
                for dependency in sorted(batch, key=lambda container: container.key)
            ]


# What Litestar hands a handler or a dependency from the connection itself.
_FROM_THE_CONNECTION = frozenset({"request", "state", "scope", "socket"})


def pass_on_what_the_app_made(app: Litestar) -> None:
    """Handlers and dependencies whose every argument the app made itself (another
    dependency, the request, a path parameter the router already converted to the
    annotated type) get their arguments as they are.

    Litestar converts each callable's arguments through a msgspec model on every call,
    to check what came from the client; for a service, the caller's identity or the
    database session there is nothing to check, and the conversion walks every value
    (four times for `GET /api/me`, more than the rest of the handler). A callable with
    any argument from the query, headers, cookies or body keeps the conversion, which
    turns bad input into a 400.
    """
    verdicts: dict[Any, bool] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = route.path_parameters
        path_types = {
            definition.name: definition.type
            for definition in (path.values() if isinstance(path, dict) else path)
        }
        for handler, kwargs_model in route.route_handler_map.values():
            containers = [
                dependency for batch in kwargs_model.dependency_batches for dependency in batch
            ]
            made = _FROM_THE_CONNECTION | {container.key for container in containers}
            models: list[tuple[Any, dict[str, type]]] = [
                (container.provide.signature_model, {}) for container in containers
            ]
            models.append((handler.signature_model, path_types))
            for model, converted in models:
                if model is None or not model._fields:
                    continue
                verdicts[model] = verdicts.get(model, True) and all(
                    name in made or _converted_by_router(model, name, converted)
                    for name in model._fields
                )
    for model, made_here in verdicts.items():
        if made_here:
            model.parse_values_from_connection_kwargs = classmethod(_as_they_are)


def _converted_by_router(model: Any, name: str, path_types: dict[str, type]) -> bool:
    annotation = model.__annotations__.get(name)
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return name in path_types and path_types[name] is annotation


def _as_they_are(model: Any, connection: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: kwargs[name] for name in model._fields if name in kwargs}


def answer_options_with_every_method(app: Litestar) -> None:
    """`OPTIONS` lists every method of its path in `Allow`.

    Litestar 2 makes a path's OPTIONS handler with the route of the first handler
    registered there, and keeps it when later handlers of the same path join a new route
    (litestar-org/litestar#4169, fixed in 3.0): `/api/me` answered `Allow: GET, OPTIONS`
    without PATCH. The handler reads its route's methods from the route it closed over;
    point that at the route that serves the path.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "OPTIONS" not in route.route_handler_map:
            continue
        handler, _model = route.route_handler_map["OPTIONS"]
        for cell in handler.fn.__closure__ or ():
            if isinstance(cell.cell_contents, HTTPRoute):
                cell.cell_contents = route
