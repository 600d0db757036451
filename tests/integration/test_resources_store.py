"""The store as a whole: school quotas, readiness, and the operator's `exchange store gc`
and `exchange store verify`, run as commands against the app's database and store."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from exchange.app import create_app
from exchange.blobstore import new_blob_key
from exchange.config import Settings
from exchange.models import ResourceVersion
from tests.actors import SchoolFactory
from tests.blobstore_fixtures import s3_client_for
from tests.live_server import free_port
from tests.problems import assert_problem
from tests.resource_fixtures import (
    StoreUnderTest,
    StreamingClient,
    database,
    run_store_command,
    storage_used,
    upload,
    upload_version,
)
from tests.sample_files import pdf_of_size, text

# On SQLite and PostgreSQL: quotas are counted and enforced in SQL.
pytestmark = pytest.mark.every_database

QUOTA = 100_000


@pytest.fixture
def settings(settings: Settings, store: StoreUnderTest) -> Settings:
    return replace(store.apply(settings), school_quota_bytes=QUOTA)


# --- quotas -------------------------------------------------------------------------------


async def test_an_upload_past_the_schools_quota_is_refused_with_what_is_used(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    first = await upload(school.admin, pdf_of_size(60_000))
    assert first.status_code == 201, first.text

    refused = await upload(school.admin, pdf_of_size(60_000))

    body = assert_problem(refused, 507)
    assert "58.6 kB of its 97.7 kB" in body["detail"]  # 60,000 of 100,000 bytes, in kB
    assert (body["used_bytes"], body["limit_bytes"]) == (60_000, QUOTA)
    assert len(store.stored_keys()) == 1
    assert await storage_used(settings, school.id) == 60_000


async def test_deleting_makes_room_again(schools: SchoolFactory, settings: Settings) -> None:
    school = await schools.create()
    first = (await upload(school.admin, pdf_of_size(60_000))).json()
    await school.admin.delete(f"/api/resources/{first['id']}")

    again = await upload(school.admin, pdf_of_size(60_000))

    assert again.status_code == 201, again.text
    assert await storage_used(settings, school.id) == 60_000


async def test_versions_count_against_the_quota(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    resource_id = (await upload(school.admin, pdf_of_size(60_000))).json()["id"]

    refused = await upload_version(school.admin, resource_id, pdf_of_size(50_000))
    fits = await upload_version(school.admin, resource_id, text("small\n"), filename="v.txt")

    assert_problem(refused, 507)
    assert fits.status_code == 201
    assert len(store.stored_keys()) == 2


async def test_a_full_school_is_refused_before_its_file_is_read(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()
    assert (await upload(school.admin, pdf_of_size(QUOTA))).status_code == 201

    refused = await upload(school.admin, text("one more line\n"), filename="a.txt")

    assert "storage is full" in assert_problem(refused, 507)["detail"]
    assert len(store.stored_keys()) == 1


async def test_an_announced_length_past_the_quota_is_refused_before_reading(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    streaming_client: StreamingClient,
) -> None:
    school = await schools.create()
    reads = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal reads
        reads += 1
        yield b"x" * 1024

    announced = QUOTA + settings.max_json_body_bytes + 1
    async with streaming_client() as http:
        response = await http.post(
            "/api/resources",
            content=body(),
            headers={
                **school.admin.headers,
                "Content-Type": "multipart/form-data; boundary=b",
                "Content-Length": str(announced),
            },
        )

    assert_problem(response, 507)
    assert reads == 0
    assert store.contents() == []


async def test_uploads_racing_for_the_last_space_cannot_both_win(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest
) -> None:
    school = await schools.create()

    responses = await asyncio.gather(*(upload(school.admin, pdf_of_size(60_000)) for _ in range(3)))

    assert sorted(r.status_code for r in responses) == [201, 507, 507]
    assert await storage_used(settings, school.id) == 60_000
    assert len(store.stored_keys()) == 1


async def test_quotas_are_per_school(schools: SchoolFactory, settings: Settings) -> None:
    one = await schools.create()
    other = await schools.create()
    assert (await upload(one.admin, pdf_of_size(QUOTA))).status_code == 201

    response = await upload(other.admin, pdf_of_size(60_000))

    assert response.status_code == 201


# --- readiness ----------------------------------------------------------------------------


async def test_ready_when_the_store_answers(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "store": "ok"}


@pytest.fixture
async def app_with_a_dead_store(
    settings: Settings, aws_test_credentials: None
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    dead = replace(
        settings,
        storage_url="s3://nowhere/files",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
    )
    async with AsyncTestClient(app=create_app(dead)) as client:
        yield client


@pytest.mark.parametrize("store", ["file"], indirect=True)
async def test_not_ready_when_the_store_is_down(
    app_with_a_dead_store: AsyncTestClient[Litestar],
) -> None:
    started = time.monotonic()

    response = await app_with_a_dead_store.get("/health/ready")

    body = assert_problem(response, 503)
    assert body["checks"] == {"database": "ok", "store": "unavailable"}
    assert time.monotonic() - started < 15


# --- exchange store gc / verify -----------------------------------------------------------


async def put_orphan(store: StoreUnderTest, content: bytes = b"left behind") -> str:
    key = new_blob_key()
    blob_store = store.open()

    async def chunks() -> AsyncIterator[bytes]:
        yield content

    try:
        await blob_store.put(key, chunks())
    finally:
        await blob_store.close()
    return key


def leave_an_interrupted_write(store: StoreUnderTest) -> None:
    """What a crash mid-upload leaves: a temporary file, or an unfinished multipart upload."""
    if store.kind == "file":
        root = Path(store.url.removeprefix("file://"))
        folder = root / "ab" / "cd"
        folder.mkdir(parents=True, exist_ok=True)
        leftover = folder / ".upload-interrupted"
        leftover.write_bytes(b"half a file")
        an_hour_ago = time.time() - 3600
        os.utime(leftover, (an_hour_ago, an_hour_ago))
        return
    assert store.moto and store.bucket
    s3_client_for(store.moto.url).create_multipart_upload(
        Bucket=store.bucket, Key=f"exchange/files/{new_blob_key()}"
    )


@pytest.mark.slow
async def test_gc_removes_only_old_files_no_row_points_at(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest, tmp_path: Path
) -> None:
    school = await schools.create()
    kept = (await upload(school.admin)).json()
    orphan = await put_orphan(store)
    before = store.contents()
    assert len(before) == 2
    referenced = [key for key in before if key != orphan]

    young_code, young_out = run_store_command(settings, store, tmp_path, "gc")
    dry_code, dry_out = run_store_command(
        settings, store, tmp_path, "gc", "--grace-hours", "0", "--dry-run"
    )
    assert (young_code, dry_code) == (0, 0)
    assert store.contents() == before
    assert "0 orphaned files removed" in young_out
    assert f"would remove {orphan}" in dry_out
    # Made only now: moto dates every multipart upload to 2010, so it would look old
    # to the default grace period above.
    leave_an_interrupted_write(store)

    code, out = run_store_command(settings, store, tmp_path, "gc", "--grace-hours", "0")

    assert code == 0, out
    assert f"removed {orphan}" in out
    assert "1 leftover of interrupted uploads cleared" in out
    assert store.contents() == referenced
    downloaded = await school.admin.get(f"/api/resources/{kept['id']}/content")
    assert downloaded.status_code == 200


@pytest.mark.slow
async def test_verify_reports_missing_and_changed_files(
    schools: SchoolFactory, settings: Settings, store: StoreUnderTest, tmp_path: Path
) -> None:
    school = await schools.create()
    first = (await upload(school.admin, title="First")).json()
    second = (await upload(school.admin, text("second\n"), filename="s.txt")).json()
    code, out = run_store_command(settings, store, tmp_path, "verify")
    assert code == 0, out
    assert "All 2 stored versions are intact" in out

    keys = store.stored_keys()
    async with database(settings) as session:
        key_of = {
            str(resource_id): key
            for resource_id, key in await session.execute(
                select(ResourceVersion.resource_id, ResourceVersion.blob_key)
            )
        }
    assert sorted(key_of.values()) == sorted(keys)
    blob_store = store.open()
    try:
        await blob_store.delete(key_of[first["id"]])

        async def tampered() -> AsyncIterator[bytes]:
            yield b"second, changed behind the exchange's back\n"

        await blob_store.put(key_of[second["id"]], tampered())
    finally:
        await blob_store.close()

    code, out = run_store_command(settings, store, tmp_path, "verify")

    assert code == 1, out
    assert f"file missing: resource {first['id']} version 1" in out
    assert f"size differs: resource {second['id']} version 1" in out
    assert "2 of 2 stored versions are missing or damaged" in out
