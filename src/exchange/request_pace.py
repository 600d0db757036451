"""The slowest a request body may arrive: a floor on its average rate over a window.

A client that sends one byte every few seconds never trips the idle timeout, yet holds a
connection, a request and (for an upload) a temporary file for as long as it likes. The
floor is counted over any `window_seconds` of waiting for the client, never over the
first: a rural 2G link that averages 1 KB a second passes, with room for pauses. Only
the time the app spends waiting for the client counts: when the app is the slow one (a
busy store), the client's data waits in buffers and the client is not blamed for it.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from litestar.types import Receive, ReceiveMessage

from exchange.errors import RequestTooSlow
from exchange.i18n import _, format_size


@dataclass(frozen=True)
class PaceRule:
    """At least `min_bytes_per_second` on average over every `window_seconds` of waiting."""

    min_bytes_per_second: int
    window_seconds: float

    def start(self) -> ArrivalPace:
        return ArrivalPace(self)

    def refusal(self) -> RequestTooSlow:
        return RequestTooSlow(
            _(
                "The request arrived more slowly than the exchange waits for: less than "
                "{rate} a second over {window} seconds. Try again on a steadier connection "
                "or at a quieter time of day.",
                rate=format_size(self.min_bytes_per_second),
                window=f"{self.window_seconds:g}",
            )
        )


class ArrivalPace:
    """The arrivals of one body, on a clock that runs only while waiting for the client."""

    def __init__(self, rule: PaceRule) -> None:
        self._window = rule.window_seconds
        self._need = rule.min_bytes_per_second * rule.window_seconds
        self._waited = 0.0
        self._arrivals: deque[tuple[float, int]] = deque()  # (clock at arrival, bytes)
        self._in_window = 0

    def waited(self, seconds: float, size: int = 0) -> None:
        """`seconds` more were spent waiting, ending with `size` bytes (0: nothing came)."""
        self._waited += max(0.0, seconds)
        if size:
            self._arrivals.append((self._waited, size))
            self._in_window += size
        while self._arrivals and self._arrivals[0][0] + self._window <= self._waited:
            self._in_window -= self._arrivals.popleft()[1]

    @property
    def too_slow(self) -> bool:
        return self._waited >= self._window and self._in_window < self._need

    def patience(self) -> float:
        """How much longer it may wait for more bytes before it is too slow."""
        first_check = max(self._waited, self._window)
        remaining = sum(size for at, size in self._arrivals if at + self._window > first_check)
        if remaining < self._need:
            return first_check - self._waited
        for at, size in self._arrivals:
            leaves = at + self._window
            if leaves <= first_check:
                continue
            remaining -= size
            if remaining < self._need:
                return leaves - self._waited
        return math.inf  # only when nothing at all is needed


class PacedReceive:
    """An ASGI `receive` that refuses, with `RequestTooSlow`, a body arriving below the
    rule. Once the body is complete it steps aside: later calls (a streaming response
    listening for the client to go away) wait as long as they like."""

    def __init__(self, receive: Receive, rule: PaceRule) -> None:
        self._receive = receive
        self._rule = rule
        self._pace = rule.start()
        self._body_done = False

    async def __call__(self) -> ReceiveMessage:
        if self._body_done:
            return await self._receive()
        loop = asyncio.get_running_loop()
        while True:
            patience = self._pace.patience()
            started = loop.time()
            try:
                async with asyncio.timeout(None if math.isinf(patience) else patience):
                    message = await self._receive()
            except TimeoutError:
                self._pace.waited(loop.time() - started)
                if self._pace.too_slow:
                    raise self._rule.refusal() from None
                continue
            body: Any = message.get("body")
            self._pace.waited(loop.time() - started, len(body or b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                self._body_done = True
            return message
