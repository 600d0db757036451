"""Everyday requests against the framework's own pace: the exchange beside a bare
Litestar app with one JSON route, on the same uvicorn, in the same run.

Needs `wrk` (Debian: `apt-get install wrk`). Run by hand from the repository root:

    PYTHONPATH=src:. .venv/bin/python bench/requests.py [--resources 100000]
        [--seconds 8] [--connections 16] [--workers 1,2]
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/exchange_bench_requests]
        [--workdir /tmp/exchange-bench-requests] [--keep] [--reuse]

It builds the corpus of `bench/search.py` (its generator and bulk load; `--resources`
smaller than 100,000 for a quick run) on SQLite, and on PostgreSQL when `--postgres-url`
is given (that database is dropped and created). Then, for each number of workers, it
starts the bare app (`uvicorn --workers N`) and `exchange serve --workers N`, signs the
well-connected bench school's director in once, and runs `wrk -t1 -c16` with that bearer
token on:

- `GET /api/me`;
- `GET /api/resources/{id}` (a resource of the caller's own school);
- `GET /api/resources?limit=20` (the first page of everything the caller may read);
- `GET /api/resources?q=<rare word>` (a word found in at most 30 resources).

It prints requests/s, the share of the bare app's requests/s measured in the same run,
and p50/p99 latency. wrk's figures are wall-clock: on a machine busy with other work,
both the bare app and the exchange lose, and the shares hold better than the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from litestar import Litestar, get
from sqlalchemy.engine import make_url
from tests.settings import settings_env

from bench.search import (
    BENCH_EMAIL,
    PASSWORD,
    ROOT,
    admin,
    choose_queries,
    free_port,
    generate,
    load_postgres,
    load_sqlite,
    rows_of,
)
from exchange.config import Settings

ROUTES = ("me", "resource", "list", "search")


@get("/api/me", sync_to_thread=False)
def _bare_route() -> dict[str, Any]:
    return {"id": "0190f7a4-8a00-7000-8000-000000000000", "email": "bench@x.kg", "ok": True}


def bare_app() -> Litestar:
    """The framework alone: one JSON route, no middleware, no database."""
    return Litestar(route_handlers=[_bare_route])


def wait_ready(base: str, path: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server behind {base} exited early")
        try:
            if httpx.get(f"{base}{path}", timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server behind {base} did not start")


_SCALE = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk(url: str, seconds: int, connections: int, token: str | None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result = {"rps": float(rate.group(1)) if rate else 0.0, "errors": 0.0}
    if errors:
        result["errors"] = float(errors.group(1))
    for name, label in (("p50", "50%"), ("p99", "99%")):
        found = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\b", output)
        result[name] = float(found.group(1)) * _SCALE[found.group(2)] if found else float("nan")
    return result


def start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure_bare(workers: int, args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.requests:bare_app",
        "--factory",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = start(command, env, ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, "/api/me", process)
        wrk(f"{base}/api/me", 2, args.connections, None)  # warm-up
        return wrk(f"{base}/api/me", args.seconds, args.connections, None)
    finally:
        stop(process)


def measure_exchange(
    workers: int, args: argparse.Namespace, env: dict[str, str], rare_word: str, cwd: Path
) -> dict[str, dict[str, float]]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "exchange",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = start(command, env, cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, "/health/live", process)
        with httpx.Client(base_url=base, timeout=60) as client:
            signed_in = client.post(
                "/api/auth/token", json={"email": BENCH_EMAIL, "password": PASSWORD}
            )
            signed_in.raise_for_status()
            token = signed_in.json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            own_school = client.get("/api/me").json()["school_id"]
            own = client.get("/api/resources", params={"school_id": own_school, "limit": 1})
            own.raise_for_status()
            resource_id = own.json()["items"][0]["id"]
        urls = {
            "me": f"{base}/api/me",
            "resource": f"{base}/api/resources/{resource_id}",
            "list": f"{base}/api/resources?limit=20",
            "search": f"{base}/api/resources?q={quote(rare_word)}",
        }
        results: dict[str, dict[str, float]] = {}
        for name in ROUTES:
            wrk(urls[name], 2, args.connections, token)  # warm-up
            results[name] = wrk(urls[name], args.seconds, args.connections, token)
        return results
    finally:
        stop(process)


def build(args: argparse.Namespace, backend: str, settings: Settings, rows: Any) -> None:
    workdir = Path(settings.data_dir)
    if args.reuse and (workdir / "built").is_file():
        return
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    started = time.perf_counter()
    if backend == "sqlite":
        load_sqlite(settings, rows)
    else:
        database = make_url(settings.database_url).database
        asyncio.run(
            admin(settings.database_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        )
        asyncio.run(admin(settings.database_url, f'CREATE DATABASE "{database}"'))
        asyncio.run(load_postgres(settings.database_url, settings, rows))
    (workdir / "built").write_text("yes")
    print(f"{backend}: loaded the resources in {time.perf_counter() - started:.0f} s", flush=True)


def bench_word(args: argparse.Namespace, corpus: Any | None) -> str:
    """The rare word searched for: chosen from the corpus, and kept beside the built
    databases so that `--reuse` needs no corpus (generating one takes minutes)."""
    kept = Path(args.workdir) / f"rare-word-{args.resources}-{args.seed}"
    if corpus is None and kept.is_file():
        return kept.read_text(encoding="utf-8")
    corpus = corpus or generate(args.resources, args.seed)
    word: str = choose_queries(corpus, 5, args.seed).classes["rare"][0]
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(word, encoding="utf-8")
    return word


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", default="1,2", help="numbers of workers, comma-separated")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default="/tmp/exchange-bench-requests")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    backends = [("sqlite", None)] + (
        [("postgresql", args.postgres_url)] if args.postgres_url else []
    )
    built = all((Path(args.workdir) / name / "built").is_file() for name, _ in backends)
    corpus = None if args.reuse and built else generate(args.resources, args.seed)
    rare_word = bench_word(args, corpus)
    rows = None
    root_env = {
        **os.environ,
        "EXCHANGE_RUN_JOBS": "false",
        "EXCHANGE_AUTO_MIGRATE": "false",
        "EXCHANGE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    workers_list = [int(n) for n in args.workers.split(",")]
    print(
        f"{'backend':<10} {'workers':>7} {'route':<10} {'req/s':>8} {'share':>6} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}",
        flush=True,
    )
    for backend, url in backends:
        workdir = Path(args.workdir) / backend
        database_url = url or f"sqlite+aiosqlite:///{workdir / 'exchange.sqlite3'}"
        settings = Settings(data_dir=workdir, database_url=database_url, log_level="WARNING")
        if not (args.reuse and (workdir / "built").is_file()) and rows is None:
            rows = rows_of(corpus or generate(args.resources, args.seed))
        build(args, backend, settings, rows)
        env = {**root_env, **settings_env(settings)}
        for workers in workers_list:
            bare = measure_bare(workers, args, env)
            print(
                f"{backend:<10} {workers:>7} {'bare':<10} {bare['rps']:>8.0f} {1:>6.2f} "
                f"{bare['p50']:>8.1f} {bare['p99']:>8.1f} {bare['errors']:>8.0f}",
                flush=True,
            )
            exchange = measure_exchange(workers, args, env, rare_word, workdir)
            for name, figures in exchange.items():
                print(
                    f"{backend:<10} {workers:>7} {name:<10} {figures['rps']:>8.0f} "
                    f"{figures['rps'] / bare['rps']:>6.2f} {figures['p50']:>8.1f} "
                    f"{figures['p99']:>8.1f} {figures['errors']:>8.0f}",
                    flush=True,
                )
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
