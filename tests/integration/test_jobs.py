"""Jobs survive restarts, are taken by exactly one worker, and retry with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange.config import Settings
from exchange.database import create_engine, create_session_factory
from exchange.jobs.queue import claim, enqueue
from exchange.jobs.worker import JobContext, JobKind, JobWorker
from exchange.models import Job
from tests.clock import ManualClock

# On SQLite and PostgreSQL: jobs are claimed by SQL that differs per database.
pytestmark = pytest.mark.every_database

ran: list[dict[str, Any]] = []
failures_left: dict[str, int] = {}
given_up: list[tuple[dict[str, Any], str]] = []


async def record(_context: JobContext, payload: dict[str, Any]) -> None:
    await asyncio.sleep(0)
    if failures_left.get(payload["name"], 0) > 0:
        failures_left[payload["name"]] -= 1
        raise RuntimeError("not this time")
    ran.append(payload)


async def record_giving_up(_context: JobContext, payload: dict[str, Any], error: str) -> None:
    given_up.append((payload, error))


KINDS = {"test.record": JobKind(record, on_give_up=record_giving_up)}


@pytest.fixture(autouse=True)
def nothing_recorded_yet() -> None:
    ran.clear()
    failures_left.clear()
    given_up.clear()


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    yield create_session_factory(engine)
    await engine.dispose()


def worker(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: ManualClock
) -> JobWorker:
    return JobWorker(JobContext(sessions, settings, clock, {}), kinds=KINDS)


async def queue(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock, *names: str, key: bool = False
) -> None:
    async with sessions() as session:
        for name in names:
            await enqueue(
                session,
                clock,
                "test.record",
                {"name": name},
                dedupe_key=f"k:{name}" if key else None,
            )
        await session.commit()


async def jobs(sessions: async_sessionmaker[AsyncSession]) -> list[Job]:
    async with sessions() as session:
        return list(await session.scalars(select(Job).order_by(Job.created_at)))


async def test_a_queued_job_runs_once_and_is_marked_done(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: ManualClock
) -> None:
    await queue(sessions, clock, "first")
    assert await worker(sessions, settings, clock).run_until_idle() == 1
    assert ran == [{"name": "first"}]
    (job,) = await jobs(sessions)
    assert job.status == "done"
    assert job.attempts == 1
    assert await worker(sessions, settings, clock).run_until_idle() == 0


async def test_the_same_work_is_not_queued_twice(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: ManualClock
) -> None:
    await queue(sessions, clock, "same", "same", key=True)
    assert len(await jobs(sessions)) == 1
    await worker(sessions, settings, clock).run_until_idle()
    # Once done, the same key may be queued again (e.g. a new version to extract).
    await queue(sessions, clock, "same", key=True)
    assert len(await jobs(sessions)) == 2


async def test_a_failing_job_is_retried_later_then_given_up(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: ManualClock
) -> None:
    failures_left["flaky"] = 99
    await queue(sessions, clock, "flaky")
    runner = worker(sessions, settings, clock)
    assert await runner.run_until_idle() == 1
    (job,) = await jobs(sessions)
    assert job.status == "queued"
    assert job.run_after > clock.now()
    assert "not this time" in (job.last_error or "")
    for _ in range(3):
        clock.advance(timedelta(hours=2))
        assert await runner.run_until_idle() == 1
    assert given_up == []  # one attempt is left
    clock.advance(timedelta(hours=2))
    assert await runner.run_until_idle() == 1
    (job,) = await jobs(sessions)
    assert job.status == "failed"
    assert job.attempts == 5
    assert ran == []
    assert given_up == [({"name": "flaky"}, "RuntimeError('not this time')")]
    clock.advance(timedelta(days=1))
    assert await runner.run_until_idle() == 0
    assert len(given_up) == 1


async def test_a_job_whose_worker_died_is_taken_again_after_its_lease(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: ManualClock
) -> None:
    await queue(sessions, clock, "orphan")
    async with sessions() as session:
        taken = await claim(
            session, clock, worker_id="dead", kinds=["test.record"], lease=timedelta(minutes=10)
        )
    assert taken is not None
    survivor = worker(sessions, settings, clock)
    assert await survivor.run_until_idle() == 0
    clock.advance(timedelta(minutes=11))
    assert await survivor.run_until_idle() == 1
    assert ran == [{"name": "orphan"}]


async def test_two_workers_never_run_the_same_job(
    settings: Settings, clock: ManualClock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await queue(sessions, clock, *[f"job{n}" for n in range(30)])
    engine_a, engine_b = create_engine(settings), create_engine(settings)
    try:
        worker_a = worker(create_session_factory(engine_a), settings, clock)
        worker_b = worker(create_session_factory(engine_b), settings, clock)
        counts = await asyncio.gather(worker_a.run_until_idle(), worker_b.run_until_idle())
    finally:
        await engine_a.dispose()
        await engine_b.dispose()
    assert sum(counts) == 30
    assert sorted(p["name"] for p in ran) == sorted(f"job{n}" for n in range(30))
    assert {job.status for job in await jobs(sessions)} == {"done"}


async def test_the_app_runs_jobs_in_process_when_enabled(settings: Settings) -> None:
    from litestar.testing import AsyncTestClient

    from exchange.app import create_app
    from exchange.clock import SystemClock

    app = create_app(replace(settings, run_jobs=True))
    app.state["job_worker"].kinds.update(KINDS)
    async with AsyncTestClient(app=app):
        engine = create_engine(settings)
        try:
            factory = create_session_factory(engine)
            async with factory() as session:
                await enqueue(session, SystemClock(), "test.record", {"name": "background"})
                await session.commit()
            app.state["job_worker"].wake()
            for _ in range(100):
                if ran:
                    break
                await asyncio.sleep(0.05)
        finally:
            await engine.dispose()
    assert ran == [{"name": "background"}]


async def test_a_job_under_way_when_its_worker_stops_is_handed_back_at_once(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: ManualClock
) -> None:
    started = asyncio.Event()

    async def never_ends(_context: JobContext, _payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.Event().wait()

    await queue(sessions, clock, "long")
    stopping = JobWorker(
        JobContext(sessions, settings, clock, {}), kinds={"test.record": JobKind(never_ends)}
    )
    under_way = asyncio.create_task(stopping.run_once())
    await started.wait()
    under_way.cancel()  # as SIGTERM does to `exchange jobs run`, or the app's shutdown
    with pytest.raises(asyncio.CancelledError):
        await under_way
    (job,) = await jobs(sessions)
    assert (job.status, job.attempts, job.locked_by) == ("queued", 0, None)
    # Another worker takes it now, not when the lease would have run out.
    assert await worker(sessions, settings, clock).run_until_idle() == 1
    assert ran == [{"name": "long"}]
    (job,) = await jobs(sessions)
    assert (job.status, job.attempts) == ("done", 1)
