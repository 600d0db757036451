"""Resumable uploads over real connections with the real tus client (tuspy), against the
service in a child process: a transfer cut by a proxy after some bytes, then resumed
from where the server says it stands; a server killed (`kill -9`) in the middle of a
piece, restarted, and the upload resumed; the finished file's SHA-256 is the file's.
On the folder store and S3 (moto over HTTP), SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import io
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient

from exchange.config import Settings
from tests.actors import PASSWORD
from tests.cutting_proxy import CuttingProxy
from tests.live_server import LiveServer, create_school, live_server
from tests.resource_fixtures import StoreUnderTest, bearer_headers, server_env
from tests.sample_files import pdf_of_size

pytestmark = [pytest.mark.every_database, pytest.mark.slow, pytest.mark.s3_on_every_database]

MIB = 1024 * 1024
PLAN = {"filename": "lesson.pdf", "title": "A lesson filmed in Naryn", "kind": "lesson_plan"}


@pytest.fixture
def live_settings(settings: Settings, store: StoreUnderTest) -> Settings:
    # A dead request's hold on an upload lapses after the idle timeout (and 5 s).
    return replace(store.apply(settings), upload_idle_timeout_seconds=2.0)


@pytest.fixture
def server(live_settings: Settings, store: StoreUnderTest, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path, server_env(live_settings, store)) as running:
        yield running


def sign_in(settings: Settings, server: LiveServer) -> dict[str, str]:
    email = f"director-{time.monotonic_ns()}@naryn.kg"
    asyncio.run(create_school(settings, "Naryn school No. 3", email))
    return bearer_headers(server.base_url, email, PASSWORD)


def check_resource(
    base_url: str, headers: dict[str, str], resource_id: str, content: bytes
) -> None:
    resource = httpx.get(f"{base_url}/api/resources/{resource_id}", headers=headers).json()
    assert resource["sha256"] == hashlib.sha256(content).hexdigest()
    assert resource["size"] == len(content)
    download = httpx.get(f"{base_url}/api/resources/{resource_id}/content", headers=headers)
    assert hashlib.sha256(download.content).hexdigest() == resource["sha256"]


def test_a_transfer_cut_by_the_network_resumes_where_the_server_says(
    live_settings: Settings, server: LiveServer
) -> None:
    headers = sign_in(live_settings, server)
    content = pdf_of_size(3 * MIB)
    proxy = CuttingProxy(int(server.base_url.rsplit(":", 1)[1]), cut_after=int(1.5 * MIB))
    try:
        client = TusClient(f"{proxy.url}/api/uploads", headers=headers)
        first = client.uploader(
            file_stream=io.BytesIO(content), chunk_size=MIB, metadata=PLAN, retries=0
        )
        with pytest.raises(Exception):
            first.upload()
        assert proxy.cuts == 1
        assert first.url is not None

        resumed = client.uploader(
            file_stream=io.BytesIO(content),
            url=first.url,
            chunk_size=MIB,
            retries=10,
            retry_delay=1,
        )
        assert 0 < resumed.offset < len(content)
        resumed.upload()
    finally:
        proxy.close()

    resource_id = resumed.request.response_headers["exchange-resource-id"]
    check_resource(server.base_url, headers, resource_id, content)


def test_an_upload_resumes_after_the_server_is_killed_mid_piece(
    live_settings: Settings, store: StoreUnderTest, tmp_path: Path
) -> None:
    content = pdf_of_size(4 * MIB)
    env = server_env(live_settings, store)
    with live_server(tmp_path, env) as doomed:
        headers = sign_in(live_settings, doomed)
        uploader = TusClient(f"{doomed.base_url}/api/uploads", headers=headers).uploader(
            file_stream=io.BytesIO(content), chunk_size=MIB, metadata=PLAN
        )
        uploader.upload(stop_at=MIB)
        url = uploader.url
        assert url is not None
        path = url.split("/api/", 1)[1]
        # Half of the next piece, then the server dies.
        connection = socket.create_connection(("127.0.0.1", int(doomed.base_url.rsplit(":", 1)[1])))
        head = (
            f"PATCH /api/{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {MIB}\r\n"
            f"Content-Length: {MIB}\r\n\r\n"
        )
        connection.sendall(head.encode() + content[MIB : MIB + MIB // 2])
        time.sleep(0.5)
        doomed.kill()
        connection.close()

    with live_server(tmp_path, env) as restarted:
        client = TusClient(f"{restarted.base_url}/api/uploads", headers=headers)
        resumed = client.uploader(
            file_stream=io.BytesIO(content),
            url=f"{restarted.base_url}/api/{path}",
            chunk_size=MIB,
            retries=15,
            retry_delay=1,
        )
        assert resumed.offset == MIB
        resumed.upload()
        resource_id = resumed.request.response_headers["exchange-resource-id"]
        check_resource(restarted.base_url, headers, resource_id, content)
