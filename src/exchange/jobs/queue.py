"""Queueing and claiming jobs safely with several workers on one database.

On PostgreSQL a worker picks a candidate with `FOR UPDATE SKIP LOCKED`, so workers
never wait on each other; on every database the claim itself is a conditional UPDATE
that only one worker can win, which is what makes SQLite safe too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from exchange.clock import Clock
from exchange.models import Job

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


async def enqueue(
    session: AsyncSession,
    clock: Clock,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    delay: timedelta | None = None,
    max_attempts: int = 5,
) -> Job | None:
    """Add a job to the caller's transaction. With a `dedupe_key` already queued or
    running, nothing is added and None is returned."""
    if dedupe_key is not None:
        existing = await session.scalar(select(Job.id).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    job = Job(
        kind=kind,
        payload=payload,
        status=QUEUED,
        run_after=clock.now() + (delay or timedelta()),
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
    )
    try:
        async with session.begin_nested():
            session.add(job)
            await session.flush()
    except IntegrityError:
        return None
    return job


def _claimable(now: Any, kinds: Sequence[str]) -> Any:
    return and_(
        Job.kind.in_(kinds),
        or_(
            and_(Job.status == QUEUED, Job.run_after <= now),
            and_(Job.status == RUNNING, Job.locked_until < now),
        ),
    )


async def claim(
    session: AsyncSession,
    clock: Clock,
    *,
    worker_id: str,
    kinds: Sequence[str],
    lease: timedelta,
) -> Job | None:
    """Take the oldest runnable job of these kinds, or None. Commits the claim."""
    now = clock.now()
    candidates = select(Job.id).where(_claimable(now, kinds)).order_by(Job.run_after).limit(5)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids: list[UUID] = list(await session.scalars(candidates))
    for job_id in ids:
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, _claimable(now, kinds))
            .values(
                status=RUNNING,
                locked_by=worker_id,
                locked_until=now + lease,
                attempts=Job.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            await session.commit()
            job = await session.get(Job, job_id, populate_existing=True)
            return job
    await session.commit()
    return None


async def complete(session: AsyncSession, clock: Clock, job: Job) -> None:
    job.status = DONE
    job.finished_at = clock.now()
    job.locked_until = None
    job.dedupe_key = None
    job.last_error = None
    await session.commit()


async def release(session: AsyncSession, clock: Clock, job_id: UUID, worker_id: str) -> None:
    """Hand back a job this worker took but did not finish because it is stopping: queued
    to run now, by any worker, its attempt not counted. Commits."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == RUNNING, Job.locked_by == worker_id)
        .values(
            status=QUEUED,
            locked_by=None,
            locked_until=None,
            run_after=clock.now(),
            attempts=Job.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def fail(session: AsyncSession, clock: Clock, job: Job, error: str) -> bool:
    """Retry later with a growing delay, or give up after the last attempt (True)."""
    await session.refresh(job)  # the handler's failure may have rolled the session back
    job.last_error = error[:2000]
    job.locked_until = None
    gave_up = job.attempts >= job.max_attempts
    if gave_up:
        job.status = FAILED
        job.finished_at = clock.now()
        job.dedupe_key = None
    else:
        job.status = QUEUED
        job.run_after = clock.now() + timedelta(seconds=min(3600, 5 * 4 ** (job.attempts - 1)))
    await session.commit()
    return gave_up
