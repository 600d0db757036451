"""One unit of work per request and per job: state changes, the events they record, and
what those events cause, committed once.

A service changes rows on its session and records what happened as domain events
(`exchange.events`) with `unit_of_work(session, clock).record(...)`, then calls
`commit()`. Committing runs, in the same transaction, every handler subscribed to run
within it (the audit trail, the inbox, what ends with a partnership...), each of which
may record further events; then commits once; then runs the handlers subscribed to run
after the commit (mail, background jobs), whose failures are logged and never undo the
change. Which handler follows which event is decided in one place,
`exchange.consequences`, when the app (or the command line, or the job worker) is built.

The subscriptions travel with the session (`session.info`), as the settings do, so a
service needs nothing more than the session it already has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import structlog
from sqlalchemy import event as orm_events
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.config import Settings
from exchange.database import CONSEQUENCES_INFO_KEY, SETTINGS_INFO_KEY

logger = structlog.get_logger("exchange.consequences")

_UNIT_INFO_KEY: Final = "exchange.unit_of_work"

Handler = Callable[["UnitOfWork", Any], Awaitable[None]]


@dataclass
class Subscriptions:
    """Which handlers each event type has, within the transaction and after the commit.

    A handler subscribed to a base class of events follows each of its subclasses too.
    Subscribing a handler twice to the same event and phase keeps it once.
    """

    within: dict[type, list[Handler]] = field(default_factory=dict)
    after: dict[type, list[Handler]] = field(default_factory=dict)

    def within_transaction(self, event_type: type, handler: Handler) -> None:
        _add(self.within, event_type, handler)

    def after_commit(self, event_type: type, handler: Handler) -> None:
        _add(self.after, event_type, handler)

    def handlers_within(self, event_type: type) -> list[Handler]:
        return _for(self.within, event_type)

    def handlers_after(self, event_type: type) -> list[Handler]:
        return _for(self.after, event_type)


def _add(table: dict[type, list[Handler]], event_type: type, handler: Handler) -> None:
    handlers = table.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def _for(table: dict[type, list[Handler]], event_type: type) -> list[Handler]:
    """The handlers of the event's own type first, then those of its base classes, each
    in subscription order."""
    found: list[Handler] = []
    for kind in event_type.__mro__:
        for handler in table.get(kind, []):
            if handler not in found:
                found.append(handler)
    return found


class UnitOfWork:
    """The events recorded on one session, and the commit that carries them."""

    def __init__(
        self, session: AsyncSession, clock: Clock | None, subscriptions: Subscriptions
    ) -> None:
        self.session = session
        self._clock = clock
        self.subscriptions = subscriptions
        self._pending: list[Any] = []
        self._published: list[Any] = []
        orm_events.listen(session.sync_session, "after_soft_rollback", self._after_rollback)

    @property
    def clock(self) -> Clock:
        """The clock of the service that made the unit of work (the app's clock)."""
        if self._clock is None:
            raise RuntimeError("No service with a clock has used this unit of work.")
        return self._clock

    def _after_rollback(self, _session: Any, previous_transaction: Any) -> None:
        if previous_transaction.parent is None:  # the outermost transaction ended
            self.discard()

    @property
    def settings(self) -> Settings | None:
        settings = self.session.sync_session.info.get(SETTINGS_INFO_KEY)
        return settings if isinstance(settings, Settings) else None

    def record(self, *events: Any) -> None:
        """Record what happened; its consequences run at `publish` or `commit`."""
        self._pending.extend(events)

    async def publish(self) -> None:
        """Run the handlers that belong in the transaction for every recorded event, and
        for what they record in turn, in the order recorded. Nothing is committed."""
        while self._pending:
            event = self._pending.pop(0)
            for handler in self.subscriptions.handlers_within(type(event)):
                await handler(self, event)
            self._published.append(event)

    async def commit(self) -> None:
        """Publish, commit once, then run what follows the commit."""
        await self.publish()
        await self.session.commit()
        committed, self._published = self._published, []
        for event in committed:
            for handler in self.subscriptions.handlers_after(type(event)):
                try:
                    await handler(self, event)
                except Exception:  # the change is stored: what follows it must not undo it
                    logger.exception(
                        "a consequence after the commit failed",
                        event=type(event).__name__,
                        handler=getattr(handler, "__qualname__", repr(handler)),
                    )

    def discard(self) -> None:
        """Forget the recorded events (after a rollback)."""
        self._pending.clear()
        self._published.clear()


def subscriptions_of(session: AsyncSession) -> Subscriptions:
    subscriptions = session.sync_session.info.get(CONSEQUENCES_INFO_KEY)
    if not isinstance(subscriptions, Subscriptions):
        raise RuntimeError(
            "This database session was made without the exchange's consequences: make it "
            "with exchange.database.create_session_factory(..., consequences=...)."
        )
    return subscriptions


def unit_of_work(session: AsyncSession, clock: Clock | None = None) -> UnitOfWork:
    """The session's unit of work, made on first use. Services give their clock; code
    without one (composing a mail) may leave it out."""
    info = session.sync_session.info
    unit = info.get(_UNIT_INFO_KEY)
    if not isinstance(unit, UnitOfWork):
        unit = UnitOfWork(session, clock, subscriptions_of(session))
        info[_UNIT_INFO_KEY] = unit
    elif unit._clock is None:
        unit._clock = clock
    return unit
