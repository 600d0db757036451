"""The real service in a child process, spoken to over real HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from exchange.accounts.services import AccountService
from exchange.clock import SystemClock
from exchange.config import Settings
from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from tests.actors import PASSWORD


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exchange_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "exchange", *args]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def run_exchange(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        exchange_command(*args),
        cwd=cwd,
        env=child_env(env),
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


def invoke_exchange(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`exchange ...` as `run_exchange` runs it (in `cwd`, without the test process's
    `EXCHANGE_` settings, its output and errors apart), but in this process through
    Click's test runner: a child process spends a second and more of CPU importing the
    app before it reads its arguments. For commands whose subject is what they say and
    write, not the process (its signals, its logging, its files' permissions). Called
    from a test's event loop, the command (which runs a loop of its own) runs on another
    thread while the test waits, as it waited for the child process."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _invoke_exchange(args, cwd, env, input)
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_invoke_exchange, args, cwd, env, input).result()


def _invoke_exchange(
    args: tuple[str, ...], cwd: Path, env: Mapping[str, str] | None, input: str | None
) -> subprocess.CompletedProcess[str]:
    from click.testing import CliRunner

    from exchange.cli import main

    unset = {name: None for name in os.environ if name.startswith("EXCHANGE_")}
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), input=input, env={**unset, **(env or {})})
    finally:
        os.chdir(previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def served_folder(template: Path, data_dir: Path) -> Path:
    """A data folder for `exchange serve` holding a copy of the migrated SQLite template,
    so that the server starts without migrating and schools can be written beforehand."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, data_dir / "exchange.sqlite3")
    return data_dir


async def create_school(
    settings: Settings,
    name: str,
    email: str,
    password: str = PASSWORD,
    region: str = "Chui",
    admin_name: str | None = None,
) -> str:
    """A school and its admin written straight into the database a live server serves:
    no `exchange school create` in a child process, and the password is hashed with the
    tests' parameters, which the server then verifies with. Returns the school's id."""
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as session:
            school, _admin = await AccountService(session, settings, SystemClock()).create_school(
                name=name,
                admin_email=email,
                admin_password=password,
                admin_name=admin_name or f"Director of {name}",
                region=region,
            )
            return str(school.id)
    finally:
        await engine.dispose()


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """Kill without a chance to clean up, like a power cut."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self) -> None:
        """Stop as an orchestrator does (SIGTERM): requests under way are finished first."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=40)


@contextmanager
def live_server(
    cwd: Path, env: Mapping[str, str] | None = None, *, timeout: float = 120.0
) -> Iterator[LiveServer]:
    """`exchange serve` in a child process, until it answers `/health/live`: `timeout` is
    how long to wait for that, generous because a loaded machine starts it slowly."""
    port = free_port()
    log_path = cwd / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            exchange_command("serve", "--host", "127.0.0.1", "--port", str(port)),
            cwd=cwd,
            env=child_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(process=process, base_url=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{server.log()}")
            try:
                if httpx.get(f"{server.base_url}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
