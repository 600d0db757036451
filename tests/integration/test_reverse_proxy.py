"""The nginx configuration the README recommends (deploy/nginx/exchange.conf), run as
written by Debian's nginx in front of a real `exchange serve`: requests and uploads pass
through, the app sees the clients as nginx sees them, and a slow head is cut. One nginx
and one server serve the module; each test closes the connections it opens. With two
instances in its upstream, nginx spreads requests over both and passes a dead one's to
the other."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import base_settings
from tests.live_server import LiveServer, create_school, free_port, live_server, served_folder
from tests.raw_http import RawConnection
from tests.sample_files import pdf
from tests.settings import settings_env

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "exchange.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PATIENCE = 30.0
PASSWORD = "a long enough password"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(NGINX).exists(), reason="nginx is not installed (.ci/run installs Debian's)"
    ),
]


def render_site(app_ports: list[int], nginx_port: int) -> str:
    """The file as shipped, on loopback ports (one upstream `server` line for each app
    instance) and with a short header timeout."""
    site = SITE.read_text()
    servers = "\n    ".join(f"server 127.0.0.1:{port};" for port in app_ports)
    for shipped, here in {
        "listen 80;": f"listen 127.0.0.1:{nginx_port};",
        "server 127.0.0.1:8000;": servers,
        "client_header_timeout 20s;": "client_header_timeout 1s;",
    }.items():
        assert site.count(shipped) == 1, f"{SITE} no longer says {shipped!r}"
        site = site.replace(shipped, here)
    return site


def start_nginx(prefix: Path, site: str, port: int) -> subprocess.Popen[bytes]:
    prefix.mkdir()
    (prefix / "exchange.conf").write_text(site)
    temp = "\n".join(
        f"  {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"""
master_process off;
daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 512; }}
http {{
  access_log off;
{temp}
  include {prefix / "exchange.conf"};
}}
"""
    )
    process = subprocess.Popen(
        [
            NGINX,
            "-p",
            str(prefix),
            "-c",
            str(prefix / "nginx.conf"),
            "-e",
            str(prefix / "error.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + PATIENCE
    while True:
        if process.poll() is not None:
            raise RuntimeError((prefix / "error.log").read_text())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


EMAIL = "d@proxy.kg"


@pytest.fixture(scope="module")
def proxied(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, LiveServer, Path]]:
    cwd = tmp_path_factory.mktemp("proxied")
    settings = base_settings(
        served_folder(sqlite_template, cwd / "storage"), max_connections_per_address=2
    )
    asyncio.run(create_school(settings, "Школа через прокси", EMAIL, PASSWORD))
    with live_server(cwd, settings_env(settings)) as server:
        app_port = int(server.base_url.rsplit(":", 1)[1])
        port = free_port()
        prefix = cwd / "nginx"
        nginx = start_nginx(prefix, render_site([app_port], port), port)
        try:
            yield f"http://127.0.0.1:{port}", server, prefix
        finally:
            stop_nginx(nginx)


def stop_nginx(nginx: subprocess.Popen[bytes]) -> None:
    nginx.send_signal(signal.SIGQUIT)
    try:
        nginx.wait(timeout=15)
    except subprocess.TimeoutExpired:
        nginx.kill()
        nginx.wait()


def test_requests_and_uploads_pass_through_nginx(proxied: tuple[str, LiveServer, Path]) -> None:
    base, _server, _prefix = proxied
    assert httpx.get(f"{base}/health/live").status_code == 200
    signed_in = httpx.post(
        f"{base}/api/auth/token", json={"email": EMAIL, "password": PASSWORD}, timeout=PATIENCE
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    content = pdf()
    uploaded = httpx.post(
        f"{base}/api/resources",
        headers=headers,
        data={"title": "Через прокси", "kind": "lesson_plan"},
        files={"file": ("plan.pdf", content, "application/pdf")},
        timeout=PATIENCE,
    )
    assert uploaded.status_code == 201, uploaded.text
    downloaded = httpx.get(
        f"{base}/api/resources/{uploaded.json()['id']}/content", headers=headers, timeout=PATIENCE
    )
    assert downloaded.status_code == 200
    assert downloaded.content == content


def test_nginx_cuts_a_slow_head(proxied: tuple[str, LiveServer, Path]) -> None:
    base, _server, _prefix = proxied
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as sock:
        sock.sendall(b"GET /health/li")
        time.sleep(1.5)  # past the 1 s client_header_timeout of the rendered file
        deadline = time.monotonic() + PATIENCE
        received = b""
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
        else:
            raise AssertionError("nginx kept the slow connection open")
    # nginx closes without a response (it logs a 408); never a 200.
    assert not received.startswith(b"HTTP/1.1 200")


def test_behind_nginx_the_apps_cap_counts_the_client_nginx_sees(
    proxied: tuple[str, LiveServer, Path],
) -> None:
    base, _server, _prefix = proxied

    def sign_in_started() -> RawConnection:
        """A sign-in whose body is still on its way: nginx streams it, the app waits."""
        connection = RawConnection(base, timeout=PATIENCE)
        # Whatever a client claims, nginx names the address it sees (127.0.0.1).
        connection.send_head(
            "POST",
            "/api/auth/token",
            {
                "Content-Type": "application/json",
                "Content-Length": "200",
                "X-Forwarded-For": "203.0.113.50",
            },
        )
        connection.send(b'{"email": ')
        return connection

    busy = [sign_in_started() for _ in range(2)]
    time.sleep(1.0)  # nginx passes both heads on; the app counts both
    third = sign_in_started()
    refused = third.read_response()
    assert refused.status == 429
    assert refused.json()["type"] == "urn:exchange:problem:too-many-connections"
    for connection in [*busy, third]:
        connection.close()


def _port(server: LiveServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def test_nginx_spreads_requests_over_two_instances_and_passes_a_dead_ones_to_the_other(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Two instances in the upstream, as several machines would be (here they share one
    data folder): both answer, and once one dies, every request, uploads included,
    reaches the other."""
    email = "d@two.kg"
    settings = base_settings(served_folder(sqlite_template, tmp_path / "storage"), log_level="INFO")
    asyncio.run(create_school(settings, "Эки нускадагы мектеп", email, PASSWORD))
    env = settings_env(settings)
    with live_server(tmp_path, env) as first, live_server(tmp_path, env) as second:
        port = free_port()
        site = render_site([_port(first), _port(second)], port)
        nginx = start_nginx(tmp_path / "nginx", site, port)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(6):
                assert httpx.get(f"{base}/health/live", timeout=PATIENCE).status_code == 200
            assert '"/health/live"' in first.log()
            assert '"/health/live"' in second.log()

            first.kill()
            signed_in = httpx.post(
                f"{base}/api/auth/token",
                json={"email": email, "password": PASSWORD},
                timeout=PATIENCE,
            )
            assert signed_in.status_code == 200, signed_in.text
            headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
            for number in range(4):
                uploaded = httpx.post(
                    f"{base}/api/resources",
                    headers=headers,
                    data={"title": f"План {number}", "kind": "lesson_plan"},
                    files={"file": ("plan.pdf", pdf(), "application/pdf")},
                    timeout=PATIENCE,
                )
                assert uploaded.status_code == 201, uploaded.text
            # nginx did try the dead one, and passed those requests on.
            assert "Connection refused" in (tmp_path / "nginx" / "error.log").read_text()
        finally:
            stop_nginx(nginx)
