"""Shared fixtures: tests run on SQLite and, where their module's subject is SQL, on
PostgreSQL too, with the schema built by the migrations.

Set `EXCHANGE_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/exchange_test`
to run the PostgreSQL half; without it those tests are skipped and the summary says so.
The database it names is not touched: each session (each xdist worker) migrates a
database of its own beside it, named after it, and empties it before every test
(`tests/databases.py`). The app for a test's settings is started once and kept
(`tests/apps.py`).

Which modules run on PostgreSQL too: those marked `every_database` (their subject is
SQL: the rules of the code of conduct, search, reuse requests, partnerships, quotas,
throttles, migrations, jobs...). What a page renders, how a problem is worded, which
headers and languages an answer has does not depend on the database, and runs on
SQLite only.
"""

from __future__ import annotations

import compileall
import gc
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from exchange.config import Settings
from exchange.schema import upgrade
from tests.actors import SchoolFactory
from tests.apps import RunningApps
from tests.clock import ManualClock
from tests.databases import PostgresDatabase, SqliteDatabase, postgres_copy
from tests.pages import Visitor

# Fixtures shared by many modules: the moto S3 server and the blob stores on it.
pytest_plugins = ["tests.blobstore_fixtures", "tests.resource_fixtures"]

POSTGRES_URL = os.environ.get("EXCHANGE_TEST_POSTGRES_URL", "").strip()
POSTGRES_SKIP_REASON = (
    "PostgreSQL tests skipped: set EXCHANGE_TEST_POSTGRES_URL="
    "postgresql+asyncpg://postgres@127.0.0.1:5432/exchange_test to run them (.ci/run does)"
)
# The xdist worker this process is ("gw0", "gw1", ...), or "main" without xdist.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def base_settings(data_dir: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "log_level": "WARNING",
        "upload_idle_timeout_seconds": 10.0,
        # Tests run jobs explicitly, with a JobWorker on the test's own engine and event
        # loop (see test_search_uploads), so that
        # what a job did is known when the test looks.
        "run_jobs": False,
        # The test client speaks plain http to a host that is not this machine's
        # loopback name: the pages' cookies go without `Secure` there.
        "cookie_secure": False,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def _migrate(data_dir: Path) -> Callable[[str], None]:
    def migrate(url: str) -> None:
        upgrade(base_settings(data_dir, database_url=url))

    return migrate


def pytest_configure(config: pytest.Config) -> None:
    """The exchange's modules and the tests' own compiled once, before the test processes
    start: with PYTHONDONTWRITEBYTECODE set (as on the machines the suite runs on) every
    process that imports them (each test process, each live server and command) would
    compile all of them again from source, about a third of a second of CPU each for the
    exchange, and five seconds for the tests, whose asserts pytest rewrites first."""
    if not hasattr(config, "workerinput"):  # the controlling process, not each worker
        compileall.compile_dir(Path(__file__).resolve().parents[1] / "src", quiet=1)
        _compile_tests(config)


def _compile_tests(config: pytest.Config) -> None:
    """The modules pytest rewrites (test modules, conftest, its plugins) written as pytest
    caches them, which each process reads even where it may not write (a cached module is
    used only if its source's hash matches); the others compiled as usual. These are
    pytest's own cache functions: if they are not there, each process rewrites for itself."""
    tests = Path(__file__).resolve().parent
    plugins = {
        tests.parent.joinpath(*name.split(".")).with_suffix(".py") for name in pytest_plugins
    }
    rewritten = [
        module
        for module in sorted(tests.rglob("*.py"))
        if module.name.startswith("test_") or module.name == "conftest.py" or module in plugins
    ]
    for module in sorted(tests.rglob("*.py")):
        if module not in rewritten:
            compileall.compile_file(module, quiet=1)
    try:
        from _pytest.assertion.rewrite import (
            PYC_TAIL,
            _read_pyc,
            _rewrite_test,
            _write_pyc,
            assertstate_key,
            get_cache_dir,
        )

        state = config.stash[assertstate_key]
    except (ImportError, KeyError):  # another pytest, or asserts not rewritten (--assert=plain)
        return
    for module in rewritten:
        cached = get_cache_dir(module) / (module.name[:-3] + PYC_TAIL)
        if _read_pyc(module, cached) is None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            source_hash, code = _rewrite_test(module, config)
            _write_pyc(state, code, source_hash, cached)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`backend` is SQLite, and PostgreSQL too in modules marked `every_database`; a test
    that parametrizes `backend` itself keeps its own choice."""
    if "backend" not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        if "backend" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return
    backends: list[object] = ["sqlite"]
    if metafunc.definition.get_closest_marker("every_database") is not None:
        backends.append(pytest.param("postgresql", marks=pytest.mark.postgres))
    metafunc.parametrize("backend", backends, indirect=True)


@pytest.hookimpl(wrapper=True)  # around xdist's, which reads the groups
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    if not POSTGRES_URL:
        skip = pytest.mark.skip(reason=POSTGRES_SKIP_REASON)
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)
    _share_module_fixtures_and_start_slow_modules_first(items)
    return (yield)


def _share_module_fixtures_and_start_slow_modules_first(items: list[pytest.Item]) -> None:
    """How the test processes share the work (`--dist loadgroup`, one test at a time to
    whichever process is free). A test that uses a module-scoped fixture (a server, a
    browser, a gigabyte archive) runs in the process its module's other such tests run
    in, so the fixture is made once, not in each. Modules with a test marked `slow` come
    first, so that the long tests start early and the short ones fill in at the end,
    instead of one process finishing a long test while the others wait."""
    for item in items:
        fixtures = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        if any(d.scope == "module" for defs in fixtures.values() for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    slow_modules = {item.nodeid.split("::")[0] for item in items if "slow" in item.keywords}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow_modules)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if POSTGRES_URL:
        terminalreporter.write_line(
            f"PostgreSQL tests ran beside {make_url(POSTGRES_URL).database}."
        )
        return
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "postgres" in getattr(report, "keywords", {})
    ]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} {POSTGRES_SKIP_REASON}", yellow=True)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Still argon2id, with argon2-cffi's test profile: production parameters cost
    ~0.1 s a hash, and hundreds of test schools sign in. `test_accounts` checks the
    production parameters separately."""
    from argon2 import PasswordHasher, profiles

    from exchange.accounts import passwords

    production = passwords.hasher
    passwords.hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    yield
    passwords.hasher = production


@pytest.fixture(autouse=True)
def release_frozen_objects() -> Iterator[None]:
    """An app that starts leaves what exists then out of garbage collection
    (`freeze_startup_objects`): right for a server, which starts once, but a test process
    starts apps throughout and would keep every test's garbage that was still waiting
    for a collection. Hand it back after each test."""
    yield
    gc.unfreeze()


# --- databases ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteDatabase]:
    data_dir = tmp_path_factory.mktemp("sqlite")
    database = SqliteDatabase(data_dir / "exchange.sqlite3", _migrate(data_dir))
    yield database
    database.close()


@pytest.fixture(scope="session")
def postgresql_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresDatabase]:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP_REASON)
    base = make_url(POSTGRES_URL)
    url = base.set(database=f"{base.database}_{WORKER}").render_as_string(hide_password=False)
    database = PostgresDatabase(url, _migrate(tmp_path_factory.mktemp("postgresql-migration")))
    yield database
    database.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    upgrade(base_settings(data_dir))
    return data_dir / "exchange.sqlite3"


@pytest.fixture(scope="session")
def postgresql_template() -> Iterator[str]:
    """A database migrated once and never connected to, for the tests that change the
    schema itself: each gets a copy (CREATE DATABASE ... TEMPLATE)."""
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP_REASON)
    base = make_url(POSTGRES_URL)
    url = base.set(database=f"{base.database}_{WORKER}_template")
    database = PostgresDatabase(url.render_as_string(hide_password=False), _migrate(Path("/")))
    # Nothing may be connected to a template while it is copied.
    database.disconnect()
    yield database.url
    database.close()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" or "postgresql", as `pytest_generate_tests` parametrizes it."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The session's database of `backend`, as freshly migrated; a test marked
    `own_database` (it changes the schema) gets a copy of its own instead."""
    if request.node.get_closest_marker("own_database") is None:
        database: SqliteDatabase | PostgresDatabase = request.getfixturevalue(f"{backend}_database")
        database.empty()
        yield database.url
        return
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        data_dir = tmp_path / "storage"
        data_dir.mkdir(exist_ok=True)
        shutil.copy(template, data_dir / "exchange.sqlite3")
        yield f"sqlite+aiosqlite:///{data_dir / 'exchange.sqlite3'}"
        return
    template_url: str = request.getfixturevalue("postgresql_template")
    name = f"{make_url(template_url).database}_{uuid.uuid4().hex[:8]}"
    with postgres_copy(template_url, name) as url:
        yield url


@pytest.fixture(scope="session")
def data_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        backend: tmp_path_factory.mktemp(f"data-{backend}") for backend in ("sqlite", "postgresql")
    }


@pytest.fixture
def settings(
    database_url: str,
    backend: str,
    data_dirs: dict[str, Path],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Settings:
    if request.node.get_closest_marker("own_database") is not None:
        data_dir = tmp_path / "storage"
        data_dir.mkdir(exist_ok=True)
    else:
        data_dir = data_dirs[backend]
        # The folder store of the default settings starts empty.
        shutil.rmtree(data_dir / "files", ignore_errors=True)
    return base_settings(data_dir, database_url=database_url)


# --- the app ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def session_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clock(session_clock: ManualClock) -> ManualClock:
    """The apps' clock, back at the present: a test moves it as it likes."""
    session_clock.set(datetime.now(UTC))
    return session_clock


@pytest.fixture(scope="session")
def running_apps(session_clock: ManualClock) -> Iterator[RunningApps]:
    apps = RunningApps(session_clock)
    yield apps
    apps.stop_all()


@pytest.fixture
def app(
    settings: Settings,
    clock: ManualClock,
    running_apps: RunningApps,
    request: pytest.FixtureRequest,
) -> Iterator[Litestar]:
    assert clock is running_apps.clock, "set the session's clock: the running apps share it"
    yield running_apps.get(settings).app
    if request.node.get_closest_marker("own_database") is not None:
        running_apps.stop(settings)


@pytest.fixture
async def client(
    app: Litestar, running_apps: RunningApps
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with running_apps.running(app).client() as test_client:
        yield test_client


@pytest.fixture
def schools(client: AsyncTestClient[Litestar], settings: Settings) -> SchoolFactory:
    return SchoolFactory(client, settings)


@pytest.fixture
def visitors(client: AsyncTestClient[Litestar]) -> Callable[[], Visitor]:
    """Browsers for page tests: each call gives one with its own cookies."""
    return lambda: Visitor(client)
