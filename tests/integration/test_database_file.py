"""The embedded SQLite database holds password hashes and e-mail addresses: its files are
readable by the service's user only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from exchange.config import Settings
from exchange.database import create_engine
from tests.live_server import live_server, run_exchange


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_a_served_database_and_its_wal_files_are_private(tmp_path: Path, usual_umask: None) -> None:
    data = tmp_path / "storage"
    with live_server(tmp_path) as server:
        created = run_exchange(
            "school", "create", "--name", "Школа №1", "--admin-email", "d@school1.kg",
            "--admin-password", "a long enough password", cwd=tmp_path,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        signed_in = httpx.post(
            f"{server.base_url}/api/auth/token",
            json={"email": "d@school1.kg", "password": "a long enough password"},
        )
        assert signed_in.status_code == 200, signed_in.text
        # While the server runs, its write-ahead log and shared memory are open.
        assert (data / "exchange.sqlite3-wal").is_file()
        assert (data / "exchange.sqlite3-shm").is_file()
        for name in ("exchange.sqlite3", "exchange.sqlite3-wal", "exchange.sqlite3-shm"):
            assert mode(data / name) == 0o600, name
        assert mode(data) == 0o700


async def test_a_database_left_readable_by_an_older_version_is_made_private(
    tmp_path: Path, usual_umask: None
) -> None:
    data = tmp_path / "storage"
    data.mkdir(mode=0o755)
    database = data / "exchange.sqlite3"
    database.touch(mode=0o644)
    (data / "exchange.sqlite3-wal").touch(mode=0o644)
    assert mode(database) == 0o644

    engine = create_engine(Settings(data_dir=data))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        await engine.dispose()

    assert mode(database) == 0o600
    assert mode(data) == 0o700


async def test_a_database_outside_the_data_folder_is_private_but_its_folder_is_left_alone(
    tmp_path: Path, usual_umask: None
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    database = shared / "exchange.sqlite3"
    engine = create_engine(
        Settings(data_dir=tmp_path / "storage", database_url=f"sqlite+aiosqlite:///{database}")
    )
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            assert mode(shared / "exchange.sqlite3-wal") == 0o600
    finally:
        await engine.dispose()

    assert mode(database) == 0o600
    assert mode(shared) == 0o755
