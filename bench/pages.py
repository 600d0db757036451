"""The pages at scale: each page's server time against the API calls that give the same
data, and the bytes of a first and of a later visit, at 100,000 resources.

Run by hand from the repository root:

    PYTHONPATH=src:. .venv/bin/python bench/pages.py [--resources 100000] [--rounds 20]
        [--workdir /tmp/exchange-bench-pages] [--keep] [--reuse] [--cost-requests 100]
        [--pages search,resource,requests,home] [--no-wall] [--profile PAGE]

It builds the corpus of `bench/search.py` (the same generator and bulk load, on SQLite,
the embedded default), starts the real app with uvicorn in a child process, signs the
well-connected bench school's director in once and sends the same sign-in as a bearer
token to the API and as the session cookie to the pages (a page session is that same
kind of sign-in; the pages also get the form-token cookie a browser holds after its
first page). Then, in the same run, alternating page and API request by request, each
page against the API calls a client makes to show what it shows (summed, when a page
shows more than one call answers):

- `/search?q=` against `GET /api/resources?q=` (rare words, two words, prefixes);
- `/resources/{id}` (a partner's resource) against `GET /api/resources/{id}` plus its
  versions and grants (`.../versions`, `.../grants`), which the page lists too;
- `/requests` against its three lists: `GET /api/reuse-requests?direction=incoming` with
  `status=pending` (every one that waits), the incoming ones, and the outgoing ones;
- `/` against `GET /api/dashboard` plus what the home page lists beside it: the requests
  that wait, the answers to ours, the unread notices and the active partnerships.

The CPU table also gives the page against the first of its calls alone (`vs 1st`).

Times are the client's wall clock per request over keep-alive HTTP on this machine (the
server's time plus a loopback round trip), p50 and p99 in ms, and the page's p99 as a
multiple of its API call's. Bytes are as sent with `Accept-Encoding: gzip`: a first
visit is the page and every stylesheet and script it names, a later visit the page
alone (the files are cached for a year under hashed names).

Wall-clock times move with whatever else the machine runs. So the same pairs are then
measured in this process, through the app's ASGI interface (`bench/request_cost.py`'s
way): CPU time per request (`time.process_time`, every thread of the process) and
Python function calls per request (`cProfile`'s count), each page against its API
call. The calls do not depend on the machine's load at all, and the CPU time much less
than the wall clock: they judge the 1.5x target on a busy machine. `--profile NAME`
writes that page's profile (sorted by cumulative time) to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from tests.settings import settings_env

from bench.request_cost import Headers, Running, measure
from bench.search import (
    BENCH_EMAIL,
    PASSWORD,
    ROOT,
    Queries,
    choose_queries,
    free_port,
    generate,
    load_sqlite,
    rows_of,
    serve,
    summary,
)
from exchange.app import create_app
from exchange.config import Settings
from exchange.kernel.paging import MAX_LIMIT
from exchange.web.routes import CSRF_COOKIE
from exchange.web.sessions import SESSION_COOKIE


def timed(client: httpx.Client, url: str, **kwargs: Any) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(url, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response


def compare(
    page: httpx.Client,
    api: httpx.Client,
    pairs: list[Pair],
    rounds: int,
) -> tuple[list[float], list[float]]:
    """Each page's times, and its API calls' summed times, request by request."""
    for page_url, api_urls in pairs:  # warm-up
        timed(page, page_url)
        for api_url in api_urls:
            timed(api, api_url)
    page_times: list[float] = []
    api_times: list[float] = []
    for _ in range(rounds):
        for page_url, api_urls in pairs:
            page_times.append(timed(page, page_url)[0])
            api_times.append(sum(timed(api, api_url)[0] for api_url in api_urls))
    return page_times, api_times


def visit_bytes(page: httpx.Client, url: str) -> tuple[int, int]:
    """(first visit, later visit) in bytes on the wire, gzip accepted."""
    response = page.get(url)
    response.raise_for_status()
    later = response.num_bytes_downloaded
    first = later
    for asset in set(re.findall(r'(?:href|src)="(/static/[^"]+)"', response.text)):
        first += page.get(asset).num_bytes_downloaded
    return first, later


# A page and the API calls that answer what it shows, the first the main one.
Pair = tuple[str, tuple[str, ...]]
Scenarios = dict[str, list[Pair]]
PAGES = ("search", "resource", "requests", "home")


async def costs(
    settings: Settings,
    token: str,
    csrf: str | None,
    scenarios: Scenarios,
    requests: int,
    profile: str | None,
) -> None:
    """CPU time and Python calls per request, page against its API calls (summed), in
    this process; and the page against the first of them alone."""
    api: Headers = [(b"authorization", f"Bearer {token}".encode())]
    cookie = f"{SESSION_COOKIE}={token}" + (f"; {CSRF_COOKIE}={csrf}" if csrf else "")
    page: Headers = [(b"cookie", cookie.encode())]
    print(
        f"\n{'page':<10} {'page CPU us':>11} {'api CPU us':>11} {'CPU ratio':>9}"
        f" {'page calls':>10} {'api calls':>10} {'calls ratio':>11} {'vs 1st CPU':>10}"
        f" {'vs 1st calls':>12}",
        flush=True,
    )
    async with Running(create_app(settings)) as app:
        for name, pairs in scenarios.items():
            cpu = {"page": 0.0, "api": 0.0, "first": 0.0}
            calls = {"page": 0.0, "api": 0.0, "first": 0.0}
            for page_url, api_urls in pairs:
                sides = [("page", page_url, page)] + [("api", url, api) for url in api_urls]
                for index, (side, url, headers) in enumerate(sides):
                    parts = urlsplit(url)
                    profiled = profile == name and side == "page"
                    # A search pair per query: fewer requests each, as for the wall clock.
                    count = max(10, requests // 5) if len(pairs) > 1 else requests
                    spent, called, text = await measure(
                        app, parts.path, parts.query, headers, count, profiled
                    )
                    cpu[side] += spent / len(pairs)
                    calls[side] += called / len(pairs)
                    if index == 1:
                        cpu["first"] += spent / len(pairs)
                        calls["first"] += called / len(pairs)
                    if profiled:
                        print(f"--- {name}: {url}\n{text}", file=sys.stderr)
            print(
                f"{name:<10} {cpu['page']:>11.0f} {cpu['api']:>11.0f}"
                f" {cpu['page'] / cpu['api']:>9.2f} {calls['page']:>10.0f}"
                f" {calls['api']:>10.0f} {calls['page'] / calls['api']:>11.2f}"
                f" {cpu['page'] / cpu['first']:>10.2f} {calls['page'] / calls['first']:>12.2f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--queries", type=int, default=5, help="queries per class")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default="/tmp/exchange-bench-pages")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--cost-requests", type=int, default=100, help="requests per URL for CPU and calls"
    )
    parser.add_argument("--pages", default=",".join(PAGES), help="of " + ",".join(PAGES))
    parser.add_argument(
        "--no-wall", dest="wall", action="store_false", help="only CPU time and calls"
    )
    parser.add_argument("--profile", default=None, choices=PAGES)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    settings = Settings(
        data_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'exchange.sqlite3'}",
        log_level="WARNING",
    )
    # The queries are kept beside the built database: `--reuse` needs no corpus
    # (generating one takes minutes).
    kept = workdir / f"queries-{args.resources}-{args.seed}-{args.queries}.json"
    if args.reuse and (workdir / "built").is_file() and kept.is_file():
        queries = Queries(json.loads(kept.read_text(encoding="utf-8")))
    else:
        corpus = generate(args.resources, args.seed)
        queries = choose_queries(corpus, args.queries, args.seed)
        if not (args.reuse and (workdir / "built").is_file()):
            shutil.rmtree(workdir, ignore_errors=True)
            workdir.mkdir(parents=True)
            started = time.perf_counter()
            load_sqlite(settings, rows_of(corpus))
            (workdir / "built").write_text("yes")
            print(f"loaded {len(corpus.docs)} resources in {time.perf_counter() - started:.0f} s")
        kept.write_text(json.dumps(queries.classes), encoding="utf-8")
    env = {
        **os.environ,
        **settings_env(settings),
        "EXCHANGE_RUN_JOBS": "false",
        "EXCHANGE_AUTO_MIGRATE": "false",
        "EXCHANGE_LOG_LEVEL": "WARNING",
        "EXCHANGE_COOKIE_SECURE": "false",
        "PYTHONPATH": str(ROOT / "src"),
    }
    port = free_port()
    process = serve(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        gzip = {"Accept-Encoding": "gzip"}
        with (
            httpx.Client(base_url=base, timeout=60, headers=gzip) as api,
            httpx.Client(base_url=base, timeout=60, headers=gzip) as page,
        ):
            token = api.post(
                "/api/auth/token", json={"email": BENCH_EMAIL, "password": PASSWORD}
            ).json()["access_token"]
            api.headers["Authorization"] = f"Bearer {token}"
            page.cookies.set(SESSION_COOKIE, token)
            # The form-token cookie a browser holds from its first page on.
            page.get("/").raise_for_status()
            csrf = page.cookies.get(CSRF_COOKIE)
            words = [q for qs in queries.classes.values() for q in qs if qs]
            found = api.get("/api/resources", params={"q": words[0]}).json()["items"]
            resource_id = found[0]["id"]
            resource = f"/api/resources/{resource_id}"
            requests = "/api/reuse-requests?direction="
            waiting = f"{requests}incoming&status=pending&limit={MAX_LIMIT}"
            scenarios: Scenarios = {
                "search": [
                    (f"/search?q={q}", (f"/api/resources?q={q}",))
                    for name, qs in queries.classes.items()
                    if name != "common"
                    for q in qs
                ],
                "resource": [
                    (
                        f"/resources/{resource_id}",
                        (
                            resource,
                            f"{resource}/versions?limit={MAX_LIMIT}",
                            f"{resource}/grants?limit={MAX_LIMIT}",
                        ),
                    )
                ],
                "requests": [
                    ("/requests", (f"{requests}incoming", waiting, f"{requests}outgoing"))
                ],
                "home": [
                    (
                        "/",
                        (
                            "/api/dashboard",
                            waiting,
                            f"{requests}outgoing&limit={MAX_LIMIT}",
                            "/api/notifications?unread=true&limit=5",
                            "/api/partnerships?status=active&limit=5",
                        ),
                    )
                ],
            }
            scenarios = {name: scenarios[name] for name in args.pages.split(",")}
            rounds: Callable[[str], int] = lambda name: (  # noqa: E731
                max(2, args.rounds // 5) if name == "search" else args.rounds * 5
            )
            print("API calls per page (summed; p50/p99 of the sums):")
            for name, pairs in scenarios.items():
                print(f"  {name}: " + " + ".join(pairs[0][1]))
            print(
                f"{'page':<10} {'page p50/p99 ms':>16} {'api p50/p99 ms':>16} "
                f"{'p99 ratio':>9} {'first visit':>12} {'later visit':>12}"
            )
            for name, pairs in scenarios.items() if args.wall else ():
                page_times, api_times = compare(page, api, pairs, rounds(name))
                first, later = visit_bytes(page, pairs[0][0])
                p, a = summary(page_times), summary(api_times)
                print(
                    f"{name:<10} {p['p50']:>7.1f}/{p['p99']:<8.1f}"
                    f" {a['p50']:>7.1f}/{a['p99']:<8.1f}"
                    f" {p['p99'] / max(a['p99'], 0.001):>9.2f} {first:>10} B {later:>10} B"
                )
    finally:
        process.terminate()
        process.wait(timeout=30)
    try:
        in_process = Settings(
            data_dir=workdir,
            database_url=settings.database_url,
            log_level="WARNING",
            run_jobs=False,
            auto_migrate=False,
            cookie_secure=False,
        )
        asyncio.run(costs(in_process, token, csrf, scenarios, args.cost_requests, args.profile))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
