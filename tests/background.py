"""Running the background jobs when a test says so, as the app's worker would."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any

from litestar import Litestar

from exchange.app import create_blob_store
from exchange.clock import Clock
from exchange.config import Settings
from exchange.consequences import build_consequences, job_kinds
from exchange.database import create_engine, create_session_factory
from exchange.jobs.worker import JobContext, JobWorker
from exchange.mail.outbox import SEND_MAIL
from exchange.previews.job import MAKE_PREVIEW
from exchange.text.extraction_job import EXTRACT_TEXT


async def run_jobs_with(
    settings: Settings,
    clock: Clock,
    *,
    periodic: bool = False,
    kinds: Collection[str] | None = None,
) -> int:
    """Runs the queued jobs as a worker with these settings and clock would, on a
    database connection of the test's own event loop. Returns how many jobs ran."""
    engine = create_engine(settings)
    store = create_blob_store(settings)
    try:
        worker = JobWorker(
            JobContext(
                session_factory=create_session_factory(
                    engine, settings, consequences=build_consequences()
                ),
                settings=settings,
                clock=clock,
                state={"blob_store": store},
            ),
            kinds={
                kind: spec for kind, spec in job_kinds().items() if kinds is None or kind in kinds
            },
        )
        if periodic:
            await worker.schedule_periodic()
        ran: int = await worker.run_until_idle()
        return ran
    finally:
        await store.close()
        await engine.dispose()


async def run_jobs(
    app: Litestar,
    *,
    periodic: bool = False,
    kinds: Collection[str] | None = None,
    **changes: Any,
) -> int:
    """Runs the queued jobs as the app's worker would, with its settings (changed by
    `changes`), clock and store, on a database connection of the test's own event loop
    (the app's connections belong to the loop that serves its requests). With
    `periodic`, the periodic jobs (the escalation of overdue requests) are queued first,
    as a worker does when it starts. With `kinds`, only jobs of those kinds run (a
    worker that knows only them). Returns how many jobs ran."""
    settings: Settings = replace(app.state["settings"], **changes)
    return await run_jobs_with(settings, app.state["clock"], periodic=periodic, kinds=kinds)


async def send_mail(settings: Settings, clock: Clock) -> int:
    """Sends the mail waiting in the outbox, as a job worker with these settings would;
    returns how many jobs ran (a mail whose server was down is tried again later)."""
    return await run_jobs_with(settings, clock, kinds=[SEND_MAIL])


# How many jobs one run of the periodic jobs is (the escalation of overdue requests and
# questions, the reminders to evaluate activities).
PERIODIC_JOBS = sum(1 for kind in job_kinds().values() if kind.every is not None)


async def run_escalation(app: Litestar) -> int:
    """What the periodic escalation job does when it is due (and any job queued)."""
    return await run_jobs(app, periodic=True)


async def run_text_extraction(app: Litestar, **changes: Any) -> int:
    """Runs the queued text extraction jobs only (each upload also queues its preview)."""
    return await run_jobs(app, kinds=[EXTRACT_TEXT], **changes)


async def run_previews(app: Litestar, **changes: Any) -> int:
    """Runs the queued preview jobs only."""
    return await run_jobs(app, kinds=[MAKE_PREVIEW], **changes)
