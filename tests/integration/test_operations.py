"""Health, the OpenAPI document, request ids and the problem documents of every error."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from exchange.app import create_app
from exchange.config import Settings
from tests.actors import SchoolFactory
from tests.live_server import free_port
from tests.problems import assert_problem


async def test_liveness_and_readiness_answer(client: AsyncTestClient[Litestar]) -> None:
    live = await client.get("/health/live")
    assert live.status_code == 200
    assert live.json()["status"] == "ok"
    ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"


async def test_readiness_is_503_problem_when_the_database_is_down(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere",
        log_level="WARNING",
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health/ready")
    body = assert_problem(response, 503)
    assert body["checks"]["database"] == "unavailable"
    assert "database" in body["detail"]


async def test_every_route_is_documented_with_tags_and_an_operation_id(
    client: AsyncTestClient[Litestar],
) -> None:
    viewer = await client.get("/schema")
    assert viewer.status_code == 200
    assert "text/html" in viewer.headers["content-type"]
    document = (await client.get("/schema/openapi.json")).json()
    operation_ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            assert operation.get("operationId"), f"{method.upper()} {path} has no operationId"
            assert operation.get("tags"), f"{method.upper()} {path} has no tags"
            operation_ids.append(operation["operationId"])
    assert len(operation_ids) == len(set(operation_ids))
    assert "/api/auth/token" in document["paths"]
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"


async def test_a_sane_request_id_is_kept_and_an_insane_one_replaced(
    client: AsyncTestClient[Litestar],
) -> None:
    kept = await client.get("/health/live", headers={"X-Request-ID": "proxy-abc-12345"})
    assert kept.headers["x-request-id"] == "proxy-abc-12345"
    replaced = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_unknown_address_is_a_404_problem(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/no-such-thing")
    body = assert_problem(response, 404)
    assert body["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_a_405_problem_naming_the_allowed_ones(
    schools: SchoolFactory,
) -> None:
    school = await schools.create()
    response = await school.admin.put("/api/me")
    body = assert_problem(response, 405)
    assert "GET" in body["detail"]


async def test_an_oversized_json_body_is_a_413_problem(
    schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    padding = "x" * (settings.max_json_body_bytes + 10)
    response = await school.admin.post(
        "/api/members", json={"email": "a@b.kg", "password": padding, "full_name": "X"}
    )
    assert_problem(response, 413)


async def test_an_unexpected_failure_is_a_500_problem_without_internals(settings: Settings) -> None:
    @get("/api/explode", operation_id="explode", tags=["test"], exclude_from_auth=True)
    async def explode() -> None:
        raise RuntimeError("SELECT secret FROM somewhere -- internal detail")

    app = create_app(settings)
    app.register(explode)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/api/explode")
    body = assert_problem(response, 500)
    assert "secret" not in response.text
    assert "SELECT" not in response.text
    assert body["request_id"] in body["detail"]
