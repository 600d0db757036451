"""Slow clients against `exchange serve`: how many connections they hold, and for how long.

Run by hand:

    .venv/bin/python bench/slow_clients.py [--connections 400] [--hold 30] [--trickle 90]
        [--src PATH]

It starts `exchange serve` on the embedded defaults in a scratch folder (`--src` runs
another checkout's `src/`, e.g. an older version, for a before/after figure), with
127.0.0.1 not a trusted proxy, so the connections count for their own address. Then, at
the same time:

- `--connections` clients each send half a request line (`GET /health/li`) and nothing
  more; after `--hold` seconds it counts how many the server answered at once (429, the
  per-address cap), closed since (the header timeout) and still holds open;
- one signed-in client uploads a PDF one byte every 10 seconds for at most `--trickle`
  seconds, and says when (and with what answer) the server cut it.

Settings come from the environment as usual (`EXCHANGE_HEADER_TIMEOUT_SECONDS`, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password"
EMAIL = "director@bench.kg"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path, src: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()}
    env["PYTHONPATH"] = str(src)
    env.setdefault("EXCHANGE_FORWARDED_ALLOW_IPS", "192.0.2.1")
    env.setdefault("EXCHANGE_LOG_LEVEL", "WARNING")
    exchange = [sys.executable, "-m", "exchange"]
    subprocess.run([*exchange, "db", "upgrade"], cwd=folder, env=env, check=True)
    created = subprocess.run(
        [*exchange, "school", "create", "--name", "Bench school", "--admin-email", EMAIL,
         "--admin-password", PASSWORD],
        cwd=folder, env=env, capture_output=True, text=True, input=PASSWORD + "\n",
    )  # fmt: skip
    if created.returncode != 0:
        raise SystemExit(created.stderr)
    process = subprocess.Popen(
        [*exchange, "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def half_request_lines(port: int, count: int, hold: float) -> dict[str, int]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /health/li")
        sockets.append(sock)
    answered: dict[socket.socket, bytes] = {sock: b"" for sock in sockets}
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + hold
    while time.monotonic() < deadline:
        open_ones = [s for s in sockets if s not in closed]
        if not open_ones:
            break
        readable, _, _ = select.select(open_ones, [], [], 0.5)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if data:
                answered[sock] += data
            else:
                closed.add(sock)
    figures = {"refused_429": 0, "timed_out_408": 0, "closed_silently": 0, "still_open": 0}
    for sock in sockets:
        status = answered[sock][9:12]
        if sock not in closed:
            figures["still_open"] += 1
        elif status == b"429":
            figures["refused_429"] += 1
        elif status == b"408":
            figures["timed_out_408"] += 1
        else:
            figures["closed_silently"] += 1
        sock.close()
    return figures


def trickle_upload(
    port: int, limit: float, result: dict[str, object], connected: threading.Event
) -> None:
    token = httpx.post(
        f"http://127.0.0.1:{port}/api/auth/token", json={"email": EMAIL, "password": PASSWORD}
    ).json()["access_token"]
    boundary = "bench-boundary"
    pdf = b"%PDF-1.4\n" + b"0" * 4000 + b"\n%%EOF\n"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nTrickle\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="t.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + pdf
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /api/resources HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    started = time.monotonic()
    sock.sendall(head + body[:300])
    # Signed in and connected before the half request lines take the address's places.
    connected.set()
    sent = 300
    answer = b""
    while time.monotonic() - started < limit:
        readable, _, _ = select.select([sock], [], [], 10.0)
        if readable:
            sock.settimeout(10.0)
            try:
                while data := sock.recv(65536):
                    answer += data
            except (ConnectionResetError, TimeoutError):
                answer = answer or b"(reset)"
            break
        try:
            sock.sendall(body[sent : sent + 1])
        except OSError:
            answer = b"(closed)"
            break
        sent += 1
    result["seconds"] = round(time.monotonic() - started, 1)
    result["bytes_sent"] = sent
    result["cut"] = bool(answer)
    result["answer"] = answer.split(b"\r\n", 1)[0].decode("latin-1")
    if b"\r\n\r\n" in answer:
        with contextlib.suppress(ValueError):
            result["detail"] = json.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"]
    sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=400)
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--trickle", type=float, default=90.0)
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exchange-slow-") as scratch:
        port = free_port()
        server = start_server(Path(scratch), args.src.resolve(), port)
        try:
            trickle: dict[str, object] = {}
            connected = threading.Event()
            uploader = threading.Thread(
                target=trickle_upload, args=(port, args.trickle, trickle, connected)
            )
            uploader.start()
            connected.wait(timeout=60)
            held = half_request_lines(port, args.connections, args.hold)
            uploader.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"source: {args.src}")
    print(
        f"{args.connections} half request lines, after {args.hold:g} s: "
        f"{held['refused_429']} refused at once (429), {held['timed_out_408']} closed by the "
        f"header timeout (408), {held['closed_silently']} closed otherwise, "
        f"{held['still_open']} still open"
    )
    if trickle.get("cut"):
        print(
            f"trickling upload (1 byte / 10 s): cut after {trickle['seconds']} s and "
            f"{trickle['bytes_sent']} bytes: {trickle['answer']} {trickle.get('detail', '')}"
        )
    else:
        print(
            f"trickling upload (1 byte / 10 s): still going after {trickle.get('seconds')} s "
            f"({trickle.get('bytes_sent')} bytes sent)"
        )


if __name__ == "__main__":
    main()
