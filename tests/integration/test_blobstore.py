"""The blob store contract, on the folder store and on S3 over HTTP (a real moto server)."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import stat
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from exchange.blobstore import (
    BlobNotFound,
    BlobStore,
    BlobStream,
    LocalBlobStore,
    new_blob_key,
    open_blob_store,
)
from exchange.blobstore.contract import DEFAULT_READ_CHUNK_BYTES
from exchange.blobstore.local import TEMP_PREFIX
from exchange.blobstore.s3 import S3BlobStore
from exchange.errors import StoreUnavailable
from tests.blobstore_fixtures import (
    S3_TEST_PART_BYTES,
    MotoEndpoint,
    new_bucket,
    s3_client_for,
)

Leftovers = Callable[[BlobStore], list[str]]
CHUNK = 64 * 1024


class Interrupted(Exception):
    """What a failing upload stream raises (a client gone, an inspector refusing)."""


async def chunks_of(data: bytes, size: int = CHUNK) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def failing_after(data: bytes, fail_at: int) -> AsyncIterator[bytes]:
    async for chunk in chunks_of(data[:fail_at]):
        yield chunk
    raise Interrupted


async def read_all(stream: BlobStream) -> bytes:
    async with stream:
        return b"".join([chunk async for chunk in stream])


# ---------------------------------------------------------------------------- contract


async def test_a_stored_blob_reads_back_byte_for_byte(blob_store: BlobStore) -> None:
    data = os.urandom(300_000)
    key = new_blob_key()

    written = await blob_store.put(key, chunks_of(data))

    assert written == len(data)
    assert await blob_store.exists(key)
    assert await blob_store.size(key) == len(data)
    assert await read_all(await blob_store.open_range(key)) == data


async def test_an_empty_blob_is_stored_and_read(blob_store: BlobStore) -> None:
    key = new_blob_key()

    assert await blob_store.put(key, chunks_of(b"")) == 0

    assert await blob_store.size(key) == 0
    assert await read_all(await blob_store.open_range(key)) == b""


async def test_a_large_blob_goes_up_in_parts_as_it_streams(blob_store: BlobStore) -> None:
    data = os.urandom(2 * S3_TEST_PART_BYTES + 1_500_000)  # three parts on S3
    key = new_blob_key()

    assert await blob_store.put(key, chunks_of(data)) == len(data)

    stream = await blob_store.open_range(key)
    assert hashlib.sha256(await read_all(stream)).digest() == hashlib.sha256(data).digest()
    if isinstance(blob_store, S3BlobStore):
        head = s3_client_for(str(blob_store.endpoint_url)).head_object(
            Bucket=blob_store.bucket, Key=f"{blob_store.prefix}/{key}"
        )
        assert head["ETag"].endswith('-3"')  # S3's mark of a three-part upload


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 0, slice(0, 1)),
        (10, 19, slice(10, 20)),
        (1000, None, slice(1000, None)),
        (299_990, 400_000, slice(299_990, None)),  # end past the blob is clamped
        (65_530, 200_000, slice(65_530, 200_001)),  # across read chunks
        (299_999, 299_999, slice(299_999, 300_000)),
    ],
)
async def test_a_range_reads_exactly_its_bytes(
    blob_store: BlobStore, start: int, end: int | None, expected: slice
) -> None:
    data = os.urandom(300_000)
    key = new_blob_key()
    await blob_store.put(key, chunks_of(data))

    stream = await blob_store.open_range(key, start, end)

    assert stream.length == len(data[expected])
    assert await read_all(stream) == data[expected]


async def test_a_range_is_streamed_in_bounded_chunks(blob_store: BlobStore) -> None:
    key = new_blob_key()
    size = 3 * DEFAULT_READ_CHUNK_BYTES + 1000
    data = os.urandom(size)
    await blob_store.put(key, chunks_of(data))

    chunks = [chunk async for chunk in await blob_store.open_range(key)]

    assert b"".join(chunks) == data
    assert len(chunks) > 1 and max(map(len, chunks)) <= DEFAULT_READ_CHUNK_BYTES


async def test_a_stream_closed_while_reading_ahead_closes_its_source(
    blob_store: BlobStore,
) -> None:
    key = new_blob_key()
    data = os.urandom(3 * DEFAULT_READ_CHUNK_BYTES)
    await blob_store.put(key, chunks_of(data))

    stream = await blob_store.open_range(key)
    first = await anext(stream)
    await stream.aclose()

    assert first == data[:DEFAULT_READ_CHUNK_BYTES]
    assert [chunk async for chunk in stream] == []
    await blob_store.delete(key)  # nothing holds the file any more
    assert not await blob_store.exists(key)


async def test_a_range_starting_past_the_end_is_refused(blob_store: BlobStore) -> None:
    key = new_blob_key()
    await blob_store.put(key, chunks_of(b"0123456789"))

    with pytest.raises(ValueError):
        await blob_store.open_range(key, 10, 20)


@pytest.mark.parametrize("fail_at", [100_000, 2 * S3_TEST_PART_BYTES + 10])
async def test_an_upload_that_fails_midway_leaves_nothing(
    blob_store: BlobStore, leftovers: Leftovers, fail_at: int
) -> None:
    key = new_blob_key()

    with pytest.raises(Interrupted):
        await blob_store.put(key, failing_after(os.urandom(fail_at + 1000), fail_at))

    assert not await blob_store.exists(key)
    assert leftovers(blob_store) == []


async def test_a_cancelled_upload_leaves_nothing(
    blob_store: BlobStore, leftovers: Leftovers
) -> None:
    key = new_blob_key()
    six_mib_sent = asyncio.Event()

    async def stalls_after_a_part() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(os.urandom(S3_TEST_PART_BYTES + 1024 * 1024)):
            yield chunk
        six_mib_sent.set()
        await asyncio.sleep(3600)

    upload = asyncio.create_task(blob_store.put(key, stalls_after_a_part()))
    await asyncio.wait_for(six_mib_sent.wait(), 30)
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload

    assert not await blob_store.exists(key)
    assert leftovers(blob_store) == []


async def test_an_upload_cancelled_while_a_write_is_in_flight_leaves_nothing(
    blob_store: BlobStore, leftovers: Leftovers
) -> None:
    key = new_blob_key()
    data = os.urandom(S3_TEST_PART_BYTES)
    upload: asyncio.Task[int] | None = None

    async def cancelled_as_the_first_part_goes_up() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(data[:-CHUNK]):
            yield chunk
        assert upload is not None
        # Runs once put() awaits the write this last chunk triggers (S3: the first part,
        # folder: a write batch), so the cancellation lands while that call is running.
        asyncio.get_running_loop().call_soon(upload.cancel)
        yield data[-CHUNK:]
        await asyncio.sleep(3600)

    upload = asyncio.create_task(blob_store.put(key, cancelled_as_the_first_part_goes_up()))
    with pytest.raises(asyncio.CancelledError):
        await upload

    assert leftovers(blob_store) == []


async def test_a_blob_appears_only_once_complete(blob_store: BlobStore) -> None:
    key = new_blob_key()
    seen_midway: list[bool] = []

    async def observed() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(os.urandom(6 * 1024 * 1024)):
            yield chunk
        seen_midway.append(await blob_store.exists(key))

    await blob_store.put(key, observed())

    assert seen_midway == [False]
    assert await blob_store.exists(key)


async def test_delete_removes_the_blob_and_may_be_repeated(blob_store: BlobStore) -> None:
    key = new_blob_key()
    await blob_store.put(key, chunks_of(b"lesson"))

    await blob_store.delete(key)
    await blob_store.delete(key)

    assert not await blob_store.exists(key)
    assert await blob_store.size(key) is None


async def test_opening_a_missing_blob_fails_before_any_byte(blob_store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        await blob_store.open_range(new_blob_key())


async def test_listing_gives_every_key_with_its_time_and_nothing_foreign(
    blob_store: BlobStore,
) -> None:
    keys = {new_blob_key() for _ in range(3)}
    before = datetime.now(UTC) - timedelta(minutes=5)
    for key in keys:
        await blob_store.put(key, chunks_of(b"x"))
    await _put_foreign_file(blob_store)

    listed = {key: modified async for key, modified in blob_store.iter_keys()}

    assert set(listed) == keys
    assert all(
        before < modified <= datetime.now(UTC) + timedelta(minutes=5)
        for modified in listed.values()
    )


async def _put_foreign_file(store: BlobStore) -> None:
    """Something the exchange did not write, that gc must never see."""
    if isinstance(store, LocalBlobStore):
        (store.root / "README").write_text("not a blob")
        (store.root / "ab").mkdir(exist_ok=True)
        (store.root / "ab" / "notes.txt").write_text("not a blob")
    else:
        assert isinstance(store, S3BlobStore)
        client = s3_client_for(str(store.endpoint_url))
        client.put_object(Bucket=store.bucket, Key="elsewhere/ab/cd/" + "0" * 32, Body=b"x")
        client.put_object(Bucket=store.bucket, Key=f"{store.prefix}/README", Body=b"x")


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "ab/cd/../../x", "/abs", "ab/cd/EF" + "0" * 30, ""]
)
async def test_keys_not_made_by_the_exchange_are_refused(blob_store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await blob_store.put(key, chunks_of(b"x"))
    with pytest.raises(ValueError):
        await blob_store.open_range(key)
    with pytest.raises(ValueError):
        await blob_store.delete(key)


async def test_a_reachable_store_passes_its_readiness_check_and_keeps_what_it_holds(
    blob_store: BlobStore, leftovers: Leftovers
) -> None:
    key = new_blob_key()
    await blob_store.put(key, chunks_of(b"lesson"))
    held = leftovers(blob_store)

    await blob_store.check()

    # The probe (a file written and removed, or a look at the bucket) leaves no trace.
    assert leftovers(blob_store) == held
    assert len(held) == 1 and held[0].endswith(key)
    assert await read_all(await blob_store.open_range(key)) == b"lesson"


def test_new_keys_are_random_and_free_of_user_text() -> None:
    keys = {new_blob_key() for _ in range(1000)}

    assert len(keys) == 1000
    for key in keys:
        first, second, name = key.split("/")
        assert len(name) == 32 and name.startswith(first + second)
        int(name, 16)


# ---------------------------------------------------------------------------- the folder store


async def test_stored_files_and_folders_are_private_to_the_service(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = new_blob_key()
    await store.put(key, chunks_of(b"confidential policy"))

    path = store.root / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    await store.close()


async def test_the_folder_store_writes_a_large_file_in_bounded_memory(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    chunk = os.urandom(CHUNK)

    async def forty_mib() -> AsyncIterator[bytes]:
        for _ in range(640):
            yield bytes(bytearray(chunk))  # a fresh object each time, as off a socket

    tracemalloc.start()
    try:
        written = await store.put(new_blob_key(), forty_mib())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await store.close()

    assert written == 40 * 1024 * 1024
    assert peak < 4 * 1024 * 1024


async def test_temporary_files_left_by_a_crash_are_cleared(
    tmp_path: Path, leftovers: Leftovers
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    key = new_blob_key()
    await store.put(key, chunks_of(b"kept"))
    folder = (store.root / key).parent
    stale = folder / f"{TEMP_PREFIX}crashed"
    stale.write_bytes(b"half a file")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    young = folder / f"{TEMP_PREFIX}crashed-just-now"
    young.write_bytes(b"the other half")
    in_progress = folder / f"{TEMP_PREFIX}in-progress"
    in_progress.write_bytes(b"being written now")
    # Its writer, alive, holds the lock on it (as another instance's upload would).
    with in_progress.open("rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)

        removed = await store.clear_incomplete(datetime.now(UTC) - timedelta(minutes=10))

    # Nobody held the two left by a crash: both go, the young one too.
    assert removed == 2
    assert leftovers(store) == sorted([key, f"{key.rsplit('/', 1)[0]}/{TEMP_PREFIX}in-progress"])
    await store.close()


async def test_an_unwritable_folder_fails_the_readiness_check(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    store = LocalBlobStore(blocked)

    with pytest.raises(StoreUnavailable):
        await store.check()
    with pytest.raises(StoreUnavailable):
        await store.put(new_blob_key(), chunks_of(b"x"))
    await store.close()


async def test_the_folder_store_offers_no_presigned_url(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    url = await store.presigned_get_url(
        new_blob_key(), filename="a.pdf", media_type="application/pdf", expires_seconds=60
    )

    assert url is None
    await store.close()


# ---------------------------------------------------------------------------- the S3 store


async def test_a_presigned_url_downloads_the_blob_with_its_name_and_type(
    moto_endpoint: MotoEndpoint, s3_bucket: str
) -> None:
    store = S3BlobStore(s3_bucket, "p", endpoint_url=moto_endpoint.url)
    key = new_blob_key()
    data = os.urandom(10_000)
    await store.put(key, chunks_of(data))

    url = await store.presigned_get_url(
        key, filename="Сабак планы.pdf", media_type="application/pdf", expires_seconds=60
    )
    assert url is not None
    async with httpx.AsyncClient() as client:
        response = await client.get(url)

    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        'attachment; filename="file.pdf"; '
        "filename*=UTF-8''%D0%A1%D0%B0%D0%B1%D0%B0%D0%BA%20%D0%BF%D0%BB%D0%B0%D0%BD%D1%8B.pdf"
    )
    await store.close()


async def test_a_stopped_endpoint_is_reported_unavailable_within_seconds(
    aws_test_credentials: None,
) -> None:
    endpoint = MotoEndpoint()
    bucket = new_bucket(endpoint.url)
    store = S3BlobStore(bucket, endpoint_url=endpoint.url)
    key = new_blob_key()
    await store.put(key, chunks_of(b"stored before the outage"))
    endpoint.stop()

    started = time.monotonic()
    for attempt in (
        store.check(),
        store.put(new_blob_key(), chunks_of(b"x")),
        store.open_range(key),
        store.size(key),
        store.delete(key),
    ):
        with pytest.raises(StoreUnavailable):
            await attempt

    assert time.monotonic() - started < 10
    await store.close()


async def test_an_outage_mid_upload_is_cleared_once_the_store_is_back(
    aws_test_credentials: None,
) -> None:
    endpoint = MotoEndpoint()
    bucket = new_bucket(endpoint.url)
    store = S3BlobStore(bucket, "p", endpoint_url=endpoint.url, part_bytes=S3_TEST_PART_BYTES)
    key = new_blob_key()

    async def outage_after_a_part() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(os.urandom(S3_TEST_PART_BYTES + CHUNK)):
            yield chunk
        endpoint.stop()  # the first part is up; the rest and the abort will fail
        yield os.urandom(S3_TEST_PART_BYTES)

    with pytest.raises(StoreUnavailable):
        await store.put(key, outage_after_a_part())

    endpoint.start_again()
    client = s3_client_for(endpoint.url)
    assert len(client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])) == 1

    assert await store.clear_incomplete(datetime.now(UTC)) == 1

    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not await store.exists(key)
    endpoint.stop()
    await store.close()


# ---------------------------------------------------------------------------- choosing


def test_the_storage_url_chooses_the_backend(tmp_path: Path, aws_test_credentials: None) -> None:
    local = open_blob_store(f"file://{tmp_path}/blobs")
    relative = open_blob_store("file:storage")
    s3 = open_blob_store("s3://school-files/exchange/prod", s3_endpoint_url="http://127.0.0.1:9")

    assert isinstance(local, LocalBlobStore) and local.root == tmp_path / "blobs"
    assert isinstance(relative, LocalBlobStore) and relative.root == Path("storage")
    assert isinstance(s3, S3BlobStore)
    assert (s3.bucket, s3.prefix) == ("school-files", "exchange/prod")


@pytest.mark.parametrize("url", ["ftp://host/x", "s3://", "file://", "/just/a/path"])
def test_an_unknown_storage_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        open_blob_store(url)
