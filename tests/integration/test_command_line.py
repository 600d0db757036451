"""The `exchange` command on a fresh folder, the way a newcomer runs it.

One `exchange serve` on a fresh folder, with the embedded defaults, serves the module:
the other commands run beside it on the same folder, as an admin runs them beside the
service, each with a school of its own. The first school is made by `python -m exchange`
in a process of its own, as a newcomer makes it; the other commands run in the test's
process through Click's runner (`invoke_exchange`), as their subject is what they say,
not the process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer, invoke_exchange, live_server, run_exchange

pytestmark = pytest.mark.slow

PATIENCE = 30.0


@dataclass
class Served:
    server: LiveServer
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("fresh-folder")
    with live_server(folder) as server:
        yield Served(server, folder)


def _signs_in(served: Served, email: str, password: str) -> bool:
    answer = httpx.post(
        f"{served.server.base_url}/api/auth/token",
        json={"email": email, "password": password},
        timeout=PATIENCE,
    )
    return answer.status_code == 200


def test_serve_on_embedded_defaults_then_create_a_school_and_sign_in(served: Served) -> None:
    server = served.server
    assert (served.folder / "storage" / "exchange.sqlite3").is_file()
    created = run_exchange(
        "school",
        "create",
        "--name",
        "Таш-Көмүр №2 мектеби",
        "--admin-email",
        "director@tashkomur.kg",
        "--admin-password",
        "a long enough password",
        "--region",
        "Jalal-Abad",
        cwd=served.folder,
    )
    assert created.returncode == 0, created.stderr
    ids = json.loads(created.stdout)
    assert set(ids) == {"school_id", "admin_id"}
    token = httpx.post(
        f"{server.base_url}/api/auth/token",
        json={"email": "director@tashkomur.kg", "password": "a long enough password"},
        timeout=PATIENCE,
    ).json()["access_token"]
    me = httpx.get(
        f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    assert me.status_code == 200
    assert me.json()["id"] == ids["admin_id"]
    assert me.json()["school"]["id"] == ids["school_id"]
    assert me.headers["x-request-id"]
    ready = httpx.get(f"{server.base_url}/health/ready", timeout=60)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    # Each request is logged as it ends (a line a moment after the answer), never a token.
    deadline = time.monotonic() + PATIENCE
    while '"event": "request"' not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log()
    assert '"event": "request"' in log
    assert token not in log


def test_school_create_refuses_a_weak_password_with_a_clear_message(served: Served) -> None:
    result = invoke_exchange(
        "school",
        "create",
        "--name",
        "X",
        "--admin-email",
        "weak@b.kg",
        "--admin-password",
        "short",
        cwd=served.folder,
    )
    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr
    assert result.stdout == ""


def test_serve_does_not_migrate_when_auto_migrate_is_off_and_db_upgrade_does(
    tmp_path: Path,
) -> None:
    with live_server(tmp_path, {"EXCHANGE_AUTO_MIGRATE": "false"}) as server:
        ready = httpx.get(f"{server.base_url}/health/ready", timeout=60)
        assert ready.status_code == 200
        token = httpx.post(
            f"{server.base_url}/api/auth/token",
            json={"email": "a@b.kg", "password": "x"},
            timeout=PATIENCE,
        )
        # No tables: the failure is reported as a problem, with no SQL in it.
        assert token.status_code == 503
        assert token.headers["content-type"].startswith("application/problem+json")
        assert "sign_in_failures" not in token.text
        assert "SELECT" not in token.text
        # `exchange db upgrade` beside the running service makes the tables it lacked.
        assert invoke_exchange("db", "upgrade", cwd=tmp_path).returncode == 0
        after = httpx.post(
            f"{server.base_url}/api/auth/token",
            json={"email": "a@b.kg", "password": "x"},
            timeout=PATIENCE,
        )
        assert after.status_code == 401, after.text


def test_a_bad_setting_is_refused_before_starting(tmp_path: Path) -> None:
    result = invoke_exchange(
        "db", "upgrade", cwd=tmp_path, env={"EXCHANGE_MAX_UPLOAD_BYTES": "lots"}
    )
    assert result.returncode != 0
    assert "EXCHANGE_MAX_UPLOAD_BYTES" in result.stderr


def _create_school(
    served: Served, email: str, *password_args: str, input: str | None = None
) -> Any:
    return invoke_exchange(
        "school",
        "create",
        "--name",
        "Кара-Суу №3 мектеби",
        "--admin-email",
        email,
        *password_args,
        cwd=served.folder,
        input=input,
    )


def test_school_create_reads_the_password_from_standard_input(served: Served) -> None:
    email = "stdin@karasuu.kg"
    created = _create_school(
        served, email, "--admin-password-stdin", input="a passphrase from a pipe\n"
    )
    assert created.returncode == 0, created.stderr
    assert set(json.loads(created.stdout)) == {"school_id", "admin_id"}
    assert "warning" not in created.stderr
    assert _signs_in(served, email, "a passphrase from a pipe")


def test_school_create_reads_the_password_from_standard_input_given_a_dash(
    served: Served,
) -> None:
    email = "dash@karasuu.kg"
    created = _create_school(served, email, "--admin-password", "-", input="dash means stdin\n")
    assert created.returncode == 0, created.stderr
    assert "warning" not in created.stderr
    assert _signs_in(served, email, "dash means stdin")


def test_school_create_with_the_password_on_the_command_line_warns(served: Served) -> None:
    created = _create_school(
        served, "argument@karasuu.kg", "--admin-password", "still works for scripts"
    )
    assert created.returncode == 0, created.stderr
    assert "warning:" in created.stderr
    assert "--admin-password-stdin" in created.stderr
    assert set(json.loads(created.stdout)) == {"school_id", "admin_id"}


def test_school_create_asks_for_the_password_twice_without_showing_it(served: Served) -> None:
    from click.testing import CliRunner

    from exchange.cli import main

    email = "prompt@karasuu.kg"
    env = {"EXCHANGE_DATA_DIR": str(served.folder / "storage")}
    runner = CliRunner()
    mismatch = runner.invoke(
        main,
        ["school", "create", "--name", "X", "--admin-email", email],
        input="first typing of it\nsecond typing of it\n",
        env=env,
    )
    assert "do not match" in mismatch.output
    typed = runner.invoke(
        main,
        ["school", "create", "--name", "X", "--admin-email", email],
        input="typed at the prompt\ntyped at the prompt\n",
        env=env,
    )
    assert typed.exit_code == 0, typed.output
    assert "typed at the prompt" not in typed.output
    assert "Password of the first admin" in typed.output
    assert _signs_in(served, email, "typed at the prompt")


@pytest.mark.parametrize(
    "command",
    [
        ("school", "create", "--name", "X", "--admin-email", "a@b.kg", "--admin-password-stdin"),
        ("store", "verify"),
        ("search", "reindex"),
        ("requests", "escalate"),
        ("jobs", "run", "--until-idle"),
    ],
)
def test_a_command_on_a_database_without_tables_says_to_upgrade_in_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # `jobs run` sets up the logging of the process it runs in: a process of its own.
    run = run_exchange if command[0] == "jobs" else invoke_exchange
    result = run(*command, cwd=tmp_path, input="a long enough password\n")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: The database has no tables yet, or an older schema: run "
        "`exchange db upgrade` first."
    ]
    assert "Traceback" not in result.stderr
