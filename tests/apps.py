"""The apps under test: each started once per session for its settings, and kept running.

Building a Litestar app and starting it costs about a quarter of a second, so a test
does not get its own: it gets the running app for its settings (the database and store
of its backend, plus what its module changes, such as an upload limit) and a client of
its own (its own cookies and headers). The apps share one clock, which every test sets
back to the present, and their databases and stores are emptied before each test
(`tests/databases.py`, the `store` fixture), so tests stay independent.

An app runs on the event loop of its own thread, as Litestar's test client runs it;
the test's requests are handed to that loop, whichever loop the test itself runs on.
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from exchange.app import create_app
from exchange.config import Settings
from tests.clock import ManualClock


@dataclass
class RunningApp:
    settings: Settings
    app: Litestar
    starter: TestClient[Litestar]

    @asynccontextmanager
    async def client(self, asgi: Any = None) -> AsyncIterator[AsyncTestClient[Litestar]]:
        """A client of this app with cookies and headers of its own; `asgi` wraps the app
        (a proxy's middleware, say) for this client's requests."""
        client = AsyncTestClient(app=self.app)
        client.blocking_portal = self.starter.blocking_portal
        if asgi is not None:
            client.app = asgi
        # The tests read the English texts unless they ask for another language
        # (tests/integration/test_languages.py); a request that names none gets Kyrgyz.
        client.headers["Accept-Language"] = "en"
        # (Litestar's transport hands requests over synchronously: nothing to close.)
        yield client

    def stop(self) -> None:
        self.starter.__exit__(None, None, None)


class RunningApps:
    """The running apps by their settings, the least recently used stopped beyond `limit`
    (each holds a pool of database connections)."""

    def __init__(self, clock: ManualClock, limit: int = 6) -> None:
        self.clock = clock
        self.limit = limit
        self._running: OrderedDict[Settings, RunningApp] = OrderedDict()

    def get(self, settings: Settings) -> RunningApp:
        running = self._running.get(settings)
        if running is not None:
            self._running.move_to_end(settings)
            return running
        while len(self._running) >= self.limit:
            _settings, oldest = self._running.popitem(last=False)
            oldest.stop()
        app = create_app(settings, clock=self.clock)
        starter = TestClient(app=app)
        starter.__enter__()
        # The app leaves what it holds once started out of garbage collection; in a
        # process that starts many, hand it back (see `release_frozen_objects`).
        gc.unfreeze()
        running = RunningApp(settings=settings, app=app, starter=starter)
        self._running[settings] = running
        return running

    def running(self, app: Litestar) -> RunningApp:
        for running in self._running.values():
            if running.app is app:
                return running
        raise LookupError("this app was not started by RunningApps")

    def stop(self, settings: Settings) -> None:
        running = self._running.pop(settings, None)
        if running is not None:
            running.stop()

    def stop_all(self) -> None:
        while self._running:
            _settings, running = self._running.popitem()
            running.stop()
