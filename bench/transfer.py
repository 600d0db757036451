"""How fast files go in and out of the exchange, and what that costs the server in memory.

Run by hand (needs `curl` on the PATH):

    .venv/bin/python bench/transfer.py [--size-mb 200] [--runs 3]

It starts the real server (`exchange serve`, one worker, the embedded defaults: SQLite
and the folder store) in a child process in a scratch folder, makes one file of the
given size, and times in the same run:

- `cp` of the file, and an upload of it through the API (`curl -F`), with the server's
  fsync, hashing, type sniffing and the database commit;
- `cat file > /dev/null`, and a download of it through the API (`curl -o /dev/null`);
- four uploads of it at once;
- the same curl commands against a bare HTTP endpoint (a raw socket in a child process
  that discards an upload's body, and sends a download in 1 MiB writes): what moving the
  bytes through loopback TCP and curl costs on this machine before any server does any
  work;
- the same curl commands against a bare ASGI app (`bench/bare_asgi.py`) served by the
  same uvicorn as `exchange serve`: what the HTTP server alone costs.

The last two are the floors under the API's figures.

Resumable uploads (tus, with the tus project's Python client `tuspy`, from the test
extra) are timed in the same run:

- the file sent with tus in pieces of 5 MiB, against the form upload of it (target: at
  most 1.3x the form upload);
- a 20 MB file through a link shaped to 256 kbit/s (a proxy that passes 32,000 bytes a
  second towards the server) that drops twice, at a third and at two thirds of the
  file: the upload must finish, and resend at most one piece (512 KiB, what the upload
  page sends) per drop. At that speed this takes about 11 minutes; `--no-slow-link`
  leaves it out. `--resumable-only` times only these two (and the form upload).

Each figure is the best of `--runs`. The server's memory is its resident set
(`VmRSS` in /proc/<pid>/status), sampled every few milliseconds during each transfer,
reported over its idle level after a warm-up upload. Targets on a 2-core machine:
upload at most 2.5x cp, download at most 3x cat, peak memory at most 32 MiB over idle
(64 MiB with four uploads at once).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password"
MIB = 1024 * 1024
TARGETS = {"upload": 2.5, "download": 3.0, "memory": 32.0, "memory4": 64.0, "tus": 1.3}
TUS_CHUNK = 5 * MIB
SLOW_LINK_BYTES_PER_SECOND = 256_000 // 8
SLOW_LINK_CHUNK = 512 * 1024
SLOW_LINK_SIZE = 20_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_pdf(path: Path, size: int) -> None:
    """A PDF of exactly `size` bytes: a one-page document whose bulk is a comment of
    random bytes (nothing compresses it, nothing reads it), with the cross-reference
    table a reader (and the upload's check for scripts) looks objects up in."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    objects = [
        b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n",
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n",
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n",
    ]

    def tail_at(start: int) -> bytes:
        tail, offsets = b"\n", []
        for data in objects:
            offsets.append(start + len(tail))
            tail += data
        xref_at = start + len(tail)
        tail += b"xref\n0 4\n0000000000 65535 f \n"
        tail += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        return tail + b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref_at

    # The tail's length depends on the digits of its offsets: settle it in a few rounds.
    tail = tail_at(size)
    while len(tail_at(size - len(tail))) != len(tail):
        tail = tail_at(size - len(tail))
    tail = tail_at(size - len(tail))
    body = size - len(head) - len(tail)
    with path.open("wb") as out:
        out.write(head)
        left = body
        while left:
            block = os.urandom(min(left, 8 * MIB)).replace(b"\n", b" ").replace(b"\r", b" ")
            out.write(b"%" + block[1:] if left == body else block)
            left -= len(block)
        out.write(tail)


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for {pid}")


@contextmanager
def peak_rss(pid: int) -> Iterator[list[int]]:
    """Samples the process's resident set every 2 ms; yields [peak KiB] once done."""
    peak = [rss_kib(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


def timed(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def bare_endpoint(listener: socket.socket, path: Path) -> None:
    """Answers each request on `listener`: a POST has its body read and discarded (and
    hashed, with `?hash`), anything else gets the file at `path`, sent in 1 MiB writes
    (faster here than `sendfile`)."""
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    while True:
        connection, _ = listener.accept()
        with connection:
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(65536)
            header_block, _, body = head.partition(b"\r\n\r\n")
            lines = header_block.split(b"\r\n")
            if lines[0].startswith(b"POST"):
                if b"100-continue" in header_block.lower():
                    connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in lines
                    if line.lower().startswith(b"content-length")
                )
                digest = hashlib.sha256(body) if b"?hash" in lines[0] else None
                received = len(body)
                while received < length:
                    count = connection.recv_into(view)
                    if digest is not None:
                        digest.update(view[:count])
                    received += count
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                )
            else:
                size = path.stat().st_size
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
                connection.sendall(head.encode())
                with path.open("rb") as source:
                    while chunk := source.read(MIB):
                        connection.sendall(chunk)


@contextmanager
def bare_server(path: Path) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    child = multiprocessing.get_context("fork").Process(
        target=bare_endpoint, args=(listener, path), daemon=True
    )
    child.start()
    try:
        yield base
    finally:
        child.kill()
        child.join()
        listener.close()


@contextmanager
def bare_asgi_server(path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "EXCHANGE_BENCH_FILE": str(path)}
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(ROOT / "bench")]
    command += ["bare_asgi:app", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.head(base, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the bare ASGI server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def curl(*args: str) -> None:
    subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", *args], check=True)


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    token: str
    folder: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def curl_upload(self, path: Path, title: str) -> str:
        result = subprocess.run(
            [
                "curl",
                "-sS",
                "--fail-with-body",
                "-H",
                f"Authorization: Bearer {self.token}",
                "-F",
                f"title={title}",
                "-F",
                "kind=video",
                "-F",
                f"file=@{path};type=application/pdf",
                f"{self.base}/api/resources",
            ],
            capture_output=True,
            check=True,
        )
        return str(json.loads(result.stdout)["id"])

    def tus_upload(self, path: Path, title: str, *, chunk: int = TUS_CHUNK) -> str:
        """Send the file with tus in pieces of `chunk`; the resource's id."""
        client = tus_client(
            f"{self.base}/api/uploads", headers={"Authorization": f"Bearer {self.token}"}
        )
        with path.open("rb") as stream:
            uploader = client.uploader(
                file_stream=stream,
                chunk_size=chunk,
                metadata={"filename": path.name, "title": title, "kind": "video"},
            )
            uploader.upload()
        return str(uploader.request.response_headers["exchange-resource-id"])

    def curl_download(self, resource_id: str) -> None:
        subprocess.run(
            [
                "curl",
                "-sS",
                "--fail",
                "-o",
                "/dev/null",
                "-H",
                f"Authorization: Bearer {self.token}",
                f"{self.base}/api/resources/{resource_id}/content",
            ],
            check=True,
        )

    def delete(self, resource_id: str) -> None:
        response = httpx.delete(
            f"{self.base}/api/resources/{resource_id}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        response.raise_for_status()


def tus_client(url: str, headers: dict[str, str]) -> Any:
    """tuspy's client. It imports `requests`, which this folder's `requests.py` (a
    benchmark) would shadow while the folder heads the import path."""
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != here]
    from tusclient.client import TusClient

    return TusClient(url, headers=headers)


@contextmanager
def running_server(folder: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    env |= {
        "PYTHONPATH": str(ROOT / "src"),
        "EXCHANGE_DATA_DIR": str(folder / "storage"),
        "EXCHANGE_MAX_UPLOAD_BYTES": str(1024 * MIB),
        "EXCHANGE_LOG_LEVEL": "WARNING",
        # Each upload queues the extraction of its text; run by the server, that job
        # would copy and parse the previous 200 MB file while the next transfer is timed.
        # In production it runs in `exchange jobs run` processes of its own.
        "EXCHANGE_RUN_JOBS": "false",
    }
    exchange = [sys.executable, "-m", "exchange"]
    subprocess.run([*exchange, "db", "upgrade"], cwd=folder, env=env, check=True)
    subprocess.run(
        [
            *exchange,
            "school",
            "create",
            "--name",
            "Benchmark school",
            "--admin-email",
            "bench@school.kg",
            "--admin-password",
            PASSWORD,
        ],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [*exchange, "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit((folder / "server.log").read_text())
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        token = httpx.post(
            f"{base}/api/auth/token", json={"email": "bench@school.kg", "password": PASSWORD}
        ).json()["access_token"]
        yield Server(base, process, token, folder)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def best(runs: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200, help="file size in MB (10^6 bytes)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--resumable-only",
        action="store_true",
        help="time only the form upload, the tus upload and the slow link",
    )
    parser.add_argument(
        "--no-slow-link", action="store_true", help="leave out the 256 kbit/s link (11 min)"
    )
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is needed on the PATH")
    folder = Path(tempfile.mkdtemp(prefix="exchange-transfer-"))
    try:
        if not args.resumable_only:
            run(folder, args.size_mb * 1_000_000, args.runs)
        run_resumable(folder, args.size_mb * 1_000_000, args.runs, slow_link=not args.no_slow_link)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def run(folder: Path, size: int, runs: int) -> None:
    source = folder / "lesson.pdf"
    make_pdf(source, size)
    small = folder / "small.pdf"
    make_pdf(small, 64 * 1024)
    copy = folder / "copy.pdf"
    print(f"file: {size / 1e6:.0f} MB; best of {runs} runs; {os.cpu_count()} CPUs")

    with running_server(folder) as server:
        warm = server.curl_upload(small, "warm-up")
        server.curl_download(warm)
        server.delete(warm)
        time.sleep(0.5)
        idle = rss_kib(server.pid)
        hwm_before = rss_kib(server.pid, "VmHWM")

        def cp() -> float:
            copy.unlink(missing_ok=True)
            return timed(lambda: subprocess.run(["cp", str(source), str(copy)], check=True))

        def cat() -> float:
            return timed(
                lambda: subprocess.run(f"cat '{source}' > /dev/null", shell=True, check=True)
            )

        def cp_fsync() -> float:
            copy.unlink(missing_ok=True)
            return timed(
                lambda: subprocess.run(["sh", "-c", f"cp '{source}' '{copy}' && sync '{copy}'"])
            )

        cp_time = best(runs, cp)
        cp_fsync_time = best(runs, cp_fsync)
        copy.unlink(missing_ok=True)
        cat_time = best(runs, cat)
        with bare_server(source) as bare:
            bare_up = best(runs, lambda: timed(lambda: curl("-F", f"file=@{source}", bare)))
            bare_up_hash = best(
                runs, lambda: timed(lambda: curl("-F", f"file=@{source}", f"{bare}/?hash"))
            )
            bare_down = best(runs, lambda: timed(lambda: curl(bare)))
        with bare_asgi_server(source) as asgi:
            asgi_up = best(runs, lambda: timed(lambda: curl("-F", f"file=@{source}", asgi)))
            asgi_down = best(runs, lambda: timed(lambda: curl(asgi)))

        upload_times, download_times = [], []
        upload_peak = download_peak = idle
        kept: str | None = None
        for _ in range(runs):
            with peak_rss(server.pid) as peak:
                started = time.perf_counter()
                resource_id = server.curl_upload(source, "big")
                upload_times.append(time.perf_counter() - started)
            upload_peak = max(upload_peak, peak[0])
            if kept is None:
                kept = resource_id
            else:
                server.delete(resource_id)
        assert kept is not None
        for _ in range(runs):
            with peak_rss(server.pid) as peak:
                download_times.append(timed(lambda: server.curl_download(kept)))
            download_peak = max(download_peak, peak[0])
        server.delete(kept)

        four_ids: list[str] = []
        lock = threading.Lock()

        def one_upload(n: int) -> None:
            resource_id = server.curl_upload(source, f"concurrent {n}")
            with lock:
                four_ids.append(resource_id)

        with peak_rss(server.pid) as peak:
            started = time.perf_counter()
            threads = [threading.Thread(target=one_upload, args=(n,)) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            four_time = time.perf_counter() - started
        four_peak = peak[0]
        for resource_id in four_ids:
            server.delete(resource_id)
        hwm = rss_kib(server.pid, "VmHWM")

    upload_time, download_time = min(upload_times), min(download_times)
    upload_ratio, download_ratio = upload_time / cp_time, download_time / cat_time
    memory = (max(upload_peak, download_peak) - idle) / 1024
    memory4 = (four_peak - idle) / 1024

    def verdict(value: float, target: float) -> str:
        return "ok" if value <= target else "OVER"

    mb = size / 1e6
    print(f"cp                {cp_time:7.3f} s  {mb / cp_time:8.0f} MB/s")
    print(
        f"cp + fsync        {cp_fsync_time:7.3f} s  {mb / cp_fsync_time:8.0f} MB/s  (the server "
        f"fsyncs too: upload is {upload_time / cp_fsync_time:.2f}x this)"
    )
    print(f"cat > /dev/null   {cat_time:7.3f} s  {mb / cat_time:8.0f} MB/s")
    print(
        f"upload (API)      {upload_time:7.3f} s  {mb / upload_time:8.0f} MB/s  "
        f"{upload_ratio:5.2f}x cp   (target <= {TARGETS['upload']}x: "
        f"{verdict(upload_ratio, TARGETS['upload'])})"
    )
    print(
        f"download (API)    {download_time:7.3f} s  {mb / download_time:8.0f} MB/s  "
        f"{download_ratio:5.2f}x cat  (target <= {TARGETS['download']}x: "
        f"{verdict(download_ratio, TARGETS['download'])})"
    )
    print(
        f"bare upload       {bare_up:7.3f} s  {mb / bare_up:8.0f} MB/s  "
        f"{bare_up / cp_time:5.2f}x cp   (curl -F to a socket that discards the body)"
    )
    print(
        f"bare upload+hash  {bare_up_hash:7.3f} s  {mb / bare_up_hash:8.0f} MB/s  "
        f"{bare_up_hash / cp_time:5.2f}x cp   (the same, hashing the body with SHA-256)"
    )
    print(
        f"bare download     {bare_down:7.3f} s  {mb / bare_down:8.0f} MB/s  "
        f"{bare_down / cat_time:5.2f}x cat  (curl -o /dev/null from a bare socket)"
    )
    print(
        f"uvicorn alone up  {asgi_up:7.3f} s  {mb / asgi_up:8.0f} MB/s  "
        f"{asgi_up / cp_time:5.2f}x cp   (a bare ASGI app that drops the body)"
    )
    print(
        f"uvicorn alone dn  {asgi_down:7.3f} s  {mb / asgi_down:8.0f} MB/s  "
        f"{asgi_down / cat_time:5.2f}x cat  (a bare ASGI app that sends the file)"
    )
    print(
        f"API over uvicorn alone: upload {upload_time / asgi_up:.2f}x, "
        f"download {download_time / asgi_down:.2f}x"
    )
    print(f"4 uploads at once {four_time:7.3f} s  {4 * mb / four_time:8.0f} MB/s in total")
    print(f"server memory: idle {idle / 1024:.1f} MiB (after a warm-up upload and download)")
    print(
        f"  peak over idle, one transfer:  {memory:5.1f} MiB  (upload "
        f"{(upload_peak - idle) / 1024:.1f}, download {(download_peak - idle) / 1024:.1f}; "
        f"target <= {TARGETS['memory']:.0f}: {verdict(memory, TARGETS['memory'])})"
    )
    print(
        f"  peak over idle, four uploads:  {memory4:5.1f} MiB  (target <= "
        f"{TARGETS['memory4']:.0f}: {verdict(memory4, TARGETS['memory4'])})"
    )
    print(
        f"  VmHWM (kernel's peak): {hwm_before / 1024:.1f} MiB before the transfers (start-up "
        f"and migrations), {hwm / 1024:.1f} MiB after them"
    )


class ShapedLink:
    """A TCP proxy in front of the server: towards it at most `rate` bytes a second per
    connection, and the connection that carries the byte at each of `drops` (counted
    over every connection) is cut. `sent` counts the bytes that reached the server."""

    def __init__(self, target: str, rate: int, drops: list[int]) -> None:
        self._target = int(target.rsplit(":", 1)[1])
        self._rate = rate
        self._drops = sorted(drops)
        self._lock = threading.Lock()
        self.sent = 0
        self.cut = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            threading.Thread(target=self._up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _up(self, source: socket.socket, target: socket.socket) -> None:
        step = max(1, self._rate // 20)  # twenty sends a second
        started, passed = time.monotonic(), 0
        try:
            while data := source.recv(step):
                with self._lock:
                    if self._drops and self.sent + len(data) >= self._drops[0]:
                        self._drops.pop(0)
                        self.cut += 1
                        raise ConnectionAbortedError
                    self.sent += len(data)
                target.sendall(data)
                passed += len(data)
                ahead = started + passed / self._rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        except OSError:
            pass
        finally:
            _close(source, target)

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(64 * 1024):
                target.sendall(data)
        except OSError:
            pass
        finally:
            _close(source, target)

    def close(self) -> None:
        self._listener.close()


def _close(*ends: socket.socket) -> None:
    for end in ends:
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()


def resume_through(link: ShapedLink, server: Server, path: Path, chunk: int) -> tuple[str, int]:
    """Upload with tus through `link`; after a drop, ask the server where the upload
    stands (HEAD) and go on. The resource's id, and how many times it resumed."""
    from tusclient.client import TusClient

    client = TusClient(
        f"{link.url}/api/uploads", headers={"Authorization": f"Bearer {server.token}"}
    )
    url: str | None = None
    resumed = 0
    with path.open("rb") as stream:
        while True:
            uploader = client.uploader(
                file_stream=stream,
                url=url,
                chunk_size=chunk,
                metadata={"filename": path.name, "title": "slow link", "kind": "video"},
            )
            try:
                uploader.upload()
                return str(uploader.request.response_headers["exchange-resource-id"]), resumed
            except Exception:  # the link dropped, however the client tells it
                url = uploader.url
                resumed += 1
                if resumed > 10:
                    raise
                time.sleep(1)


def run_resumable(folder: Path, size: int, runs: int, *, slow_link: bool) -> None:
    source = folder / "lesson.pdf"
    if not source.exists():
        make_pdf(source, size)
    mb = size / 1e6
    print(f"resumable uploads: file {mb:.0f} MB; best of {runs} runs")
    with running_server(folder) as server:
        warm = folder / "warm.pdf"
        make_pdf(warm, 64 * 1024)
        server.delete(server.curl_upload(warm, "warm-up"))
        server.delete(server.tus_upload(warm, "warm-up"))
        form_times, tus_times = [], []
        for _ in range(runs):
            started = time.perf_counter()
            server.delete(server.curl_upload(source, "form"))
            form_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            resource_id = server.tus_upload(source, "tus")
            tus_times.append(time.perf_counter() - started)
            check_sha256(server, resource_id, source)
            server.delete(resource_id)
        form_time, tus_time = min(form_times), min(tus_times)
        ratio = tus_time / form_time
        verdict = "ok" if ratio <= TARGETS["tus"] else "OVER"
        print(f"upload (form)     {form_time:7.3f} s  {mb / form_time:8.0f} MB/s")
        print(
            f"upload (tus, 5 MiB pieces) {tus_time:7.3f} s  {mb / tus_time:8.0f} MB/s  "
            f"{ratio:5.2f}x the form upload (target <= {TARGETS['tus']}x: {verdict})"
        )
        if not slow_link:
            return
        small = folder / "rural.pdf"
        make_pdf(small, SLOW_LINK_SIZE)
        drops = [SLOW_LINK_SIZE // 3, 2 * SLOW_LINK_SIZE // 3]
        link = ShapedLink(server.base, SLOW_LINK_BYTES_PER_SECOND, drops)
        try:
            started = time.perf_counter()
            resource_id, resumed = resume_through(link, server, small, SLOW_LINK_CHUNK)
            took = time.perf_counter() - started
        finally:
            link.close()
        check_sha256(server, resource_id, small)
        # What reached the server beyond the file: the requests' heads (well under a
        # kilobyte each) and what was resent after each drop.
        pieces = -(-SLOW_LINK_SIZE // SLOW_LINK_CHUNK) + resumed
        heads = 1024 * (pieces + 2 * resumed + 1)
        resent = max(0, link.sent - SLOW_LINK_SIZE - heads)
        allowed = link.cut * SLOW_LINK_CHUNK
        verdict = "ok" if resent <= allowed else "OVER"
        print(
            f"slow link (256 kbit/s, {link.cut} drops): 20 MB in {took:.0f} s "
            f"({SLOW_LINK_SIZE / took * 8 / 1000:.0f} kbit/s), resumed {resumed} times, "
            f"resent at most {resent / 1024:.0f} KiB (target <= one {SLOW_LINK_CHUNK // 1024} "
            f"KiB piece per drop, {allowed // 1024} KiB: {verdict})"
        )


def check_sha256(server: Server, resource_id: str, path: Path) -> None:
    resource = httpx.get(
        f"{server.base}/api/resources/{resource_id}",
        headers={"Authorization": f"Bearer {server.token}"},
    ).json()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if resource["sha256"] != digest:
        raise SystemExit(f"the stored file differs: {resource['sha256']} != {digest}")


if __name__ == "__main__":
    main()
