"""Faults: a store that dies before or during an upload, a server killed mid-upload, and
clients whose Content-Length lies. Never a row pointing at a missing file; after `gc`,
never a file no row points at."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from exchange.config import Settings
from exchange.models import ResourceVersion
from tests.actors import SchoolFactory
from tests.blobstore_fixtures import MotoEndpoint
from tests.live_server import LiveServer, live_server
from tests.problems import assert_problem
from tests.raw_http import RawConnection
from tests.resource_fixtures import (
    NOTHING_STORED,
    StoreUnderTest,
    StreamingClient,
    bearer_headers,
    create_school_for,
    database,
    multipart_body,
    row_counts,
    run_store_command,
    server_env,
    upload,
)
from tests.sample_files import pdf, pdf_of_size

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
PATIENCE = 30.0


@pytest.fixture
def settings(settings: Settings, store: StoreUnderTest) -> Settings:
    return replace(store.apply(settings), upload_idle_timeout_seconds=2.0)


@pytest.fixture
def moto_restarted(moto_endpoint: MotoEndpoint) -> Iterator[MotoEndpoint]:
    """The moto server, started again after the test however it ends."""
    yield moto_endpoint
    try:
        httpx.get(moto_endpoint.url, timeout=1)
    except httpx.TransportError:
        moto_endpoint.start_again()


def form_head(title: bytes = b"Video lesson") -> tuple[bytes, bytes, str]:
    """The bytes of a form before and after its file's content, and its Content-Type."""
    marker = b"\x00FILE\x00"
    body, content_type = multipart_body(
        [("title", None, title), ("kind", None, b"video"), ("file", "plan.pdf", marker)]
    )
    before, after = body.split(marker)
    return before, after, content_type


async def assert_row_files_all_present(settings: Settings, store: StoreUnderTest) -> list[str]:
    async with database(settings) as session:
        keys = list(await session.scalars(select(ResourceVersion.blob_key)))
    stored = store.stored_keys()
    assert set(keys) <= set(stored), "a row points at a missing file"
    return keys


# --- the S3 endpoint dies -------------------------------------------------------------------


@pytest.mark.parametrize("store", ["s3"], indirect=True)
async def test_a_dead_store_before_the_upload_answers_503_and_leaves_nothing(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    moto_restarted: MotoEndpoint,
    tmp_path: Path,
) -> None:
    school = await schools.create()
    moto_restarted.stop()
    started = time.monotonic()

    response = await upload(school.admin, pdf())

    body = assert_problem(response, 503)
    assert response.headers["retry-after"]
    assert "store" in body["detail"]
    assert time.monotonic() - started < 20
    assert await row_counts(settings) == NOTHING_STORED
    moto_restarted.start_again()
    code, out = run_store_command(settings, store, tmp_path, "gc", "--grace-hours", "0")
    assert code == 0, out
    assert store.contents() == []


@pytest.mark.parametrize("store", ["s3"], indirect=True)
async def test_a_store_dying_mid_upload_answers_503_and_gc_clears_what_it_kept(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    moto_restarted: MotoEndpoint,
    streaming_client: StreamingClient,
    tmp_path: Path,
) -> None:
    school = await schools.create()
    before, after, content_type = form_head()
    content = pdf_of_size(24 * MIB)
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield before
        for offset in range(0, len(content), MIB):
            if sent == 12 * MIB:  # one 8 MiB part is in the store by now
                moto_restarted.stop()
            yield content[offset : offset + MIB]
            sent += MIB
        yield after

    async with streaming_client() as http:
        response = await http.post(
            "/api/resources",
            content=body(),
            headers={**school.admin.headers, "Content-Type": content_type},
        )

    assert_problem(response, 503)
    assert await row_counts(settings) == NOTHING_STORED
    moto_restarted.start_again()
    # The abort could not reach a dead store: the unfinished upload waits for gc.
    code, out = run_store_command(settings, store, tmp_path, "gc", "--grace-hours", "0")
    assert code == 0, out
    assert store.contents() == []


# --- the server is killed mid-upload ---------------------------------------------------------


@pytest.fixture
def live(settings: Settings, store: StoreUnderTest, tmp_path: Path) -> LiveSetup:
    return LiveSetup(settings, store, tmp_path)


class LiveSetup:
    def __init__(self, settings: Settings, store: StoreUnderTest, cwd: Path) -> None:
        self.settings = settings
        self.store = store
        self.cwd = cwd
        self.env = server_env(settings, store)
        self.credentials: tuple[str, str] | None = None

    def server(self) -> AbstractContextManager[LiveServer]:
        return live_server(self.cwd, self.env)

    def headers(self, server: LiveServer) -> dict[str, str]:
        """A signed-in admin of the one school of these tests (made on first use)."""
        if self.credentials is None:
            self.credentials = create_school_for(self.settings, self.store, self.cwd)
        return bearer_headers(server.base_url, *self.credentials)


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition was not met in time")
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_server_killed_mid_upload_leaves_no_row_without_its_file_and_gc_no_orphan(
    live: LiveSetup, store: StoreUnderTest
) -> None:
    before, _after, content_type = form_head()
    content = pdf_of_size(40 * MIB)
    with live.server() as server:
        headers = live.headers(server)
        kept = httpx.post(
            f"{server.base_url}/api/resources",
            headers=headers,
            data={"title": "Kept", "kind": "lesson_plan"},
            files={"file": ("kept.pdf", pdf(), "application/pdf")},
            # The server's first PDF starts its content checker, slowly on a busy machine.
            timeout=PATIENCE,
        )
        assert kept.status_code == 201, kept.text
        finished = set(store.stored_keys())
        connection = RawConnection(server.base_url)
        connection.send_head(
            "POST",
            "/api/resources",
            {
                **headers,
                "Content-Type": content_type,
                "Content-Length": str(len(before) + len(content) + 100),
            },
        )
        connection.send(before)
        for offset in range(0, 20 * MIB, MIB):
            connection.send(content[offset : offset + MIB])
        # Wait until the upload has reached the store (a temporary file, or a part of
        # a multipart upload), then cut the power.
        wait_for(lambda: set(store.contents()) - finished)
        server.kill()
        connection.close()

    with live.server() as server:
        again = httpx.get(
            f"{server.base_url}/api/resources/{kept.json()['id']}/content",
            headers=live.headers(server),
            timeout=PATIENCE,
        )
        assert again.status_code == 200
        assert again.content == pdf()
    keys = asyncio.run(assert_row_files_all_present(live.settings, store))
    assert len(keys) == 1
    code, out = run_store_command(live.settings, store, live.cwd, "gc", "--grace-hours", "0")
    assert code == 0, out
    assert store.contents() == keys


# --- Content-Length that lies ---------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_lying_content_lengths_answer_4xx_and_leave_nothing(
    live: LiveSetup, store: StoreUnderTest
) -> None:
    body, content_type = multipart_body(
        [("title", None, b"T"), ("kind", None, b"other"), ("file", "plan.pdf", pdf())]
    )
    with live.server() as server:
        headers = live.headers(server)

        def post(announced: int, sent: bytes) -> tuple[int, dict[str, object]]:
            with RawConnection(server.base_url) as connection:
                connection.send_head(
                    "POST",
                    "/api/resources",
                    {**headers, "Content-Type": content_type, "Content-Length": str(announced)},
                )
                # Bytes past the announced length are not this request's: to the HTTP
                # server they would start the next request on the connection, which it
                # refuses itself (plain 400). This request's answer is what is tested.
                connection.send(sent[:announced])
                response = connection.read_response()
            assert response.headers["content-type"].startswith("application/problem+json"), response
            return response.status, response.json()

        # More announced than sent: the server waits, then gives up (idle timeout).
        longer_status, longer = post(len(body) + 5000, body)
        # Less announced than sent: the form ends before its closing boundary.
        shorter_status, shorter = post(len(body) - 200, body)
        # Far more than the limit announced: refused before a byte of the body is read.
        huge_status, huge = post(live.settings.request_max_body_bytes + 1, b"")

        assert (longer_status, longer["status"]) == (408, 408)
        assert (shorter_status, shorter["status"]) == (400, 400)
        assert (huge_status, huge["status"]) == (413, 413)
    assert asyncio.run(assert_row_files_all_present(live.settings, store)) == []
    assert store.contents() == []
