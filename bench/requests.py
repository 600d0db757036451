"""Everyday requests against the framework's own pace: the exchange beside a bare
Litestar app with one JSON route, on the same uvicorn, in the same run.

Needs `wrk` (Debian: `apt-get install wrk`; `valgrind` for `--callgrind`). The whole
measurement is one command, run from the repository root on a quiet machine:

    PYTHONPATH=src:. .venv/bin/python bench/requests.py [--resources 100000]
        [--seconds 8] [--connections 16] [--workers 1,2]
        [--mixed-seconds 45] [--mixed-clients 30] [--memory-minutes 0] [--no-routes]
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
p50/p99 latency, and for two workers or more the gain over one worker. Then, on one
worker, the mixed load: `--mixed-clients` connections for `--mixed-seconds` doing reads
of one's account and of resources, lists, searches, downloads and uploads (one request
in twenty an upload of a small file), with its errors (non-2xx answers and socket
errors) and p50/p99, overall and for each kind of request (each request's kind and
start go out in its `X-Request-ID`, which the exchange sends back). With
`--memory-minutes N` it then runs the mixed load for N minutes on a fresh server,
samples the server's resident memory every 10 s, and prints its growth after the first
minute. `--no-routes` leaves out the routes one by one.

wrk's figures are wall-clock: on a machine busy with other work, both the bare app and
the exchange lose, and the shares hold better than the rates. For a figure that does not
depend on the machine's load, `--callgrind` counts the instructions per request of each
route and of the bare route under valgrind (see `bench/request_cost.py --callgrind`),
without wrk or servers.
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
    return wrk_figures(output)


def wrk_figures(output: str) -> dict[str, float]:
    """Requests/s, p50/p99 in ms and non-2xx answers from wrk's report."""
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
        "--timeout-worker-healthcheck",
        "60",
    ]
    process = start(command, env, ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, "/api/me", process)
        wrk(f"{base}/api/me", 2, args.connections, None)  # warm-up
        return wrk(f"{base}/api/me", args.seconds, args.connections, None)
    finally:
        stop(process)


class Exchange:
    """`exchange serve --workers N` on the built database, with the bench school's
    director signed in."""

    def __init__(self, workers: int, env: dict[str, str], cwd: Path, rare_word: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "exchange", "serve", "--port", str(self.port)]
        self.process = start([*command, "--workers", str(workers)], env, cwd)
        self.cwd = cwd
        self.rare_word = rare_word
        self.token = ""
        self.urls: dict[str, str] = {}

    def __enter__(self) -> Exchange:
        try:
            wait_ready(self.base, "/health/live", self.process)
            with httpx.Client(base_url=self.base, timeout=60) as client:
                signed_in = client.post(
                    "/api/auth/token", json={"email": BENCH_EMAIL, "password": PASSWORD}
                )
                signed_in.raise_for_status()
                self.token = signed_in.json()["access_token"]
                client.headers["Authorization"] = f"Bearer {self.token}"
                own_school = client.get("/api/me").json()["school_id"]
                own = client.get("/api/resources", params={"school_id": own_school, "limit": 1})
                own.raise_for_status()
                resource_id = own.json()["items"][0]["id"]
        except BaseException:
            stop(self.process)
            raise
        base = self.base
        self.urls = {
            "me": f"{base}/api/me",
            "resource": f"{base}/api/resources/{resource_id}",
            "list": f"{base}/api/resources?limit=20",
            "search": f"{base}/api/resources?q={quote(self.rare_word)}",
        }
        return self

    def __exit__(self, *_exc: object) -> None:
        stop(self.process)

    def routes(self, args: argparse.Namespace) -> dict[str, dict[str, float]]:
        results: dict[str, dict[str, float]] = {}
        for name in ROUTES:
            wrk(self.urls[name], 2, args.connections, self.token)  # warm-up
            results[name] = wrk(self.urls[name], args.seconds, args.connections, self.token)
        return results

    def mixed_script(self) -> Path:
        with httpx.Client(
            base_url=self.base, timeout=60, headers={"Authorization": f"Bearer {self.token}"}
        ) as client:
            downloads = upload_downloadable(client, DOWNLOADABLE)
        return mixed_script(self.cwd, self.token, self.urls, self.base, downloads)


# The mixed load: what each request of a client is, in percent (uploads of a small file).
MIXED_SHARES = (("me", 20), ("resource", 30), ("list", 10), ("search", 15), ("download", 20))
UPLOAD_SHARE = 5
MIXED_KINDS = (*(name for name, _share in MIXED_SHARES), "upload")
UPLOAD_BYTES = 16 * 1024
DOWNLOADABLE = 20
BOUNDARY = "exchange-bench-boundary-7MA4YWxkTrZu0gW"

_MIXED_LUA = """
-- The mixed load of bench/requests.py: reads, lists, searches, downloads and uploads.
local token = "Bearer %(token)s"
local paths = { %(paths)s }
local weights = { %(weights)s }
local downloads = { %(downloads)s }
local upload_share = %(upload_share)d
local boundary = "%(boundary)s"
local file = string.rep("A lesson plan in three parts for grade five.\\n", %(repeat)d)
local upload_body = "--" .. boundary .. "\\r\\n"
  .. "Content-Disposition: form-data; name=\\"title\\"\\r\\n\\r\\nMixed load plan\\r\\n"
  .. "--" .. boundary .. "\\r\\n"
  .. "Content-Disposition: form-data; name=\\"kind\\"\\r\\n\\r\\nlesson_plan\\r\\n"
  .. "--" .. boundary .. "\\r\\n"
  .. "Content-Disposition: form-data; name=\\"file\\"; filename=\\"plan.txt\\"\\r\\n"
  .. "Content-Type: text/plain\\r\\n\\r\\n" .. file .. "\\r\\n"
  .. "--" .. boundary .. "--\\r\\n"
local get_headers = { ["Authorization"] = token }
local post_headers = {
  ["Authorization"] = token,
  ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
}
-- Each request carries its kind and the moment it was made in its X-Request-ID, which
-- the exchange sends back: the answer tells how long that kind of request took.
local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local now = ffi.new("bench_timespec")
local function micros()
  ffi.C.clock_gettime(1, now)  -- CLOCK_MONOTONIC
  return tonumber(now.tv_sec) * 1000000 + math.floor(tonumber(now.tv_nsec) / 1000)
end
local kinds = { %(kinds)s }
local threads = {}
statuses = {}
-- One flat list per kind (wrk copies flat tables between threads, not nested ones).
%(latency_lists)s

function setup(thread)
  table.insert(threads, thread)
  thread:set("seed", #threads)
end

function init(args)
  math.randomseed(os.time() * 100 + seed)
end

local function tagged(headers, kind)
  headers["X-Request-ID"] = string.format("bench.%%s.%%d", kind, micros())
  return headers
end

function request()
  local roll = math.random(100)
  if roll <= upload_share then
    return wrk.format("POST", "/api/resources", tagged(post_headers, "upload"), upload_body)
  end
  roll = roll - upload_share
  for i, weight in ipairs(weights) do
    if roll <= weight then
      if paths[i] == "download" then
        local path = downloads[math.random(#downloads)]
        return wrk.format("GET", path, tagged(get_headers, "download"))
      end
      return wrk.format("GET", paths[i], tagged(get_headers, kinds[i]))
    end
    roll = roll - weight
  end
  return wrk.format("GET", paths[1], tagged(get_headers, kinds[1]))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local id = headers["x-request-id"] or headers["X-Request-ID"] or ""
  local kind, made = string.match(id, "^bench%%.([a-z]+)%%.(%%d+)$")
  local taken = kind and _G["latency_" .. kind]
  if taken then
    taken[#taken + 1] = (micros() - tonumber(made)) / 1000
  end
end

function done(summary, latency, requests)
  local total = {}
  local taken = {}
  for _, kind in ipairs(kinds) do
    taken[kind] = {}
  end
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    for status, n in pairs(counted) do
      total[status] = (total[status] or 0) + n
    end
    for _, kind in ipairs(kinds) do
      for _, ms in ipairs(thread:get("latency_" .. kind)) do
        table.insert(taken[kind], ms)
      end
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %%d %%d\\n", status, n))
  end
  local every = {}
  for _, kind in ipairs(kinds) do
    for _, ms in ipairs(taken[kind]) do
      table.insert(every, ms)
    end
  end
  taken["all"] = every
  table.insert(kinds, "all")
  for _, kind in ipairs(kinds) do
    local values = taken[kind]
    table.sort(values)
    local n = #values
    if n > 0 then
      local function at(share)
        return values[math.max(1, math.ceil(share * n))]
      end
      io.write(string.format(
        "kind %%s %%d %%.1f %%.1f %%.1f\\n", kind, n, at(0.5), at(0.99), values[n]
      ))
    end
  end
end
"""


def mixed_script(
    workdir: Path, token: str, urls: dict[str, str], base: str, downloads: list[str]
) -> Path:
    """The wrk script of the mixed load, written beside the databases."""
    scale = (100 - UPLOAD_SHARE) / sum(weight for _name, weight in MIXED_SHARES)
    weights = [round(weight * scale) for _name, weight in MIXED_SHARES]
    weights[0] += 100 - UPLOAD_SHARE - sum(weights)
    paths = [
        "download" if name == "download" else urls[name].removeprefix(base)
        for name, _weight in MIXED_SHARES
    ]
    script = workdir / "mixed.lua"
    script.write_text(
        _MIXED_LUA
        % {
            "token": token,
            "paths": ", ".join(f'"{path}"' for path in paths),
            "weights": ", ".join(str(weight) for weight in weights),
            "downloads": ", ".join(f'"{path}"' for path in downloads),
            "upload_share": UPLOAD_SHARE,
            "boundary": BOUNDARY,
            "repeat": UPLOAD_BYTES // 46,
            "kinds": ", ".join(f'"{kind}"' for kind in MIXED_KINDS),
            "latency_lists": "\n".join(f"latency_{kind} = {{}}" for kind in MIXED_KINDS),
        },
        encoding="utf-8",
    )
    return script


def wrk_mixed(base: str, script: Path, seconds: int, clients: int) -> dict[str, Any]:
    """The mixed load under wrk: its rate, p50/p99, and the answers by status."""
    command = [
        "wrk",
        "-t2",
        f"-c{clients}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        base,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return mixed_figures(output)


def mixed_figures(output: str) -> dict[str, Any]:
    """`wrk_figures`, with the answers by status and the socket errors."""
    result: dict[str, Any] = wrk_figures(output)
    statuses = {
        int(status): int(n) for status, n in re.findall(r"^status (\d+) (\d+)$", output, re.M)
    }
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    result["statuses"] = statuses
    result["kinds"] = {
        kind: {"count": int(n), "p50": float(p50), "p99": float(p99), "max": float(top)}
        for kind, n, p50, p99, top in re.findall(
            r"^kind (\w+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)$", output, re.M
        )
    }
    result["socket_errors"] = sum(int(n) for n in sockets.groups()) if sockets else 0
    result["errors"] = (
        sum(n for status, n in statuses.items() if status >= 400) + result["socket_errors"]
    )
    return result


def upload_downloadable(client: httpx.Client, count: int) -> list[str]:
    """Files of the bench school to download in the mixed load (the corpus has none)."""
    paths: list[str] = []
    for number in range(count):
        body = f"Download {number}: a worksheet for grade five.\n".encode() * (UPLOAD_BYTES // 48)
        answer = client.post(
            "/api/resources",
            data={"title": f"Worksheet {number}", "kind": "lesson_plan"},
            files={"file": (f"worksheet-{number}.txt", body, "text/plain")},
        )
        answer.raise_for_status()
        paths.append(f"/api/resources/{answer.json()['id']}/content")
    return paths


def server_memory(pid: int) -> int:
    """Resident memory of a process and its children (a server's workers), in bytes."""
    family = {pid}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            family.add(int(status.parent.name))
    resident = 0
    for member in family:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    resident += int(line.split()[1]) * 1024
        except OSError:
            continue
    return resident


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


def print_row(
    backend: str,
    workers: int,
    name: str,
    figures: dict[str, float],
    bare: float,
    one: float | None = None,
) -> None:
    gain = f"{figures['rps'] / one:>8.2f}" if one else f"{'':>8}"
    print(
        f"{backend:<10} {workers:>7} {name:<10} {figures['rps']:>8.0f} "
        f"{figures['rps'] / bare:>6.2f} {figures['p50']:>8.1f} {figures['p99']:>8.1f} "
        f"{figures['errors']:>8.0f} {gain}",
        flush=True,
    )


def run_routes(
    backend: str, args: argparse.Namespace, env: dict[str, str], rare_word: str, workdir: Path
) -> None:
    one_worker: dict[str, float] = {}
    for workers in [int(n) for n in args.workers.split(",")]:
        bare = measure_bare(workers, args, env)
        print_row(backend, workers, "bare", bare, bare["rps"], one_worker.get("bare"))
        with Exchange(workers, env, workdir, rare_word) as exchange:
            results = {"bare": bare, **exchange.routes(args)}
        for name, figures in results.items():
            if name != "bare":
                print_row(backend, workers, name, figures, bare["rps"], one_worker.get(name))
        if workers == 1:
            one_worker = {name: figures["rps"] for name, figures in results.items()}


def run_mixed(
    backend: str, args: argparse.Namespace, env: dict[str, str], rare_word: str, workdir: Path
) -> None:
    with Exchange(1, env, workdir, rare_word) as exchange:
        script = exchange.mixed_script()
        wrk_mixed(exchange.base, script, 5, args.mixed_clients)  # warm-up
        mixed = wrk_mixed(exchange.base, script, args.mixed_seconds, args.mixed_clients)
    print(
        f"{backend}: mixed load, 1 worker, {args.mixed_clients} clients, "
        f"{args.mixed_seconds} s: {mixed['rps']:.0f} requests/s, p50 {mixed['p50']:.1f} ms, "
        f"p99 {mixed['p99']:.1f} ms, errors {mixed['errors']} "
        f"(socket errors {mixed['socket_errors']}; answers {answers(mixed)})",
        flush=True,
    )
    print_kinds(backend, mixed)


def print_kinds(backend: str, figures: dict[str, Any]) -> None:
    """Each kind of request of the mixed load, then all of them: how many, p50/p99 and the
    slowest, in ms, as each request took. (wrk's own p50/p99 above add, for each slow
    answer, the requests its connection would have made meanwhile: its correction for
    coordinated omission. So they are higher than those of the requests themselves.)"""
    for kind, taken in figures["kinds"].items():
        print(
            f"{backend}:   {kind:<9} {taken['count']:>7} requests  p50 {taken['p50']:>8.1f} ms  "
            f"p99 {taken['p99']:>8.1f} ms  max {taken['max']:>8.1f} ms",
            flush=True,
        )


def answers(figures: dict[str, Any]) -> str:
    return ", ".join(f"{status}: {n}" for status, n in sorted(figures["statuses"].items()))


def run_memory(
    backend: str, args: argparse.Namespace, env: dict[str, str], rare_word: str, workdir: Path
) -> None:
    """The mixed load for `--memory-minutes` on a fresh server, its memory every 10 s."""
    seconds = args.memory_minutes * 60
    with Exchange(1, env, workdir, rare_word) as exchange:
        script = exchange.mixed_script()
        command = [
            "wrk",
            "-t2",
            f"-c{args.mixed_clients}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            exchange.base,
        ]
        load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        started = time.monotonic()
        samples: list[tuple[float, int]] = []
        while load.poll() is None:
            samples.append((time.monotonic() - started, server_memory(exchange.process.pid)))
            print(
                f"{backend}: {samples[-1][0]:>5.0f} s  RSS {samples[-1][1] / 2**20:>7.1f} MiB",
                flush=True,
            )
            time.sleep(10)
        output = load.communicate()[0]
    figures = mixed_figures(output)
    after_first = [rss for at, rss in samples if at >= 60]
    if not after_first:
        print(f"{backend}: the run was shorter than a minute: no growth to tell", flush=True)
        return
    growth = (after_first[-1] - after_first[0]) / 2**20
    print(
        f"{backend}: memory over {args.memory_minutes} min of the mixed load: "
        f"{after_first[0] / 2**20:.1f} MiB at 1 min, {after_first[-1] / 2**20:.1f} MiB at the end, "
        f"growth after the first minute {growth:+.1f} MiB "
        f"(highest {max(after_first) / 2**20:.1f} MiB); {figures['rps']:.0f} requests/s, "
        f"p99 {figures['p99']:.1f} ms, errors {figures['errors']} (socket errors "
        f"{figures['socket_errors']}; answers {answers(figures)})",
        flush=True,
    )
    print_kinds(backend, figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", default="1,2", help="numbers of workers, comma-separated")
    parser.add_argument("--mixed-seconds", type=int, default=45, help="0: no mixed load")
    parser.add_argument("--mixed-clients", type=int, default=30)
    parser.add_argument(
        "--no-routes",
        action="store_true",
        help="only the mixed load (and memory), no wrk per route",
    )
    parser.add_argument("--memory-minutes", type=int, default=0)
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="instructions per request under valgrind instead of wrk",
    )
    parser.add_argument("--callgrind-requests", type=int, default=30)
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default="/tmp/exchange-bench-requests")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if args.callgrind:
        from bench.request_cost import callgrind_main

        callgrind_main(args)
        return
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
    print(
        f"{'backend':<10} {'workers':>7} {'route':<10} {'req/s':>8} {'share':>6} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'x 1 wkr':>8}",
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
        if not args.no_routes:
            run_routes(backend, args, env, rare_word, workdir)
        if args.mixed_seconds > 0:
            run_mixed(backend, args, env, rare_word, workdir)
        if args.memory_minutes > 0:
            run_memory(backend, args, env, rare_word, workdir)
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
