"""Running jobs: in each app process on the embedded default (and alongside the API
in production), or as a dedicated `exchange jobs run` process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange.clock import Clock
from exchange.config import Settings
from exchange.jobs.queue import DONE, claim, complete, enqueue, fail, release

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


@dataclass(frozen=True)
class JobKind:
    """How a kind of job is run.

    `on_give_up` is what to do once its last attempt has failed, so that what waited for
    it (a resource's text, say) does not wait forever. A kind with `every` is periodic:
    each worker queues it when it starts (once among all workers: the queue keeps one
    per kind), and queues it again that long after each run.
    """

    handler: JobHandler
    on_give_up: GiveUpHandler | None = None
    every: timedelta | None = None


# The workers started in this process (`JobWorker.start`), to wake after a commit that
# queued work.
_started: set[JobWorker] = set()


def wake_local_workers() -> None:
    """Wake this process's running workers that belong to the current event loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for worker in list(_started):
        task = worker._task
        if task is not None and not task.done() and task.get_loop() is loop:
            worker.wake()


def periodic_key(kind: str) -> str:
    return f"every:{kind}"


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobWorker:
    def __init__(
        self,
        context: JobContext,
        *,
        kinds: Mapping[str, JobKind],
        worker_id: str | None = None,
        lease: timedelta = timedelta(minutes=10),
        idle_interval: float = 1.0,
    ) -> None:
        self.context = context
        self.kinds = dict(kinds)
        self.worker_id = worker_id or new_worker_id()
        self.lease = lease
        self.idle_interval = idle_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look for work now instead of at the next poll (after this process queued some)."""
        self._wake.set()

    async def schedule_periodic(self) -> int:
        """Queue each periodic kind to run now, unless one is queued or running already;
        returns how many were queued."""
        queued = 0
        async with self.context.session_factory() as session:
            for kind, spec in self.kinds.items():
                if spec.every is not None and await enqueue(
                    session, self.context.clock, kind, {}, dedupe_key=periodic_key(kind)
                ):
                    queued += 1
            await session.commit()
        return queued

    async def _schedule_next(self, kind: str) -> None:
        every = self.kinds[kind].every
        if every is None:
            return
        async with self.context.session_factory() as session:
            await enqueue(
                session, self.context.clock, kind, {}, dedupe_key=periodic_key(kind), delay=every
            )
            await session.commit()

    async def run_once(self) -> bool:
        """Run one job if there is one; True when a job was run (whatever its outcome)."""
        if not self.kinds:
            return False
        async with self.context.session_factory() as session:
            job = await claim(
                session,
                self.context.clock,
                worker_id=self.worker_id,
                kinds=list(self.kinds),
                lease=self.lease,
            )
            if job is None:
                return False
            handler = self.kinds[job.kind].handler
            job_id, kind, payload = str(job.id), job.kind, dict(job.payload)
            try:
                await handler(self.context, dict(payload))
            except asyncio.CancelledError:
                # The process is stopping (SIGTERM, a deploy): another worker takes the
                # job at once instead of when its lease runs out.
                await asyncio.shield(self._release(job.id))
                logger.info("job handed back", job_id=job_id, kind=kind)
                raise
            except Exception as exc:
                error = repr(exc)
                logger.warning("job failed", job_id=job_id, kind=kind, error=error)
                await session.rollback()
                gave_up = await fail(session, self.context.clock, job, error)
            else:
                await complete(session, self.context.clock, job)
                logger.info("job done", job_id=job_id, kind=kind)
                gave_up = False
        if gave_up:
            await self._give_up(job_id, kind, payload, error)
        if not gave_up and job.status != DONE:
            return True  # queued again for another attempt
        await self._schedule_next(kind)
        return True

    async def _release(self, job_id: UUID) -> None:
        async with self.context.session_factory() as session:
            await release(session, self.context.clock, job_id, self.worker_id)

    async def _give_up(self, job_id: str, kind: str, payload: dict[str, Any], error: str) -> None:
        logger.error("job given up", job_id=job_id, kind=kind, error=error)
        on_give_up = self.kinds[kind].on_give_up
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

    async def run_forever_with_periodic(self) -> None:
        while True:
            try:
                await self.schedule_periodic()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be briefly unreachable
                logger.warning("could not queue periodic jobs", error=repr(exc))
                await asyncio.sleep(self.idle_interval)
        await self.run_forever()

    def start(self) -> None:
        self._task = asyncio.create_task(
            self.run_forever_with_periodic(), name=f"jobs:{self.worker_id}"
        )
        _started.add(self)

    async def stop(self) -> None:
        _started.discard(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
