"""Running jobs: in each app process on the embedded default (and alongside the API
in production), or as a dedicated `exchange jobs run` process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange.clock import Clock
from exchange.config import Settings
from exchange.jobs.queue import claim, complete, fail

logger = structlog.get_logger("exchange.jobs")


@dataclass(frozen=True)
class JobContext:
    session_factory: async_sessionmaker[AsyncSession]
    settings: Settings
    clock: Clock
    state: dict[str, Any]


JobHandler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]
# Called with the job's payload and last error once its last attempt has failed.
GiveUpHandler = Callable[[JobContext, dict[str, Any], str], Awaitable[None]]

# kind -> handler; each domain registers its own when its module is imported.
JOB_HANDLERS: dict[str, JobHandler] = {}
# kind -> what to do when a job of that kind is given up, so that what waited for it
# (a resource's text, say) does not wait forever.
GIVE_UP_HANDLERS: dict[str, GiveUpHandler] = {}


def job_handler(
    kind: str, *, on_give_up: GiveUpHandler | None = None
) -> Callable[[JobHandler], JobHandler]:
    def register(fn: JobHandler) -> JobHandler:
        JOB_HANDLERS[kind] = fn
        if on_give_up is None:
            GIVE_UP_HANDLERS.pop(kind, None)
        else:
            GIVE_UP_HANDLERS[kind] = on_give_up
        return fn

    return register


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobWorker:
    def __init__(
        self,
        context: JobContext,
        *,
        worker_id: str | None = None,
        lease: timedelta = timedelta(minutes=10),
        idle_interval: float = 1.0,
    ) -> None:
        self.context = context
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease
        self.idle_interval = idle_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look for work now instead of at the next poll (after this process queued some)."""
        self._wake.set()

    async def run_once(self) -> bool:
        """Run one job if there is one; True when a job was run (whatever its outcome)."""
        kinds = list(JOB_HANDLERS)
        if not kinds:
            return False
        async with self.context.session_factory() as session:
            job = await claim(
                session, self.context.clock, worker_id=self.worker_id, kinds=kinds, lease=self.lease
            )
            if job is None:
                return False
            handler = JOB_HANDLERS[job.kind]
            job_id, kind, payload = str(job.id), job.kind, dict(job.payload)
            try:
                await handler(self.context, dict(payload))
            except Exception as exc:
                error = repr(exc)
                logger.warning("job failed", job_id=job_id, kind=kind, error=error)
                await session.rollback()
                gave_up = await fail(session, self.context.clock, job, error)
            else:
                await complete(session, self.context.clock, job)
                logger.info("job done", job_id=job_id, kind=kind)
                return True
        if gave_up:
            await self._give_up(job_id, kind, payload, error)
        return True

    async def _give_up(self, job_id: str, kind: str, payload: dict[str, Any], error: str) -> None:
        logger.error("job given up", job_id=job_id, kind=kind, error=error)
        on_give_up = GIVE_UP_HANDLERS.get(kind)
        if on_give_up is None:
            return
        try:
            await on_give_up(self.context, payload, error)
        except Exception:
            logger.exception("could not record a job given up", job_id=job_id, kind=kind)

    async def run_until_idle(self, limit: int = 1000) -> int:
        ran = 0
        while ran < limit and await self.run_once():
            ran += 1
        return ran

    async def run_forever(self) -> None:
        while True:
            try:
                ran = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be briefly unreachable
                logger.warning("job worker error", error=repr(exc))
                ran = False
            if not ran:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run_forever(), name=f"jobs:{self.worker_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
