"""Each request's id: made or taken from the proxy, on every log line written while the
request runs and on none after it, echoed once in the answer; and the access line."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from exchange import observability
from exchange.config import Settings
from exchange.observability import RequestContextMiddleware, configure_logging, new_request_id


def run(app: Any, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/me", "headers": headers}
    asyncio.run(RequestContextMiddleware(app)(scope, receive, send))
    return sent


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging(Settings(data_dir=tmp_path, log_level="INFO", log_format="json"))
    yield stream
    monkeypatch.undo()  # the logs go back to the real standard error
    configure_logging(Settings(data_dir=tmp_path))


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_written_during_a_request_carry_its_id_and_none_after_it(log: io.StringIO) -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(structlog.contextvars.get_contextvars()))
        structlog.get_logger("exchange.test").warning("inside")
        await send(
            {"type": "http.response.start", "status": 204, "headers": [(b"x-request-id", b"x")]}
        )
        await send({"type": "http.response.body", "body": b""})

    sent = run(app, [(b"x-request-id", b"proxy-abc-12345")])
    assert seen == [{"request_id": "proxy-abc-12345"}]
    # The app's own header is replaced, never doubled.
    assert [v for k, v in sent[0]["headers"] if k == b"x-request-id"] == [b"proxy-abc-12345"]
    inside, access = lines(log)
    assert inside["event"] == "inside" and inside["request_id"] == "proxy-abc-12345"
    assert access["event"] == "request" and access["status"] == 204
    assert access["request_id"] == "proxy-abc-12345" and access["path"] == "/api/me"
    assert "request_id" not in structlog.contextvars.get_contextvars()


def test_no_access_line_is_gathered_below_its_level(tmp_path: Any, log: io.StringIO) -> None:
    configure_logging(Settings(data_dir=tmp_path, log_level="WARNING", log_format="json"))
    assert not observability._access_enabled

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    sent = run(app, [])
    assert lines(log) == []
    made = dict(sent[0]["headers"])[b"x-request-id"].decode()
    assert re.fullmatch(r"[0-9a-f]{32}", made)


def test_request_ids_are_32_hex_digits_and_differ() -> None:
    ids = {new_request_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(r"[0-9a-f]{32}", made) for made in ids)
