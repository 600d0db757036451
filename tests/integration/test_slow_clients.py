"""Slow and greedy clients against the real server in a child process, over real sockets:
a request head that never ends, more connections from one address than it may hold, an
upload that trickles in.

Two servers serve the whole module, each started once with the short windows its tests
need: an impatient one (a head within a second, a body at 1 KB a second over any two)
and a capped one (two connections an address). Each test leaves them as it found them:
every connection it opens, it closes.
"""

from __future__ import annotations

import asyncio
import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from exchange.config import Settings
from tests.actors import PASSWORD
from tests.conftest import base_settings
from tests.live_server import LiveServer, create_school, live_server, served_folder
from tests.raw_http import RawConnection
from tests.resource_fixtures import StoreUnderTest, bearer_headers, multipart_body, row_counts
from tests.sample_files import pdf
from tests.settings import settings_env

pytestmark = pytest.mark.slow

# Generous: how long a test waits for the server to do what a timeout of a second or two
# asks of it, on a busy machine. Never a measure of the server's speed.
PATIENCE = 30.0


HEADER_TIMEOUT = 1.0
CAP = 2
# The capped server trusts 127.0.0.1 as its proxy (the default); a client that connects
# from this other loopback address is a client like any other.
DIRECT_CLIENT = "127.0.0.2"


def connect(server: LiveServer, source: str | None = None) -> socket.socket:
    port = int(server.base_url.rsplit(":", 1)[1])
    return socket.create_connection(
        ("127.0.0.1", port), timeout=PATIENCE, source_address=(source, 0) if source else None
    )


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (PATIENCE at most)."""
    received = bytearray()
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            # The server closed while bytes it had not read were still on their way:
            # the kernel answers them with a reset. The connection is closed all the same.
            return bytes(received)
        if not data:
            return bytes(received)
        received += data
    raise AssertionError(f"the server kept the connection open; it sent {bytes(received)!r}")


def problem_of(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body)


@dataclass
class Served:
    server: LiveServer
    settings: Settings
    email: str


@pytest.fixture(scope="module")
def impatient(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A head must be whole within a second; a body must arrive at 1 KB a second over any
    2 seconds (the idle timeout is far longer, so the pace is what cuts)."""
    cwd = tmp_path_factory.mktemp("impatient")
    settings = base_settings(
        served_folder(sqlite_template, cwd / "storage"),
        header_timeout_seconds=HEADER_TIMEOUT,
        upload_min_bytes_per_second=1024,
        upload_rate_window_seconds=2.0,
        upload_idle_timeout_seconds=60.0,
    )
    email = "director@impatient.kg"
    asyncio.run(create_school(settings, "Impatient school", email))
    with live_server(cwd, settings_env(settings)) as server:
        yield Served(server, settings, email)


@pytest.fixture(scope="module")
def capped(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """At most CAP connections an address; 127.0.0.1 is the trusted proxy. The header
    timeout is long, so that connections held open between requests stay counted."""
    cwd = tmp_path_factory.mktemp("capped")
    settings = base_settings(
        served_folder(sqlite_template, cwd / "storage"),
        max_connections_per_address=CAP,
        header_timeout_seconds=60.0,
    )
    with live_server(cwd, settings_env(settings)) as server:
        yield server


def wait_until_answered(base_url: str, **client: object) -> httpx.Response:
    """A request repeated until it is answered 200 (a closed connection is counted off
    a moment after it closes), PATIENCE at most."""
    deadline = time.monotonic() + PATIENCE
    while True:
        with httpx.Client(base_url=base_url, **client) as http:  # type: ignore[arg-type]
            answer = http.get("/health/live")
        if answer.status_code == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


# --- the head of a request ------------------------------------------------------------------


def test_half_request_lines_are_answered_408_and_closed_after_the_header_timeout(
    impatient: Served,
) -> None:
    server = impatient.server
    slow = [connect(server) for _ in range(20)]
    for sock in slow:
        sock.sendall(b"GET /health/li")
    silent = connect(server)  # sends nothing at all
    # A keep-alive connection: one whole request, then the start of another.
    kept = httpx.Client(base_url=server.base_url)
    assert kept.get("/health/live").status_code == 200
    time.sleep(HEADER_TIMEOUT + 0.5)

    for sock in [*slow, silent]:
        status, headers, problem = problem_of(read_until_closed(sock))
        assert status == 408
        assert headers["connection"] == "close"
        assert problem["type"] == "urn:exchange:problem:header-timeout"
        assert "1 seconds" in str(problem["detail"])
        sock.close()
    # The server still answers whoever sends a whole request.
    assert httpx.get(f"{server.base_url}/health/live").status_code == 200
    kept.close()


def test_a_second_request_that_stops_half_way_is_closed_too(impatient: Served) -> None:
    sock = connect(impatient.server)
    sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    first = sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    # Bytes every half second: the keep-alive timeout never fires, the header one does.
    # (Nothing more is sent once the server has answered.)
    for piece in (b"GET ", b"/hea", b"lth/", b"live", b" HTT", b"P/1.", b"1\r\n"):
        if select.select([sock], [], [], 0.5)[0]:
            break
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            break
    status, _headers, problem = problem_of(read_until_closed(sock))
    sock.close()
    assert status == 408
    assert problem["type"] == "urn:exchange:problem:header-timeout"


# --- connections per address ----------------------------------------------------------------


def test_connections_beyond_the_cap_of_one_address_are_refused_429(capped: LiveServer) -> None:
    held = [connect(capped, DIRECT_CLIENT) for _ in range(CAP)]
    for sock in held:  # the connections are established and counted
        sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")

    extra = connect(capped, DIRECT_CLIENT)
    status, headers, problem = problem_of(read_until_closed(extra))
    extra.close()
    assert status == 429
    assert headers["retry-after"]
    assert problem["type"] == "urn:exchange:problem:too-many-connections"
    assert f"{CAP} connections" in str(problem["detail"])
    # The cap is the address's own: another address is not held back.
    assert httpx.get(f"{capped.base_url}/health/live").status_code == 200

    # One of them goes away: its place is free again.
    held.pop().close()
    again = wait_until_answered(
        capped.base_url, transport=httpx.HTTPTransport(local_address=DIRECT_CLIENT)
    )
    assert again.status_code == 200
    for sock in held:
        sock.close()


def test_behind_the_trusted_proxy_the_cap_counts_the_clients_the_proxy_names(
    capped: LiveServer,
) -> None:
    # 127.0.0.1 is the trusted proxy: each request counts for the client in
    # X-Forwarded-For, not for the proxy.
    def sign_in_started(client: str) -> RawConnection:
        """A request whose body is still on its way: it holds its connection."""
        connection = RawConnection(capped.base_url, timeout=PATIENCE)
        connection.send_head(
            "POST",
            "/api/auth/token",
            {
                "Content-Type": "application/json",
                "Content-Length": "200",
                "X-Forwarded-For": f"198.51.100.99, {client}",
            },
        )
        connection.send(b'{"email": ')
        return connection

    busy = [sign_in_started("203.0.113.7") for _ in range(CAP)]
    time.sleep(0.5)  # let the server read both heads
    third = sign_in_started("203.0.113.7")
    refused = third.read_response()
    assert refused.status == 429
    assert refused.json()["type"] == "urn:exchange:problem:too-many-connections"
    third.close()

    # Another client of the same proxy, and the proxy itself, are not held back.
    other = httpx.get(f"{capped.base_url}/health/live", headers={"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 200
    assert httpx.get(f"{capped.base_url}/health/live").status_code == 200

    # When a request of 203.0.113.7 ends, it may send another.
    busy.pop().close()
    again = wait_until_answered(capped.base_url, headers={"X-Forwarded-For": "203.0.113.7"})
    assert again.status_code == 200
    for connection in busy:
        connection.close()


# --- a trickling upload ---------------------------------------------------------------------


def test_a_trickling_upload_is_cut_with_408_and_leaves_nothing(impatient: Served) -> None:
    # At least 1 KB a second over every 2 seconds; the idle timeout never fires (a byte
    # comes every 0.2 s). (The store's side of a body cut short, S3's unfinished uploads
    # included, is the stalled upload's test in test_resources_upload, on every store.)
    server, settings = impatient.server, impatient.settings
    store = StoreUnderTest("file", settings.storage_url)
    counts_before = asyncio.run(row_counts(settings))
    stored_before = store.contents()
    body, content_type = multipart_body(
        [("title", None, b"Trickle"), ("kind", None, b"other"), ("file", "plan.pdf", pdf())]
    )
    start_of_file = body.index(b"%PDF") + 200
    headers = bearer_headers(server.base_url, impatient.email, PASSWORD)
    sock = connect(server)
    head = [
        "POST /api/resources HTTP/1.1",
        "Host: exchange",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sock.sendall(body[:start_of_file])
    answered = False
    deadline = time.monotonic() + PATIENCE
    for offset in range(start_of_file, len(body) - 1):
        if select.select([sock], [], [], 0.2)[0]:
            answered = True
            break
        if time.monotonic() > deadline:
            break
        try:
            sock.sendall(body[offset : offset + 1])
        except (BrokenPipeError, ConnectionResetError):
            answered = True
            break
    assert answered, "the trickling upload was never cut"
    status, response_headers, problem = problem_of(read_until_closed(sock))
    sock.close()

    assert status == 408
    assert response_headers["connection"] == "close"
    assert response_headers["content-type"].startswith("application/problem+json")
    assert problem["type"] == "urn:exchange:problem:request-too-slow"
    # In the school's language; the figures are the settings'.
    assert "секундасына 1 кБ жетпеди" in str(problem["detail"])
    assert " 2 " in str(problem["detail"])
    # Nothing half-written, no temporary file, no row.
    assert store.contents() == stored_before
    assert asyncio.run(row_counts(settings)) == counts_before

    # A steady upload on the same server is stored.
    kept = httpx.post(
        f"{server.base_url}/api/resources",
        headers=headers,
        data={"title": "Steady", "kind": "lesson_plan"},
        files={"file": ("steady.pdf", pdf(), "application/pdf")},
        timeout=PATIENCE,
    )
    assert kept.status_code == 201, kept.text
    assert asyncio.run(row_counts(settings))["resources"] == counts_before["resources"] + 1
    assert len(store.contents()) == len(stored_before) + 1


def test_a_trickling_json_body_is_cut_too(impatient: Served) -> None:
    body = b'{"email": "someone@school.kg", "password": "not the right one"}'
    sock = connect(impatient.server)
    sock.sendall(
        b"POST /api/auth/token HTTP/1.1\r\nHost: exchange\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    answered = False
    for offset in range(len(body) - 1):
        if select.select([sock], [], [], 0.2)[0]:
            answered = True
            break
        sock.sendall(body[offset : offset + 1])
    assert answered, "the trickling body was never cut"
    status, headers, problem = problem_of(read_until_closed(sock))
    sock.close()
    assert status == 408
    assert headers["connection"] == "close"
    assert problem["type"] == "urn:exchange:problem:request-too-slow"
