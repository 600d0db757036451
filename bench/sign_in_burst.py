"""A burst of concurrent wrong passwords for one account, each from another address.

Run by hand:

    .venv/bin/python bench/sign_in_burst.py [--burst 60] [--rounds 3] \
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/exchange_bench]

It serves the app with uvicorn (`exchange serve`, production password hashing) in a
scratch folder, on the embedded SQLite file or on the PostgreSQL database named (which
it migrates; its sign-in counts are emptied before each round), creates one school, and
sends `--burst` wrong passwords for its admin at once, each with its own
`X-Forwarded-For`. It prints, for each round, how many were answered 401 (the password
was checked) and how many 429 (refused by the throttle) next to the per-account limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password"
EMAIL = "director@burst.kg"
EXCHANGE = [sys.executable, "-m", "exchange"]
SCHOOL_CREATE = ["school", "create", "--name", "Burst school", "--admin-email", EMAIL]
SCHOOL_CREATE += ["--admin-password", PASSWORD]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exchange(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exchange", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


async def burst(base: str, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        start = asyncio.Event()

        async def guess(number: int) -> int:
            await start.wait()
            response = await client.post(
                "/api/auth/token",
                json={"email": EMAIL, "password": "not the right password"},
                headers={"X-Forwarded-For": f"10.9.{number // 250}.{number % 250 + 1}"},
            )
            return response.status_code

        tasks = [asyncio.create_task(guess(n)) for n in range(count)]
        await asyncio.sleep(0.2)
        start.set()
        return await asyncio.gather(*tasks)


def forget_counts(database_url: str | None, data_dir: Path) -> None:
    """Empty the sign-in counts, whatever the schema calls their table."""
    script = (
        "import asyncio, sys\n"
        "from sqlalchemy import inspect, text\n"
        "from exchange.config import Settings\n"
        "from exchange.database import create_engine\n"
        "async def main():\n"
        "    engine = create_engine(Settings.from_env())\n"
        "    async with engine.begin() as c:\n"
        "        names = await c.run_sync(lambda s: inspect(s).get_table_names())\n"
        "        for name in names:\n"
        "            if name.startswith('sign_in_'):\n"
        "                await c.execute(text(f'DELETE FROM {name}'))\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    env = server_env(database_url, data_dir)
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


def server_env(database_url: str | None, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    env["EXCHANGE_DATA_DIR"] = str(data_dir)
    env["EXCHANGE_LOG_LEVEL"] = "WARNING"
    env["EXCHANGE_RUN_JOBS"] = "false"
    if database_url:
        env["EXCHANGE_DATABASE_URL"] = database_url
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="sign-in-burst-"))
    data_dir = scratch / "storage"
    env = server_env(args.database_url, data_dir)
    try:
        exchange("db", "upgrade", cwd=scratch, env=env)
        created = subprocess.run(
            [*EXCHANGE, *SCHOOL_CREATE],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
        )
        if created.returncode != 0 and "already has an account" not in created.stderr:
            raise SystemExit(created.stderr)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*EXCHANGE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=scratch,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.1)
            rounds = []
            for _ in range(args.rounds):
                forget_counts(args.database_url, data_dir)
                statuses = asyncio.run(burst(base, args.burst))
                rounds.append(
                    {
                        "401": statuses.count(401),
                        "429": statuses.count(429),
                        "other": len(statuses) - statuses.count(401) - statuses.count(429),
                    }
                )
        finally:
            server.terminate()
            server.wait(timeout=15)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    database = "postgresql" if args.database_url else "sqlite"
    print(
        json.dumps(
            {
                "database": database,
                "burst": args.burst,
                "limit_per_account": 5,
                "rounds": rounds,
                "most_401": max(r["401"] for r in rounds),
            }
        )
    )


if __name__ == "__main__":
    main()
