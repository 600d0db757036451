"""What an everyday request costs the server, measured in the process: CPU time and
Python function calls per request, beside a bare Litestar app with one JSON route, in
the same run.

`bench/requests.py` measures rates under `wrk`, which on a machine busy with other work
move with the load. This one calls the apps straight through ASGI (no sockets, no HTTP
parsing, no server), one request after another, and counts:

- CPU time per request (`time.process_time`, the process's own CPU in every thread,
  so a search's worker threads count);
- Python function calls per request (`cProfile`'s count, in the event loop's thread),
  which does not depend on the machine's load at all: a change that takes work out of
  a request shows here exactly.

Run by hand from the repository root, after `bench/requests.py --keep` built the
corpus (or let it build one with `--resources`):

    PYTHONPATH=src:. .venv/bin/python bench/request_cost.py [--requests 300]
        [--workdir /tmp/exchange-bench-requests] [--resources 100000]
        [--routes me,resource,list,search] [--profile resource]

`--profile ROUTE` writes that route's profile (`cProfile`, sorted by cumulative time)
to standard error: where its time goes.

`--callgrind` counts instead the machine instructions per request of each route and of
the bare route, under valgrind's callgrind (Debian: `apt-get install valgrind`), which
depends neither on the machine's load nor on its speed: the process serves every route
in turn, and callgrind's counters are dumped between the routes (`callgrind_control`),
so that starting Python and the apps is left out. Slow (valgrind runs the process about
fifty times slower), so it makes fewer requests (`--requests 30` is plenty: the count
hardly varies from one request to the next):

    PYTHONPATH=src:. .venv/bin/python bench/request_cost.py --callgrind [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.requests import ROUTES, bare_app, bench_word, build
from bench.search import BENCH_EMAIL, PASSWORD, generate, rows_of
from exchange.app import create_app
from exchange.config import Settings

Headers = Sequence[tuple[bytes, bytes]]


async def call(
    app: Any, method: str, path: str, query: str = "", headers: Headers = (), body: bytes = b""
) -> tuple[int, bytes]:
    """One request through the app's ASGI interface; its status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError  # pragma: no cover

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


class Running:
    """An app started through its lifespan, stopped the same way."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.messages: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.started = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            self.started.set()
        elif message["type"] == "lifespan.startup.failed":
            raise SystemExit(message.get("message", "the app did not start"))

    async def __aenter__(self) -> Any:
        await self.messages.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.get_running_loop().create_task(
            self.app(scope, self.messages.get, self._send)
        )
        await self.started.wait()
        return self.app

    async def __aexit__(self, *_exc: object) -> None:
        await self.messages.put({"type": "lifespan.shutdown"})
        if self.task is not None:
            await self.task


async def measure(
    app: Any, path: str, query: str, headers: Headers, requests: int, profile: bool
) -> tuple[float, float, str]:
    """CPU microseconds and Python calls per request, and the profile if asked for."""
    for _ in range(max(20, requests // 10)):  # warm-up: compiled statements, caches
        status, body = await call(app, "GET", path, query, headers)
        if status != 200:
            raise SystemExit(f"GET {path}?{query} answered {status}: {body[:300]!r}")
    started = time.process_time()
    for _ in range(requests):
        await call(app, "GET", path, query, headers)
    cpu_us = (time.process_time() - started) / requests * 1e6
    counted = max(10, requests // 5)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(counted):
        await call(app, "GET", path, query, headers)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=(text := io.StringIO()))
    if profile:
        stats.sort_stats("cumulative").print_stats(60)
    return cpu_us, stats.total_calls / counted, text.getvalue()  # type: ignore[attr-defined]


async def run(args: argparse.Namespace, settings: Settings, rare_word: str) -> None:
    async with Running(bare_app()) as bare, Running(create_app(settings)) as exchange:
        await compare(args, bare, exchange, rare_word)


async def compare(args: argparse.Namespace, bare: Any, exchange: Any, rare_word: str) -> None:
    auth, targets = await targets_of(exchange, rare_word)
    print(
        f"{'route':<10} {'CPU us/req':>10} {'share':>6} {'calls/req':>10} {'share':>6}", flush=True
    )
    base_cpu, base_calls, _ = await measure(bare, "/api/me", "", [], args.requests, False)
    print(f"{'bare':<10} {base_cpu:>10.0f} {1:>6.2f} {base_calls:>10.0f} {1:>6.2f}", flush=True)
    for name in args.routes.split(","):
        path, query = targets[name]
        profiled = args.profile == name
        cpu, calls, profile = await measure(exchange, path, query, auth, args.requests, profiled)
        print(
            f"{name:<10} {cpu:>10.0f} {base_cpu / cpu:>6.3f} {calls:>10.0f} "
            f"{base_calls / calls:>6.3f}",
            flush=True,
        )
        if profiled:
            print(profile, file=sys.stderr)


async def targets_of(exchange: Any, rare_word: str) -> tuple[Headers, dict[str, tuple[str, str]]]:
    """Signs the bench school's director in: the bearer header and each route's target."""
    status, body = await call(
        exchange,
        "POST",
        "/api/auth/token",
        headers=[(b"content-type", b"application/json")],
        body=json.dumps({"email": BENCH_EMAIL, "password": PASSWORD}).encode(),
    )
    if status != 200:
        raise SystemExit(f"signing in answered {status}: {body[:300]!r}")
    auth = [(b"authorization", f"Bearer {json.loads(body)['access_token']}".encode())]
    school = json.loads((await call(exchange, "GET", "/api/me", headers=auth))[1])["school_id"]
    own = await call(exchange, "GET", "/api/resources", f"school_id={school}&limit=1", auth)
    resource_id = json.loads(own[1])["items"][0]["id"]
    return auth, {
        "me": ("/api/me", ""),
        "resource": (f"/api/resources/{resource_id}", ""),
        "list": ("/api/resources", "limit=20"),
        "search": ("/api/resources", f"q={quote(rare_word)}"),
    }


async def serve_phases(args: argparse.Namespace, settings: Settings, rare_word: str) -> None:
    """Under callgrind: each route's requests in turn, a pause before and after each for
    the counters to be dumped (the parent answers a line on standard input when done)."""

    def pause(line: str) -> None:
        print(line, flush=True)
        sys.stdin.readline()

    async with Running(bare_app()) as bare, Running(create_app(settings)) as exchange:
        auth, targets = await targets_of(exchange, rare_word)
        phases = [("bare", bare, "/api/me", "", [])] + [
            (name, exchange, *targets[name], auth) for name in args.routes.split(",")
        ]
        for _name, app, path, query, headers in phases:
            for _ in range(5):  # warm-up: compiled statements, caches
                await call(app, "GET", path, query, headers)
        for name, app, path, query, headers in phases:
            pause("start")
            for _ in range(args.requests):
                status, body = await call(app, "GET", path, query, headers)
                if status != 200:
                    raise SystemExit(f"GET {path}?{query} answered {status}: {body[:300]!r}")
            pause(f"done {name}")


def callgrind_main(args: argparse.Namespace) -> None:
    """Instructions per request of each route and of the bare route, in one process under
    callgrind, counters dumped between the routes."""
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is needed: apt-get install valgrind")
    requests = getattr(args, "requests", None) or getattr(args, "callgrind_requests", 30)
    routes = getattr(args, "routes", ",".join(ROUTES))
    built(args)  # outside valgrind: building the corpus there would take hours
    out = Path(tempfile.mkdtemp(prefix="exchange-callgrind-"))
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}/callgrind.out",
        "--dump-instr=no",
        sys.executable,
        "-m",
        "bench.request_cost",
        "--callgrind-child",
        "--requests",
        str(requests),
        "--routes",
        routes,
        "--workdir",
        args.workdir,
        "--resources",
        str(args.resources),
        "--seed",
        str(args.seed),
    ]
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    child = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None
    counts: dict[str, int] = {}
    dumps = 0
    for line in child.stdout:
        label = line.strip()
        if label != "start" and not label.startswith("done "):
            continue
        dumps += 1
        subprocess.run(
            ["callgrind_control", f"--dump={label.replace(' ', '-')}", str(child.pid)],
            check=True,
            capture_output=True,
        )
        if label.startswith("done "):
            counts[label.removeprefix("done ")] = _dumped_instructions(out, dumps)
        child.stdin.write("\n")
        child.stdin.flush()
    child.wait()
    if child.returncode != 0 or "bare" not in counts:
        raise SystemExit(f"the process under callgrind failed: {child.stderr.read()[-2000:]}")
    shutil.rmtree(out, ignore_errors=True)
    print(f"{'route':<10} {'instructions/req':>17} {'share of bare':>14}", flush=True)
    bare = counts["bare"] / requests
    for name, count in counts.items():
        per_request = count / requests
        print(f"{name:<10} {per_request:>17,.0f} {bare / per_request:>14.3f}", flush=True)


def _dumped_instructions(out: Path, number: int) -> int:
    """The instructions counted in callgrind's dump `number` (counted since the one
    before)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for dump in out.glob(f"callgrind.out.{number}"):
            text = dump.read_text(errors="replace")
            found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
            if found:
                return int(found.group(1))
        time.sleep(0.2)
    raise SystemExit(f"callgrind wrote no dump {number} in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=None, help="300; 30 with --callgrind")
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default="/tmp/exchange-bench-requests")
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument("--profile", default=None, choices=ROUTES)
    parser.add_argument("--callgrind", action="store_true", help="instructions per request")
    parser.add_argument("--callgrind-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.callgrind:
        args.requests = args.requests or 30
        callgrind_main(args)
        return
    args.requests = args.requests or 300
    settings, rare_word = built(args)
    asyncio.run((serve_phases if args.callgrind_child else run)(args, settings, rare_word))


def built(args: argparse.Namespace) -> tuple[Settings, str]:
    """The SQLite corpus in `--workdir` (built first if missing) and its rare word."""
    workdir = Path(args.workdir) / "sqlite"
    corpus = None if (workdir / "built").is_file() else generate(args.resources, args.seed)
    rare_word = bench_word(args, corpus)
    settings = Settings(
        data_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'exchange.sqlite3'}",
        log_level="WARNING",
        run_jobs=False,
        auto_migrate=False,
    )
    args.reuse = True
    if not (workdir / "built").is_file():
        build(args, "sqlite", settings, rows_of(corpus or generate(args.resources, args.seed)))
    return settings, rare_word


if __name__ == "__main__":
    main()
