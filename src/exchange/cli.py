"""The `exchange` command: serve, migrate, and the operator's tasks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import signal
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click

from exchange.config import Settings, SettingsError
from exchange.i18n import N_, _, format_number, lazy_gettext, ngettext, using_language
from exchange.i18n.console import (
    Group,
    IntegerRange,
    NumberRange,
    Option,
    Uuid,
    speak_console_language,
)
from exchange.i18n.console import Path as PathType

# Options whose help and value names are read in the console's language.
option = functools.partial(click.option, cls=Option)


def _sessions(engine: Any, settings: Settings | None = None) -> Any:
    """Sessions for a command, with the consequences the app's sessions have."""
    from exchange.consequences import build_consequences
    from exchange.database import create_session_factory

    return create_session_factory(engine, settings, consequences=build_consequences())


def load_settings() -> Settings:
    from exchange.clock import use_time_zone

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    use_time_zone(settings.time_zone)  # the days and times a person reads
    return settings


NOT_MIGRATED = lazy_gettext(
    "The database has no tables yet, or an older schema: run `exchange db upgrade` first."
)


class _Commands(Group):
    """The top-level group: everything it and Click say is in the console's language, and
    a command that meets a database without its schema says in one line what to do,
    instead of a page of traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # The console's language lasts as long as the command, not past it (a command run
        # inside another program, as the tests run them, leaves that program's as it was).
        with using_language(speak_console_language()):
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError

        try:
            return super().invoke(ctx)
        except DBAPIError:
            if not _schema_is_behind():
                raise
            click.echo(_("error: {problem}", problem=NOT_MIGRATED), err=True)
            sys.exit(2)


def _schema_is_behind() -> bool:
    """Whether the database's schema is missing or older than the migrations."""
    from exchange.schema import current_revision, head_revision

    try:
        settings = Settings.from_env()
        return asyncio.run(current_revision(settings)) != head_revision(settings)
    except Exception:
        return False


@click.group(cls=_Commands, help=N_("The partner-school exchange."))
@click.version_option(package_name="exchange", cls=Option)
def main() -> None:
    pass


# How long a worker of `serve --workers N` may take to answer the supervisor.
WORKER_HEALTHCHECK_SECONDS = 60


@main.command(
    help=N_(
        "Run the service (applies pending migrations first unless EXCHANGE_AUTO_MIGRATE=false)."
    )
)
@option("--host", default="127.0.0.1", show_default=True, help=N_("Address to listen on."))
@option("--port", default=8000, show_default=True, type=int, help=N_("Port to listen on."))
@option("--workers", default=1, show_default=True, type=int, help=N_("Worker processes."))
def serve(host: str, port: int, workers: int) -> None:
    import uvicorn
    from sqlalchemy.exc import DBAPIError

    from exchange.connections import ConnectionLimits, http_protocol
    from exchange.schema import upgrade

    settings = load_settings()
    if settings.auto_migrate:
        upgrade(settings)
    click.echo(
        _(
            "The exchange is listening on {address} (API documentation at {address}/schema).",
            address=f"http://{host}:{port}",
        ),
        err=True,
    )
    try:
        setup_code = asyncio.run(_issue_setup_code(settings))
    except DBAPIError:  # no tables yet (EXCHANGE_AUTO_MIGRATE=false): the app says so
        setup_code = None
    if setup_code:
        click.echo(
            _(
                "First run: open {address}/ in a browser to create the first school and its "
                "admin, with this one-time setup code: {setup_code}",
                address=f"http://{host}:{port}",
                setup_code=setup_code,
            ),
            err=True,
        )
    advice = secret_key_advice(settings)
    if advice:
        click.echo(advice, err=True)
    # What uploads cut short by a crash left in the store goes now, beside the start.
    threading.Thread(
        target=_clear_upload_leftovers, args=(settings,), name="upload-leftovers", daemon=True
    ).start()
    uvicorn.run(
        "exchange.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # A header timeout and a cap on connections per address (exchange.connections).
        http=http_protocol(ConnectionLimits.from_settings(settings)),  # type: ignore[arg-type]
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=30,
        # A worker answers the supervisor's health check from a thread while it starts or
        # serves; on a busy machine five seconds (uvicorn's default) pass before a worker
        # that is importing the app gets a turn, and the supervisor would kill it and start
        # another, over and over.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def secret_key_advice(settings: Settings) -> str | None:
    """On a database other instances may share, without EXCHANGE_SECRET_KEY: a word that
    each instance signs the pages' forms with its own key, so instances behind one address
    need the same one. None on the embedded SQLite file (one machine) or with a key."""
    if settings.secret_key or settings.database_url.startswith("sqlite"):
        return None
    return _(
        "EXCHANGE_SECRET_KEY is not set, so this instance signs the pages' forms with a key "
        "of its own ({path}). Where several instances serve one address, give each the same "
        "EXCHANGE_SECRET_KEY.",
        path=str(Path(settings.data_dir) / "secret_key"),
    )


def _clear_upload_leftovers(settings: Settings) -> None:
    """Remove the temporary files of uploads whose process died (the folder store tells
    them by their lock, whatever their age; a living instance's are never touched) and
    S3 multipart uploads older than `store gc`'s default grace."""
    from exchange.resources.storekeeping import DEFAULT_GRACE, clear_interrupted_uploads

    async def run() -> int:
        async with _store_and_sessions(settings) as (blob_store, sessions, now):
            return await clear_interrupted_uploads(
                blob_store, now=now, grace=DEFAULT_GRACE, sessions=sessions
            )

    try:
        cleared = asyncio.run(run())
    except Exception as exc:  # the store is down: `store gc`, or the next start, will do it
        click.echo(
            _("Leftovers of interrupted uploads not cleared at start: {problem}", problem=exc),
            err=True,
        )
        return
    if cleared:
        click.echo(_leftovers_cleared(cleared), err=True)


def _leftovers_cleared(count: int) -> str:
    return ngettext(
        "{n} leftover of interrupted uploads cleared.",
        "{n} leftovers of interrupted uploads cleared.",
        count,
    )


@main.group(help=N_("The database schema."))
def db() -> None:
    pass


@db.command("upgrade", help=N_("Apply the Alembic migrations."))
@option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    from exchange.schema import upgrade

    upgrade(load_settings(), revision)
    click.echo(_("The database schema is up to date."), err=True)


@db.command("revision", help=N_("Write a new migration (for developers of the exchange)."))
@option("--message", "-m", required=True)
@option("--autogenerate/--empty", default=True, show_default=True)
def db_revision(message: str, autogenerate: bool) -> None:
    from alembic import command

    from exchange.schema import alembic_config

    command.revision(alembic_config(load_settings()), message=message, autogenerate=autogenerate)


@main.group(help=N_("Background work (text extraction, reminders)."))
def jobs() -> None:
    pass


@jobs.command(
    "run", help=N_("Run jobs in this process: a dedicated worker beside the app instances.")
)
@option("--until-idle", is_flag=True, help=N_("Stop when no job is left instead of waiting."))
def jobs_run(until_idle: bool) -> None:
    from exchange.observability import configure_logging

    settings = load_settings()
    configure_logging(settings)  # its log lines read as the app's do
    ran = asyncio.run(_run_jobs(settings, until_idle))
    if until_idle:
        click.echo(ngettext("{n} job run.", "{n} jobs run.", ran), err=True)


async def _run_jobs(settings: Settings, until_idle: bool) -> int:
    from exchange.app import create_blob_store
    from exchange.clock import SystemClock
    from exchange.consequences import job_kinds
    from exchange.database import create_engine
    from exchange.jobs.worker import JobContext, JobWorker

    engine = create_engine(settings)
    blob_store = create_blob_store(settings)
    worker = JobWorker(
        JobContext(
            session_factory=_sessions(engine, settings),
            settings=settings,
            clock=SystemClock(),
            state={"blob_store": blob_store},
        ),
        kinds=job_kinds(),
    )
    # SIGTERM (a deploy, `docker stop`) and Ctrl-C stop the worker between two statements:
    # a job under way is handed back to the queue for another worker at once.
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, main_task.cancel)
    try:
        await worker.schedule_periodic()
        if until_idle:
            return await worker.run_until_idle()
        await worker.run_forever()
        return 0
    except asyncio.CancelledError:
        main_task.uncancel()  # stopping as asked: what follows still runs
        return 0
    finally:
        await blob_store.close()
        await engine.dispose()


@main.group(help=N_("Schools and their first admin."))
def school() -> None:
    pass


@school.command(
    "create",
    help=N_(
        "Create a school with its first admin; prints JSON with school_id and admin_id.\n\n"
        "The password is asked for (twice, not shown) unless it comes on standard input."
    ),
)
@option("--name", required=True, help=N_("The school's name."))
@option("--admin-email", required=True, help=N_("E-mail of the school's first admin."))
@option(
    "--admin-password",
    default=None,
    help=N_(
        "Password of the first admin. Prefer the prompt or --admin-password-stdin: a "
        "password on the command line shows in `ps` and in the shell's history ('-' reads "
        "it from standard input)."
    ),
)
@option(
    "--admin-password-stdin",
    is_flag=True,
    help=N_("Read the first admin's password from the first line of standard input."),
)
@option("--admin-name", default=None, help=N_("Full name of the first admin."))
@option("--region", default=None, help=N_("Region, e.g. Osh or Chui."))
def school_create(
    name: str,
    admin_email: str,
    admin_password: str | None,
    admin_password_stdin: bool,
    admin_name: str | None,
    region: str | None,
) -> None:
    from exchange.errors import DomainError

    settings = load_settings()
    admin_password = _admin_password(admin_password, from_stdin=admin_password_stdin)
    try:
        school_id, admin_id = asyncio.run(
            _create_school(settings, name, admin_email, admin_password, admin_name, region)
        )
    except DomainError as exc:
        click.echo(_("error: {problem}", problem=exc.detail), err=True)
        sys.exit(1)
    click.echo(json.dumps({"school_id": str(school_id), "admin_id": str(admin_id)}))


def _admin_password(given: str | None, *, from_stdin: bool) -> str:
    """The first admin's password: from standard input, the command line (with a
    warning), or a hidden prompt asked twice."""
    if from_stdin or given == "-":
        if given not in (None, "-"):
            raise click.UsageError(
                _(
                    "Give the password either with --admin-password or on standard input "
                    "(--admin-password-stdin), not both."
                )
            )
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise click.UsageError(
                _(
                    "Standard input held no password: send it as the first line, e.g. "
                    "`printf '%s\\n' \"$PASSWORD\" | exchange school create ... "
                    "--admin-password-stdin`."
                )
            )
        return password
    if given is not None:
        click.echo(
            _(
                "warning: a password given with --admin-password shows in `ps` and in the "
                "shell's history; leave the option out to be asked for it, or use "
                "--admin-password-stdin."
            ),
            err=True,
        )
        return given
    typed: str = click.prompt(
        _("Password of the first admin"), hide_input=True, confirmation_prompt=True
    )
    return typed


async def _issue_setup_code(settings: Settings) -> str | None:
    """A setup code for the first-run page while the database holds no school."""
    from exchange.accounts.first_run import FirstRunService
    from exchange.clock import SystemClock
    from exchange.database import create_engine

    engine = create_engine(settings)
    try:
        async with _sessions(engine)() as session:
            return await FirstRunService(session, settings, SystemClock()).issue_code()
    finally:
        await engine.dispose()


async def _create_school(settings: Settings, *args: Any) -> tuple[Any, Any]:
    from exchange.accounts.services import AccountService
    from exchange.clock import SystemClock
    from exchange.database import create_engine

    engine = create_engine(settings)
    try:
        async with _sessions(engine)() as session:
            name, admin_email, admin_password, admin_name, region = args
            created_school, admin = await AccountService(
                session, settings, SystemClock()
            ).create_school(
                name=name,
                admin_email=admin_email,
                admin_password=admin_password,
                admin_name=admin_name,
                region=region,
            )
            return created_school.id, admin.id
    finally:
        await engine.dispose()


@main.command(
    help=N_(
        "Fill an empty database with three schools from the handbook's world, their members, a "
        "partnership with its plan, shared resources, a request and a question; prints JSON "
        "whose `members` list gives each member's e-mail, password, school and role."
    )
)
def demo() -> None:
    from exchange.demo import DemoRefused, fill
    from exchange.schema import upgrade

    settings = load_settings()
    if settings.auto_migrate:
        upgrade(settings)
    try:
        made = asyncio.run(fill(settings))
    except DemoRefused as exc:
        click.echo(_("error: {problem}", problem=str(exc)), err=True)
        sys.exit(1)
    click.echo(json.dumps(made, ensure_ascii=False, indent=2))


@main.group(help=N_("The directory's schools that are not on the exchange yet."))
def directory() -> None:
    pass


@directory.command(
    "load-handbook",
    help=N_(
        "Load the handbook's appendix 5 (private and international schools in Kyrgyzstan) "
        "and appendix 4 (sister cities) as unclaimed directory entries; running it again "
        "adds nothing."
    ),
)
def directory_load_handbook() -> None:
    from exchange.schema import upgrade

    settings = load_settings()
    if settings.auto_migrate:
        upgrade(settings)
    summary = asyncio.run(_load_handbook(settings))
    click.echo(
        " ".join(
            (
                ngettext(
                    "The handbook's lists hold {n} entry:",
                    "The handbook's lists hold {n} entries:",
                    summary.total,
                ),
                ngettext("{n} added,", "{n} added,", summary.added),
                ngettext("{n} brought up to date,", "{n} brought up to date,", summary.updated),
                ngettext(
                    "{n} already in the directory.",
                    "{n} already in the directory.",
                    summary.unchanged,
                ),
            )
        )
    )


async def _load_handbook(settings: Settings) -> Any:
    from exchange.database import create_engine
    from exchange.directory.handbook import load_handbook

    engine = create_engine(settings)
    try:
        async with _sessions(engine, settings)() as session:
            summary = await load_handbook(session)
            await session.commit()
            return summary
    finally:
        await engine.dispose()


@main.group(help=N_("The code of conduct that partnerships agree to."))
def conduct() -> None:
    pass


@conduct.command(
    "publish",
    help=N_("Publish a new version; new agreements use it, existing partnerships keep theirs."),
)
@option(
    "--file",
    "path",
    required=True,
    type=PathType(exists=True, dir_okay=False, path_type=Path),
    help=N_("JSON with title, preamble and rules in ky, ru and en (the shape of version 1)."),
)
def conduct_publish(path: Path) -> None:
    from exchange.errors import DomainError

    try:
        raw = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(
            _("{path} is not UTF-8 JSON: {problem}", path=path, problem=exc), param_hint="--file"
        ) from exc
    if not isinstance(raw, dict):
        raise click.BadParameter(
            _("{path} must hold one JSON object.", path=path), param_hint="--file"
        )
    try:
        version = asyncio.run(_publish_conduct(load_settings(), raw))
    except DomainError as exc:
        click.echo(_("error: {problem}", problem=exc.detail), err=True)
        sys.exit(1)
    click.echo(json.dumps({"version": version}))


async def _publish_conduct(settings: Settings, raw: dict[str, Any]) -> int:
    from exchange.clock import SystemClock
    from exchange.database import create_engine
    from exchange.partnerships.conduct import CodeOfConductService

    engine = create_engine(settings)
    try:
        async with _sessions(engine)() as session:
            published = await CodeOfConductService(session, settings, SystemClock()).publish(raw)
            return published.version
    finally:
        await engine.dispose()


@main.group(help=N_("The file store (EXCHANGE_STORAGE_URL): clean-up and integrity checks."))
def store() -> None:
    pass


@store.command(
    "gc",
    help=N_(
        "Remove stored files no resource version points at, and leftovers of interrupted uploads "
        "(temporary files, unfinished multipart uploads)."
    ),
)
@option(
    "--grace-hours",
    default=24.0,
    show_default=True,
    type=NumberRange(min=0),
    help=N_("Leave files younger than this: an upload may still be committing its row."),
)
@option("--dry-run", is_flag=True, help=N_("List what would be removed; remove nothing."))
def store_gc(grace_hours: float, dry_run: bool) -> None:
    from datetime import timedelta

    from exchange.resources.storekeeping import collect_garbage

    settings = load_settings()

    async def run() -> Any:
        async with _store_and_sessions(settings) as (blob_store, sessions, now):
            return await collect_garbage(
                blob_store,
                sessions,
                now=now,
                grace=timedelta(hours=grace_hours),
                dry_run=dry_run,
            )

    report = _run_store_task(run)
    for key in report.orphans:
        click.echo(_("would remove {key}", key=key) if dry_run else _("removed {key}", key=key))
    orphans = len(report.orphans)
    summary = [
        ngettext(
            "{n} orphaned file would be removed.", "{n} orphaned files would be removed.", orphans
        )
        if dry_run
        else ngettext("{n} orphaned file removed.", "{n} orphaned files removed.", orphans),
        ngettext("{n} file is in use.", "{n} files are in use.", report.referenced),
        ngettext(
            "{n} file younger than {hours} hours was left alone.",
            "{n} files younger than {hours} hours were left alone.",
            report.kept_young,
            hours=format_number(grace_hours),
        ),
    ]
    if dry_run:
        summary.append(_("Leftovers of interrupted uploads are not looked at in a dry run."))
    else:
        summary.append(_leftovers_cleared(report.incomplete_cleared))
        summary.append(
            ngettext(
                "{n} expired resumable upload removed.",
                "{n} expired resumable uploads removed.",
                report.uploads_expired,
            )
        )
    click.echo(" ".join(summary), err=True)


@store.command(
    "verify",
    help=N_(
        "Read every stored version back and check its size and SHA-256; exit 1 when any file is "
        "missing or differs."
    ),
)
def store_verify() -> None:
    from exchange.resources.storekeeping import Damage, verify_store

    settings = load_settings()

    def report_damage(damage: Damage) -> None:
        click.echo(damage.describe())

    async def run() -> Any:
        async with _store_and_sessions(settings) as (blob_store, sessions, _now):
            return await verify_store(blob_store, sessions, on_damage=report_damage)

    report = _run_store_task(run)
    if report.damaged:
        click.echo(
            ngettext(
                "{damaged} of {n} stored version is missing or damaged.",
                "{damaged} of {n} stored versions are missing or damaged.",
                report.checked,
                damaged=len(report.damaged),
            ),
            err=True,
        )
        sys.exit(1)
    click.echo(
        ngettext(
            "The {n} stored version is intact.",
            "All {n} stored versions are intact.",
            report.checked,
        ),
        err=True,
    )


@store.command(
    "previews",
    help=N_(
        "Queue a preview for every version that has none: files uploaded before previews "
        "existed, or whose preview could not be made. The background jobs make them."
    ),
)
def store_previews() -> None:
    from exchange.previews.job import queue_missing_previews

    settings = load_settings()

    async def run() -> Any:
        async with _store_and_sessions(settings) as (_blob_store, sessions, _now):
            from exchange.clock import SystemClock

            return await queue_missing_previews(sessions, SystemClock())

    queued = _run_store_task(run)
    click.echo(
        ngettext(
            "{n} preview queued; the background jobs make it.",
            "{n} previews queued; the background jobs make them.",
            queued,
        ),
        err=True,
    )


def _run_store_task(task: Any) -> Any:
    from exchange.errors import DomainError

    try:
        return asyncio.run(task())
    except DomainError as exc:  # the store or the database is not answering
        click.echo(_("error: {problem}", problem=exc.detail), err=True)
        sys.exit(2)


@contextlib.asynccontextmanager
async def _store_and_sessions(settings: Settings) -> AsyncIterator[tuple[Any, Any, Any]]:
    from exchange.app import create_blob_store
    from exchange.clock import SystemClock
    from exchange.database import create_engine

    engine = create_engine(settings)
    blob_store = create_blob_store(settings)
    try:
        yield blob_store, _sessions(engine), SystemClock().now()
    finally:
        await blob_store.close()
        await engine.dispose()


@main.group(help=N_("The full-text search index."))
def search() -> None:
    pass


@search.command(
    "reindex",
    help=N_(
        "Rebuild the search index rows of every resource (or of one school, or one resource) "
        "from the database and the text already extracted, a batch per transaction; prints a "
        "JSON summary. Safe to run again, and while the app runs."
    ),
)
@option("--school", "school_id", type=Uuid(), help=N_("Only this school's resources."))
@option("--resource", "resource_id", type=Uuid(), help=N_("Only this resource."))
@option(
    "--extract",
    is_flag=True,
    help=N_(
        "Also queue text extraction for current versions whose extraction failed or "
        "is missing (the app's jobs or `exchange jobs run` then read the files)."
    ),
)
@option(
    "--batch-size",
    default=200,
    show_default=True,
    type=IntegerRange(min=1, max=5000),
    help=N_("Resources rewritten and committed per transaction."),
)
def search_reindex(school_id: Any, resource_id: Any, extract: bool, batch_size: int) -> None:
    import time

    from exchange.errors import DomainError
    from exchange.search.rebuild import ReindexReport

    settings = load_settings()
    last_progress = time.monotonic()

    def progress(report: ReindexReport) -> None:
        nonlocal last_progress
        if time.monotonic() - last_progress >= 5:
            last_progress = time.monotonic()
            click.echo(
                ngettext(
                    "{n} resource reindexed so far...",
                    "{n} resources reindexed so far...",
                    report.reindexed,
                ),
                err=True,
            )

    try:
        report = asyncio.run(
            _reindex(settings, school_id, resource_id, extract, batch_size, progress)
        )
    except DomainError as exc:  # no such school or resource
        click.echo(_("error: {problem}", problem=exc.detail), err=True)
        sys.exit(1)
    click.echo(json.dumps(report.as_dict()))
    summary = [
        ngettext(
            "{n} resource reindexed in {batches}.",
            "{n} resources reindexed in {batches}.",
            report.reindexed,
            batches=ngettext("{n} batch", "{n} batches", report.batches),
        )
    ]
    if report.extraction_queued:
        summary.append(
            ngettext(
                "Text extraction queued for {n} resource; the app's background jobs (or "
                "`exchange jobs run`) will read the file.",
                "Text extraction queued for {n} resources; the app's background jobs (or "
                "`exchange jobs run`) will read the files.",
                report.extraction_queued,
            )
        )
    elif report.text_missing:
        summary.append(
            ngettext(
                "{n} resource has no text from its current file; `--extract` queues its "
                "extraction again.",
                "{n} resources have no text from their current file; `--extract` queues "
                "their extraction again.",
                report.text_missing,
            )
        )
    click.echo(" ".join(summary), err=True)


async def _reindex(settings: Settings, *args: Any) -> Any:
    from exchange.clock import SystemClock
    from exchange.database import create_engine
    from exchange.search.rebuild import reindex

    school_id, resource_id, extract, batch_size, progress = args
    engine = create_engine(settings)
    try:
        return await reindex(
            _sessions(engine, settings),
            SystemClock(),
            school_id=school_id,
            resource_id=resource_id,
            extract=extract,
            batch_size=batch_size,
            on_batch=progress,
        )
    finally:
        await engine.dispose()


@main.group(help=N_("Reuse requests between schools."))
def requests() -> None:
    pass


@requests.command(
    "escalate",
    help=N_(
        "Escalate overdue reuse requests to the owner schools' admins, and overdue questions "
        "between partners to the asked schools' admins (rule 9); run it from cron.\n\nEach "
        "request or question is escalated once, however often this runs and however many app "
        "instances also check on their own."
    ),
)
def requests_escalate() -> None:
    count = asyncio.run(_escalate(load_settings()))
    click.echo(json.dumps({"escalated": count}))


async def _escalate(settings: Settings) -> int:
    from exchange.clock import SystemClock
    from exchange.database import create_engine
    from exchange.escalation import escalate_overdue

    engine = create_engine(settings)
    try:
        async with _sessions(engine, settings)() as session:
            count = await escalate_overdue(session, SystemClock())
        return count
    finally:
        await engine.dispose()
