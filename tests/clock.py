"""A clock the tests move by hand: overdue requests and expiries without sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchange.clock import Clock


class ManualClock(Clock):
    """A clock that stands still until moved."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment
