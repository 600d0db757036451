"""Which layers each route's requests pass through: the pages keep form protection
(CSRF) and compression, the API, health checks and the API's documentation go without
them; and only the routes that take a JSON body run the JSON body check."""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.middleware.compression import CompressionMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from exchange.app import create_app
from exchange.config import Settings
from exchange.request_bodies import require_json_content_type


def app_for(tmp_path: Path) -> Litestar:
    app = create_app(replace(Settings.from_env({}), data_dir=tmp_path, run_jobs=False))
    gc.unfreeze()
    return app


def layers_of(app: Litestar, path: str, method: str = "GET") -> list[type]:
    stack: Any = app.asgi_router.handle_routing(path=path, method=method)[0]
    kinds = []
    while stack is not None:
        kinds.append(type(stack))
        stack = getattr(stack, "app", None)
    return kinds


def test_the_api_goes_without_the_pages_layers_and_the_pages_keep_them(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    for path in ("/api/me", "/api/resources", "/health/live", "/schema/openapi.json"):
        layers = layers_of(app, path)
        assert CSRFMiddleware not in layers, path
        assert CompressionMiddleware not in layers, path
    for path in ("/", "/sign-in"):
        layers = layers_of(app, path)
        assert CSRFMiddleware in layers, path
        assert CompressionMiddleware in layers, path


async def test_a_page_form_without_its_token_is_still_refused(tmp_path: Path) -> None:
    async with AsyncTestClient(app=app_for(tmp_path)) as client:
        refused = await client.post("/sign-in", data={"email": "a@b.kg", "password": "x"})
        assert refused.status_code == 403
        # The API needs no form token: a bearer token, never a cookie, authorises it.
        unsigned = await client.post("/api/members", json={"email": "a@b.kg"})
        assert unsigned.status_code == 401


def test_only_routes_with_a_json_body_run_the_json_body_check(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    checked = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _model) in route.route_handler_map.items():
            if require_json_content_type in handler.resolve_guards():
                checked.add((method, route.path))
    assert ("POST", "/api/members") in checked
    assert ("PATCH", "/api/me") in checked
    assert ("GET", "/api/me") not in checked
    assert all(method in {"POST", "PUT", "PATCH", "DELETE"} for method, _path in checked)
