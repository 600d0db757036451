"""Running a store's blocking calls (file system, boto3) off the event loop, cancel-safely.

A blocking call handed to a thread cannot be stopped when the task awaiting it is
cancelled (a client disconnects, an idle timeout fires): the write or the part upload
goes on. Cleanup must therefore wait for it, or a file descriptor is closed under a
write still using it, or a multipart upload is aborted before its last part lands
(S3 then keeps that part). `BlockingCalls` runs one upload's or download's calls in
order and chains cleanup after whatever is still in flight.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class BlockingCalls:
    """One sequence of blocking calls, run one after another on `executor`."""

    def __init__(self, executor: concurrent.futures.Executor) -> None:
        self._executor = executor
        self._in_flight: concurrent.futures.Future[Any] | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        future = self._executor.submit(fn, *args, **kwargs)
        self._in_flight = future
        return await asyncio.wrap_future(future)

    async def run_cleanup(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` once the call in flight (if any) is over, even while this task is
        being cancelled: the cleanup itself is shielded and goes on in its thread."""
        in_flight = self._in_flight
        if in_flight is not None:
            in_flight.cancel()  # stops it only if it has not started yet

        def after_in_flight() -> T:
            if in_flight is not None:
                concurrent.futures.wait([in_flight])
            return fn(*args)

        future = self._executor.submit(after_in_flight)
        self._in_flight = future
        return await asyncio.shield(asyncio.wrap_future(future))


def ignore_outcome(future: asyncio.Future[Any]) -> None:
    """A done-callback for a future nobody awaits any more: marks its exception as
    retrieved, so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()
