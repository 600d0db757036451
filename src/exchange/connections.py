"""What the HTTP server gives one connection and one client address.

uvicorn closes a connection that idles between requests (its keep-alive timeout), but
waits for ever for the head of a request that has begun, and for the first byte of a
new connection; nor does it count connections per client. A few hundred clients that
send half a request line would hold it. Its protocol class (httptools' parser) is
extended here with:

- a header timeout: from the moment a connection opens, or a response ends, the next
  request's head must be complete within `header_timeout_seconds`, or the connection is
  answered 408 and closed;
- a cap on the connections one client address holds at once (`max_per_address`): a
  connection beyond it is answered 429 and closed. Behind a trusted proxy (uvicorn's
  `forwarded_allow_ips`), the proxy's own connections are not counted against it: each
  request counts for the client the proxy names in `X-Forwarded-For`, as long as the
  request runs, so the cap applies to the proxy's clients as the proxy sees them.

Counts are kept per process: with `--workers N` each worker counts its own connections,
so one address may hold up to N times the cap. The reverse proxy's `limit_conn` (see
`deploy/nginx/exchange.conf`) is the exact cap in production.

The body of a request has its own floor, in `exchange.request_pace`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import _TrustedHosts
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from exchange.config import Settings
from exchange.i18n import _
from exchange.problems import PROBLEM_JSON, problem_type


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout_seconds: float
    max_per_address: int | None
    trusted_proxies: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            header_timeout_seconds=settings.header_timeout_seconds,
            max_per_address=settings.max_connections_per_address or None,
            trusted_proxies=settings.forwarded_allow_ips,
        )


def http_protocol(limits: ConnectionLimits) -> Callable[..., asyncio.Protocol]:
    """The protocol factory to give uvicorn as `http=`. It pickles, so `--workers N`
    hands it to every worker."""
    return functools.partial(GuardedHttpProtocol, limits=limits)


class AddressCounts:
    """Open connections per client address, in one server process."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}

    def take(self, address: str, cap: int | None) -> bool:
        held = self._open.get(address, 0)
        if cap is not None and held >= cap:
            return False
        self._open[address] = held + 1
        return True

    def give_back(self, address: str) -> None:
        held = self._open.get(address, 0) - 1
        if held > 0:
            self._open[address] = held
        else:
            self._open.pop(address, None)

    def held(self, address: str) -> int:
        return self._open.get(address, 0)


_COUNTS: weakref.WeakKeyDictionary[ServerState, AddressCounts] = weakref.WeakKeyDictionary()


def _problem(status: int, title: str, slug: str, detail: str) -> bytes:
    return json.dumps(
        {"type": problem_type(slug), "title": title, "status": status, "detail": detail},
        ensure_ascii=False,
    ).encode()


def _raw_response(status: int, body: bytes, extra: bytes = b"") -> bytes:
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            extra,
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout and a per-address cap."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ConnectionLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits = limits
        self._proxies = _trusted_proxies(limits.trusted_proxies)
        counts = _COUNTS.get(server_state)
        if counts is None:
            counts = _COUNTS[server_state] = AddressCounts()
        self._counts = counts
        self._counted: str | None = None
        self._behind_proxy = False
        self._head_timer: asyncio.TimerHandle | None = None

    # --- the connection -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = self.client[0] if self.client else None
        self._behind_proxy = peer is not None and peer in self._proxies
        if peer is not None and not self._behind_proxy and not self._count(peer):
            self.transport.write(_raw_response(429, self._too_many(), b"retry-after: 10\r\n"))
            self.transport.close()
            return
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        self._uncount()
        super().connection_lost(exc)

    # --- a request ------------------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        if self._behind_proxy:
            client = self._client_behind_proxy()
            if client != self._counted:
                self._uncount()
                if not self._count(client):
                    self._answer_too_many()
                    return
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not previous:  # not an upgrade
            _send_head_with_body(self.cycle)

    def on_response_complete(self) -> None:
        if self._behind_proxy:
            # The proxy may keep its connection for another client's request.
            self._uncount()
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_head()

    # --- the header timeout ---------------------------------------------------------------

    def _await_head(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(
            self._limits.header_timeout_seconds, self._head_timed_out
        )

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A response is still going out (a pipelined head waits behind it): look again
            # once more time has passed.
            self._await_head()
            return
        # Before a request's head there is no language to answer in: the default one.
        detail = _(
            "The request's headers did not arrive within {seconds} seconds. "
            "Check the connection and try again.",
            seconds=f"{self._limits.header_timeout_seconds:g}",
        )
        self.transport.write(
            _raw_response(408, _problem(408, _("Request timeout"), "header-timeout", detail))
        )
        self.transport.close()

    # --- the per-address cap --------------------------------------------------------------

    def _count(self, address: str) -> bool:
        if not self._counts.take(address, self._limits.max_per_address):
            return False
        self._counted = address
        return True

    def _uncount(self) -> None:
        if self._counted is not None:
            self._counts.give_back(self._counted)
            self._counted = None

    def _client_behind_proxy(self) -> str:
        forwarded = [value for name, value in self.headers if name == b"x-forwarded-for"]
        if forwarded:
            host, _port = self._proxies.get_trusted_client_address(
                b", ".join(forwarded).decode("latin-1")
            )
            if host:
                return host
        return self.client[0] if self.client else ""

    def _too_many(self) -> bytes:
        detail = _(
            "Your network has {limit} connections open to the exchange at once, the most "
            "it allows. Wait for a download or upload to finish, then try again.",
            limit=self._limits.max_per_address,
        )
        return _problem(429, _("Too many connections"), "too-many-connections", detail)

    def _answer_too_many(self) -> None:
        """Answer this request 429 (through uvicorn's own response path, so a pipelined
        request waits its turn) and close the connection after it."""
        body = self._too_many()
        app, self.app = self.app, cast(ASGI3Application, functools.partial(_answer, 429, body))
        try:
            super().on_headers_complete()
        finally:
            self.app = app
        self.cycle.keep_alive = False


async def _answer(
    status: int, body: bytes, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"10"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class _HeldHead:
    """A response's view of its connection: the head of the response waits for the first
    piece of the body and leaves in the same write.

    uvicorn writes the status line and headers as soon as the app starts its response,
    and the body in a second write: two system calls and two TCP segments for an answer
    of a few hundred bytes, which for a small JSON answer cost about as much as the rest
    of the server's share of the request. Servers such as Go's `net/http` hold the head
    the same way. Anything else the response does with the connection (closing it on an
    error) sends a held head first.
    """

    __slots__ = ("_head", "_transport", "holding")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None
        self.holding = False

    def write(self, data: bytes) -> None:
        if self.holding:
            self.holding = False
            self._head = data
            return
        if self._head is not None:
            data, self._head = self._head + data, None
        self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _send_head_with_body(cycle: Any) -> None:
    """Makes the request's response write its head together with its first body piece
    (`_HeldHead`)."""
    transport = _HeldHead(cycle.transport)
    send = cycle.send

    async def send_head_with_body(message: Any) -> None:
        if message["type"] == "http.response.start":
            transport.holding = True
            try:
                await send(message)
            finally:
                transport.holding = False
        else:
            try:
                await send(message)
            finally:
                # A response whose body did not come (the app failed, the client left)
                # still sends what it has.
                transport.flush()

    cycle.transport = transport
    cycle.send = send_head_with_body


def _trusted_proxies(spec: str) -> _TrustedHosts:
    # uvicorn's own parser of `forwarded_allow_ips`, so the address counted is the one
    # its proxy-headers middleware gives the app.
    return _TrustedHosts(spec)
