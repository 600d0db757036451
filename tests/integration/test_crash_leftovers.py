"""What a crash leaves in the folder store: the temporary file of an upload whose process
died is cleared at the next start, or by `exchange store gc`, without waiting for the
grace period; a temporary file a living process writes is never touched, whichever
process looks; a stored file no row points at keeps its grace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from exchange.blobstore import new_blob_key
from exchange.blobstore.local import TEMP_PREFIX, LocalBlobStore
from exchange.config import Settings
from tests.live_server import LiveServer, live_server
from tests.raw_http import RawConnection
from tests.resource_fixtures import (
    StoreUnderTest,
    bearer_headers,
    create_school_for,
    multipart_body,
    run_store_command,
    server_env,
)
from tests.sample_files import pdf, pdf_of_size

MIB = 1024 * 1024
PATIENCE = 30.0


def temporary_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(f"{TEMP_PREFIX}*") if p.is_file())


def wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def start_upload(server: LiveServer, headers: dict[str, str], size: int) -> RawConnection:
    """An upload sent half way, then left waiting: its file is being written."""
    marker = b"\x00FILE\x00"
    body, content_type = multipart_body(
        [("title", None, b"Cut"), ("kind", None, b"video"), ("file", "cut.pdf", marker)]
    )
    before, _after = body.split(marker)
    connection = RawConnection(server.base_url)
    connection.send_head(
        "POST",
        "/api/resources",
        {**headers, "Content-Type": content_type, "Content-Length": str(len(before) + size + 100)},
    )
    connection.send(before)
    content = pdf_of_size(size)
    for offset in range(0, size // 2, MIB):
        connection.send(content[offset : offset + MIB])
    return connection


@pytest.fixture
def file_store(tmp_path: Path) -> StoreUnderTest:
    return StoreUnderTest("file", (tmp_path / "blobs").as_uri())


def orphan_in(root: Path) -> Path:
    """A whole stored file no row points at, as a crash between the file and its row
    leaves it."""
    key = new_blob_key()
    path = root.joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf())
    return path


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_gc_clears_a_killed_servers_temporary_file_at_once_and_leaves_a_living_ones(
    settings: Settings, file_store: StoreUnderTest, tmp_path: Path
) -> None:
    root = Path(file_store.url.removeprefix("file://"))
    # The living upload waits while `gc` runs: no idle timeout may cut it meanwhile.
    settings = replace(settings, upload_idle_timeout_seconds=600.0)
    env = server_env(file_store.apply(settings), file_store)
    credentials = create_school_for(file_store.apply(settings), file_store, tmp_path)
    orphan = orphan_in(root)
    with live_server(tmp_path, env) as doomed, live_server(tmp_path, env) as living:
        cut = start_upload(doomed, bearer_headers(doomed.base_url, *credentials), 40 * MIB)
        wait_for(lambda: len(temporary_files(root)) == 1, "the doomed upload's file")
        [dead_temporary] = temporary_files(root)
        doomed.kill()
        cut.close()

        living_headers = bearer_headers(living.base_url, *credentials)
        going_on = start_upload(living, living_headers, 40 * MIB)
        wait_for(lambda: len(temporary_files(root)) == 2, "the living upload's file")
        [living_temporary] = [p for p in temporary_files(root) if p != dead_temporary]

        # The default grace of 24 hours: the dead upload's file goes all the same.
        code, out = run_store_command(file_store.apply(settings), file_store, tmp_path, "gc")
        assert code == 0, out
        assert "1 leftover of interrupted uploads cleared" in out
        assert temporary_files(root) == [living_temporary]
        assert orphan.exists(), "an orphan keeps its grace"
        going_on.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_restarted_server_clears_what_its_killed_predecessor_was_writing(
    settings: Settings, file_store: StoreUnderTest, tmp_path: Path
) -> None:
    root = Path(file_store.url.removeprefix("file://"))
    env = server_env(file_store.apply(settings), file_store)
    credentials = create_school_for(file_store.apply(settings), file_store, tmp_path)
    orphan = orphan_in(root)
    with live_server(tmp_path, env) as server:
        cut = start_upload(server, bearer_headers(server.base_url, *credentials), 40 * MIB)
        wait_for(lambda: temporary_files(root), "the upload's temporary file")
        server.kill()
        cut.close()
    assert temporary_files(root)

    with live_server(tmp_path, env) as server:
        wait_for(lambda: not temporary_files(root), "the leftover cleared at start")
        kept = bearer_headers(server.base_url, *credentials)
        assert kept
    assert orphan.exists(), "an orphan keeps its grace"


async def test_a_temporary_file_is_cleared_only_when_no_writer_holds_it(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    release = asyncio.Event()
    written = asyncio.Event()

    async def slow_chunks() -> AsyncIterator[bytes]:
        yield b"x" * (1024 * 1024)
        written.set()
        await release.wait()
        yield b"y"

    key = new_blob_key()
    writing = asyncio.create_task(store.put(key, slow_chunks()))
    try:
        await written.wait()
        # The write is under way in this very process: its file stays.
        assert await store.clear_incomplete(older_than_now()) == 0
        [held] = temporary_files(store.root)
        # A file left by a process that died: nobody holds it, young as it is.
        left = held.with_name(f"{TEMP_PREFIX}dead")
        left.write_bytes(b"half")
        assert await store.clear_incomplete(older_than_now()) == 1
        assert temporary_files(store.root) == [held]
        release.set()
        assert await writing == 1024 * 1024 + 1
        assert await store.size(key) == 1024 * 1024 + 1
        assert temporary_files(store.root) == []
    finally:
        release.set()
        await asyncio.gather(writing, return_exceptions=True)
        await store.close()


def older_than_now() -> object:
    from datetime import UTC, datetime, timedelta

    # gc's default grace: a day.
    return datetime.now(UTC) - timedelta(hours=24)
