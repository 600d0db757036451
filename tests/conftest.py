"""Shared fixtures: every test runs on SQLite and, when a PostgreSQL URL is given, on
PostgreSQL too, with the schema built by the migrations.

Set `EXCHANGE_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/exchange_test`
to run the PostgreSQL half; without it those tests are skipped and the summary says so.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from exchange.app import create_app
from exchange.clock import ManualClock
from exchange.config import Settings
from exchange.schema import upgrade
from tests.actors import SchoolFactory
from tests.pages import Visitor

# Fixtures shared by many modules: the moto S3 server and the blob stores on it.
pytest_plugins = ["tests.blobstore_fixtures", "tests.resource_fixtures"]

POSTGRES_URL = os.environ.get("EXCHANGE_TEST_POSTGRES_URL", "").strip()
POSTGRES_SKIP_REASON = (
    "PostgreSQL tests skipped: set EXCHANGE_TEST_POSTGRES_URL="
    "postgresql+asyncpg://postgres@127.0.0.1:5432/exchange_test to run them (.ci/run does)"
)
_database_numbers = itertools.count(1)


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


async def _admin_execute(url: str, *statements: str) -> None:
    engine = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason=POSTGRES_SKIP_REASON)
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if POSTGRES_URL:
        terminalreporter.write_line(
            f"PostgreSQL tests ran against {make_url(POSTGRES_URL).database}."
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    upgrade(base_settings(data_dir))
    return data_dir / "exchange.sqlite3"


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A database migrated once; each test gets a copy of it (CREATE DATABASE ... TEMPLATE)."""
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP_REASON)
    base = make_url(POSTGRES_URL)
    template = f"{base.database}_template"
    _run(
        _admin_execute(
            POSTGRES_URL,
            f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)',
            f'CREATE DATABASE "{template}"',
        )
    )
    url = base.set(database=template).render_as_string(hide_password=False)
    upgrade(base_settings(Path("/nonexistent"), database_url=url))
    yield template
    _run(_admin_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        data_dir = tmp_path / "storage"
        data_dir.mkdir(exist_ok=True)
        shutil.copy(template, data_dir / "exchange.sqlite3")
        yield f"sqlite+aiosqlite:///{data_dir / 'exchange.sqlite3'}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    base = make_url(POSTGRES_URL)
    name = f"{base.database}_{os.getpid()}_{next(_database_numbers)}"
    _run(_admin_execute(POSTGRES_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    _run(_admin_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "storage"
    data_dir.mkdir(exist_ok=True)
    return base_settings(data_dir, database_url=database_url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> Litestar:
    return create_app(settings, clock=clock)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        # The tests read the English texts unless they ask for another language
        # (tests/integration/test_languages.py); a request that names none gets Kyrgyz.
        test_client.headers["Accept-Language"] = "en"
        yield test_client


@pytest.fixture
def schools(client: AsyncTestClient[Litestar], settings: Settings) -> SchoolFactory:
    return SchoolFactory(client, settings)


@pytest.fixture
def visitors(client: AsyncTestClient[Litestar]) -> Callable[[], Visitor]:
    """Browsers for page tests: each call gives one with its own cookies."""
    return lambda: Visitor(client)
