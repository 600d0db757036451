"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
import structlog
from litestar import Controller, Request, Response, get
from sqlalchemy import text

from exchange.problems import PROBLEM_JSON, problem_type

logger = structlog.get_logger("exchange.health")


class HealthOut(msgspec.Struct):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]
    include_in_schema = True

    @get("/live", operation_id="healthLive", summary="The process answers", exclude_from_auth=True)
    async def live(self) -> HealthOut:
        return HealthOut(status="ok")

    @get(
        "/ready",
        operation_id="healthReady",
        summary="The database and the file store answer",
        exclude_from_auth=True,
    )
    async def ready(self, request: Request[Any, Any, Any]) -> Response[Any]:
        state = request.app.state
        checks: dict[str, str] = {}
        try:
            with anyio.fail_after(5):
                async with state["engine"].connect() as connection:
                    await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready
            logger.warning("readiness: database check failed", error=repr(exc))
            checks["database"] = "unavailable"
        store = state.get("blob_store")
        if store is not None:
            try:
                with anyio.fail_after(10):
                    await store.check()
                checks["store"] = "ok"
            except Exception as exc:
                logger.warning("readiness: store check failed", error=repr(exc))
                checks["store"] = "unavailable"
        failing = [name for name, result in checks.items() if result != "ok"]
        if not failing:
            return Response(HealthOut(status="ok", checks=checks))
        return Response(
            {
                "type": problem_type("not-ready"),
                "title": "Service unavailable",
                "status": 503,
                "detail": f"Not ready: the {' and the '.join(failing)} did not answer.",
                "checks": checks,
            },
            status_code=503,
            media_type=PROBLEM_JSON,
            headers={"Retry-After": "10"},
        )
