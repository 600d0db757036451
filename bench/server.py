"""Compare ASGI servers for the exchange: uvicorn against granian, one worker each.

Run by hand (needs `wrk` on the PATH and `pip install granian`):

    .venv/bin/python bench/server.py [--seconds 10] [--connections 32]

Both servers serve the same app on the embedded defaults (SQLite) in a scratch folder.
It prints requests/s and latency for a framework-only route (/health/live) and for an
authenticated route that reads the database (/api/me), and granian's figures as a
ratio of uvicorn's measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server exited early")
        try:
            if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def wrk(url: str, seconds: int, connections: int, token: str | None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
    }


def server_command(name: str, port: int) -> list[str]:
    if name == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "exchange.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "exchange.app:create_app",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    scratch = Path(tempfile.mkdtemp(prefix="exchange-bench-"))
    env = {**os.environ, "EXCHANGE_LOG_LEVEL": "WARNING", "EXCHANGE_DATA_DIR": str(scratch)}
    subprocess.run(
        [sys.executable, "-m", "exchange", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "exchange",
            "school",
            "create",
            "--name",
            "Bench",
            "--admin-email",
            "bench@x.kg",
            "--admin-password",
            PASSWORD,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in ("uvicorn", "granian"):
        port = free_port()
        process = subprocess.Popen(
            server_command(name, port),
            env=env,
            cwd=scratch,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, process)
            token = httpx.post(
                f"{base}/api/auth/token", json={"email": "bench@x.kg", "password": PASSWORD}
            ).json()["access_token"]
            wrk(f"{base}/health/live", 2, args.connections, None)  # warm-up
            results[name] = {
                "/health/live": wrk(f"{base}/health/live", args.seconds, args.connections, None),
                "/api/me": wrk(f"{base}/api/me", args.seconds, args.connections, token),
            }
        finally:
            process.terminate()
            process.wait(timeout=15)
    shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(results, indent=2))
    for route in ("/health/live", "/api/me"):
        u, g = results["uvicorn"][route], results["granian"][route]
        print(
            f"{route}: uvicorn {u['rps']:.0f} req/s p99 {u['p99_ms']:.1f} ms; "
            f"granian {g['rps']:.0f} req/s p99 {g['p99_ms']:.1f} ms; "
            f"granian/uvicorn throughput {g['rps'] / u['rps']:.2f}x"
        )


if __name__ == "__main__":
    main()
