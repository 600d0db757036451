"""Structured logs, one line per request, each tied to a request id.

The id comes from a trusted proxy's `X-Request-ID` when it looks sane, otherwise it is
made here; it is echoed in the response and in every problem document, so a teacher's
error report leads straight to the log line.
"""

from __future__ import annotations

import logging
import random
import re
import sys
import time
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from exchange.config import Settings

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
access_logger = structlog.get_logger("exchange.access")
# The access log's logger as configured, made once by `configure_logging` rather than
# assembled anew for every request's line (structlog's lazy proxy does that).
_access: Any = access_logger
# Whether access lines are written at all (not below `EXCHANGE_LOG_LEVEL=WARNING`): when
# not, a request does not gather what its line would say.
_access_enabled = True


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    global _access, _access_enabled
    _access = access_logger.bind()
    _access_enabled = level <= logging.INFO


class RequestContextMiddleware:
    """Gives each HTTP request an id and writes one access-log line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SANE_REQUEST_ID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        # Undone when the request ends, so the id never outlives it (a test client may run
        # requests one after another in one context).
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        sent_bytes = 0
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = []
                for header in message.get("headers", ()):
                    if header[0].lower() != b"x-request-id":
                        headers.append(header)
                headers.append(id_header)
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if _access_enabled:
                client = scope.get("client")
                _access.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status,
                    bytes=sent_bytes,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    client=client[0] if client else None,
                )
            structlog.contextvars.reset_contextvars(**bound)


def new_request_id() -> str:
    """32 hexadecimal digits, as a UUID's: unique among the requests of every instance
    (128 random bits of a generator seeded from the system's randomness when the process
    starts, and again in a forked worker), without a system call on every request: an
    id only needs to be told apart from others, not to be unguessable."""
    return f"{random.getrandbits(128):032x}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
