"""How the server's protocol (`exchange.connections`) writes a response to the socket: the
head leaves with the first piece of the body, in one write, and nothing a response says
is held back or lost on the way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from exchange.connections import ConnectionLimits, GuardedHttpProtocol

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class RecordingTransport(asyncio.Transport):
    """A socket that keeps every write apart, as the kernel would get them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.closed_by_server = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def serve_one(app: App, request: bytes) -> RecordingTransport:
    config = Config(app=app, proxy_headers=False, lifespan="off", log_level="warning")
    config.load()
    limits = ConnectionLimits(
        header_timeout_seconds=30.0, max_per_address=None, trusted_proxies="127.0.0.1"
    )
    protocol = GuardedHttpProtocol(config, ServerState(), {}, limits=limits)
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(50):  # the app runs as its own task
        await asyncio.sleep(0)
        if (protocol.cycle is not None and protocol.cycle.response_complete) or transport.closed:
            break
    transport.closed_by_server = transport.closed
    protocol.connection_lost(None)  # the client goes
    return transport


async def json_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b'{"ok": true}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


GET = b"GET /api/me HTTP/1.1\r\nhost: exchange\r\n\r\n"


async def test_a_small_answer_leaves_in_one_write_head_and_body_together() -> None:
    transport = await serve_one(json_app, GET)
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 12" in head
    assert body == b'{"ok": true}'


async def test_a_head_request_still_gets_its_head() -> None:
    transport = await serve_one(json_app, GET.replace(b"GET", b"HEAD"))
    sent = b"".join(transport.writes)
    assert sent.startswith(b"HTTP/1.1 200 OK\r\n")
    assert sent.endswith(b"\r\n\r\n")  # no body after the head
    assert not transport.closed_by_server


async def test_a_streamed_answer_sends_the_head_with_its_first_piece_then_each_piece() -> None:
    async def streaming(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for piece in (b"first", b"second"):
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    transport = await serve_one(streaming, GET)
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\n5\r\nfirst\r\n")  # chunked
    assert transport.writes[1:] == [b"6\r\nsecond\r\n", b"0\r\n\r\n"]


async def test_an_app_that_fails_after_starting_its_answer_sends_the_head_and_closes() -> None:
    async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("the store went away")

    transport = await serve_one(failing, GET)
    assert b"".join(transport.writes).startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.closed_by_server


async def test_a_client_waiting_to_send_its_body_is_told_to_go_on_at_once() -> None:
    seen: list[bytes] = []

    async def reading(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        seen.append(message["body"])
        await json_app(scope, receive, send)

    request = (
        b"POST /api/things HTTP/1.1\r\nhost: exchange\r\ncontent-length: 2\r\n"
        b"expect: 100-continue\r\n\r\n"
    )
    config = Config(app=reading, proxy_headers=False, lifespan="off", log_level="warning")
    config.load()
    limits = ConnectionLimits(
        header_timeout_seconds=30.0, max_per_address=None, trusted_proxies="127.0.0.1"
    )
    protocol = GuardedHttpProtocol(config, ServerState(), {}, limits=limits)
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(20):
        await asyncio.sleep(0)
    # The interim answer is not held back for a body that cannot come before it.
    assert transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    protocol.data_received(b"{}")
    for _ in range(20):
        await asyncio.sleep(0)
    protocol.connection_lost(None)
    assert seen == [b"{}"]
    assert transport.writes[1].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[1].endswith(b'{"ok": true}')
