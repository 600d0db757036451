"""Previews through the API: each uploaded version's small image is made by a job, kept
in the store next to the file (a folder, or S3), served under the file's read rule with
an ETag and caching, audited for confidential resources, removed with the resource and
kept by `store gc`; hostile images end as `none` without harming the worker.

Files are uploaded through the API; jobs run when the test says so, as a worker would.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from click.testing import CliRunner
from litestar import Litestar
from PIL import Image
from sqlalchemy import select, update

from exchange.cli import main
from exchange.config import Settings
from exchange.models import ResourceVersion
from exchange.resources.storekeeping import collect_garbage
from tests.actors import SchoolFactory, SchoolHandle
from tests.background import run_previews
from tests.clock import ManualClock
from tests.media_files import photo, png_bomb, video, wav
from tests.partnering import partners
from tests.problems import assert_problem
from tests.resource_fixtures import (
    StoreUnderTest,
    audit_actions,
    database,
    server_env,
    upload,
    upload_version,
)
from tests.sample_files import pdf, text

# On SQLite and PostgreSQL: the preview's state is written by the job in SQL.
pytestmark = pytest.mark.every_database

MAX_BYTES = 20 * 1024


@pytest.fixture
def settings(settings: Settings, store: StoreUnderTest) -> Settings:
    return store.apply(settings)


@pytest.fixture
async def pair(schools: SchoolFactory) -> tuple[SchoolHandle, SchoolHandle]:
    home = await schools.create("Home school")
    partner = await schools.create("Partner school")
    await partners(home, partner)
    return home, partner


async def shared(actor: Any, content: bytes, filename: str, media_type: str, **fields: Any) -> str:
    response = await upload(actor, content, filename=filename, media_type=media_type, **fields)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def decoded(response: Any) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    assert len(response.content) <= MAX_BYTES
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == "WEBP"
    return image


async def test_a_pdf_gets_its_first_page_as_a_preview_with_its_page_count(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle], store: StoreUnderTest
) -> None:
    home, partner = pair
    resource_id = await shared(partner.admin, pdf(pages=3), "plan.pdf", "application/pdf")

    pending = (await home.admin.get(f"/api/resources/{resource_id}")).json()
    assert (pending["preview"], pending["pages"]) == ("pending", None)
    assert pending["current_version"]["preview"] == "pending"
    waiting = await home.admin.get(
        f"/api/resources/{resource_id}/preview", headers={"Accept-Language": "ru"}
    )
    assert "предпросмотр" in assert_problem(waiting, 404)["detail"].lower()

    assert await run_previews(app) == 1

    body = (await home.admin.get(f"/api/resources/{resource_id}")).json()
    assert (body["preview"], body["pages"], body["duration_seconds"]) == ("ready", 3, None)
    image = decoded(await home.admin.get(f"/api/resources/{resource_id}/preview"))
    # An A4 page, portrait, at most 320 pixels high.
    assert image.height == 320 and 220 <= image.width <= 230
    assert len(store.stored_keys()) == 2  # the file and its preview


async def test_a_photo_is_shrunk_until_it_fits_and_cached_by_its_etag(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    resource_id = await shared(partner.admin, photo(), "class.jpg", "image/jpeg")
    assert await run_previews(app) == 1

    current = await home.admin.get(f"/api/resources/{resource_id}/preview")
    image = decoded(current)
    assert max(image.size) <= 320 and image.width / image.height == pytest.approx(4 / 3, 0.02)
    etag = current.headers["etag"]
    assert etag.startswith('"') and current.headers["cache-control"] == "private, max-age=300"
    assert current.headers["x-content-type-options"] == "nosniff"

    version = await home.admin.get(f"/api/resources/{resource_id}/versions/1/preview")
    assert version.content == current.content and version.headers["etag"] == etag
    assert version.headers["cache-control"] == "private, max-age=31536000, immutable"

    again = await home.admin.get(
        f"/api/resources/{resource_id}/versions/1/preview", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag


async def test_each_version_has_its_own_preview_and_the_job_runs_once(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle], settings: Settings
) -> None:
    home, partner = pair
    resource_id = await shared(partner.admin, pdf(pages=1), "plan.pdf", "application/pdf")
    added = await upload_version(partner.admin, resource_id, pdf(pages=2))
    assert added.status_code == 201, added.text
    assert added.json()["preview"] == "pending"

    assert await run_previews(app) == 2
    assert await run_previews(app) == 0

    versions = (await home.admin.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert [(v["number"], v["preview"], v["pages"]) for v in versions] == [
        (2, "ready", 2),
        (1, "ready", 1),
    ]
    first = await home.admin.get(f"/api/resources/{resource_id}/versions/1/preview")
    second = await home.admin.get(f"/api/resources/{resource_id}/preview")
    decoded(first), decoded(second)
    async with database(settings) as session:
        keys = list(
            await session.scalars(
                select(ResourceVersion.preview_blob_key).order_by(ResourceVersion.number)
            )
        )
    assert len(set(keys)) == 2 and None not in keys


async def test_a_video_gets_a_poster_frame_and_a_recording_its_duration(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    lesson = await shared(partner.admin, video(seconds=4), "lesson.mp4", "video/mp4")
    song = await shared(partner.admin, wav(2.5), "song.wav", "audio/wav")
    notes = await shared(partner.admin, text("Үй тапшырма: 12-бет.\n"), "notes.txt", "text/plain")

    assert await run_previews(app) == 3

    video_body = (await home.admin.get(f"/api/resources/{lesson}")).json()
    assert video_body["preview"] == "ready"
    assert video_body["duration_seconds"] == pytest.approx(4.0, abs=0.15)
    assert decoded(await home.admin.get(f"/api/resources/{lesson}/preview")).size == (160, 120)
    song_body = (await home.admin.get(f"/api/resources/{song}")).json()
    assert (song_body["preview"], song_body["duration_seconds"]) == ("none", 2.5)
    assert_problem(await home.admin.get(f"/api/resources/{song}/preview"), 404)
    decoded(await home.admin.get(f"/api/resources/{notes}/preview"))


@pytest.mark.parametrize(
    ("content", "filename", "media_type"),
    [
        (png_bomb(), "bomb.png", "image/png"),
        (photo((800, 600))[:20_000], "cut.jpg", "image/jpeg"),
    ],
    ids=["decompression-bomb", "truncated"],
)
async def test_a_hostile_image_has_no_preview_and_the_worker_goes_on(
    app: Litestar,
    pair: tuple[SchoolHandle, SchoolHandle],
    store: StoreUnderTest,
    content: bytes,
    filename: str,
    media_type: str,
) -> None:
    home, partner = pair
    hostile = await shared(partner.admin, content, filename, media_type)
    honest = await shared(partner.admin, pdf(), "plan.pdf", "application/pdf")

    assert await run_previews(app) == 2

    body = (await home.admin.get(f"/api/resources/{hostile}")).json()
    assert (body["preview"], body["pages"]) == ("none", None)
    refused = await home.admin.get(
        f"/api/resources/{hostile}/preview", headers={"Accept-Language": "ky"}
    )
    assert "алдын ала" in assert_problem(refused, 404)["detail"].lower()
    decoded(await home.admin.get(f"/api/resources/{honest}/preview"))
    assert len(store.stored_keys()) == 3  # two files, one preview


async def test_a_strangers_look_at_a_preview_is_the_same_404_as_at_nothing(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle], schools: SchoolFactory
) -> None:
    _home, partner = pair
    stranger = await schools.create("Stranger school")
    resource_id = await shared(partner.admin, photo((400, 300)), "a.jpg", "image/jpeg")
    await run_previews(app)

    for path in ("preview", "versions/1/preview"):
        seen = assert_problem(await stranger.admin.get(f"/api/resources/{resource_id}/{path}"), 404)
        nothing = assert_problem(await stranger.admin.get(f"/api/resources/{uuid4()}/{path}"), 404)
        assert (seen["title"], seen["detail"]) == (nothing["title"], nothing["detail"])


async def test_another_schools_look_at_a_confidential_preview_is_audited_and_not_cached(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle], settings: Settings
) -> None:
    home, partner = pair
    resource_id = await shared(
        partner.admin, photo((400, 300)), "a.jpg", "image/jpeg", confidential="true"
    )
    not_yet = await home.admin.get(f"/api/resources/{resource_id}/preview")
    assert_problem(not_yet, 404)  # nothing shown, nothing read
    await run_previews(app)

    own = await partner.admin.get(f"/api/resources/{resource_id}/preview")
    seen = await home.admin.get(f"/api/resources/{resource_id}/versions/1/preview")

    decoded(own), decoded(seen)
    assert seen.headers["cache-control"] == "no-store"
    reads = [
        (event.details["what"], event.other_school_id)
        for event in await audit_actions(settings, resource_id)
        if event.action == "resource.read"
    ]
    assert reads == [("preview", home.id)]


async def test_deleting_a_resource_removes_its_previews_and_gc_keeps_them_while_it_lives(
    app: Litestar,
    pair: tuple[SchoolHandle, SchoolHandle],
    store: StoreUnderTest,
    settings: Settings,
    clock: ManualClock,
) -> None:
    _home, partner = pair
    kept = await shared(partner.admin, pdf(), "kept.pdf", "application/pdf")
    gone = await shared(partner.admin, pdf(), "gone.pdf", "application/pdf")
    await run_previews(app)
    assert len(store.stored_keys()) == 4

    blob_store = store.open()
    try:
        report = await collect_garbage(
            blob_store,
            lambda: database(settings),
            now=clock.now() + timedelta(days=30),
            grace=timedelta(hours=1),
        )
    finally:
        await blob_store.close()
    assert report.orphans == [] and report.referenced == 4

    deleted = await partner.admin.delete(f"/api/resources/{gone}")
    assert deleted.status_code == 204
    assert len(store.stored_keys()) == 2
    decoded(await partner.admin.get(f"/api/resources/{kept}/preview"))


async def test_a_version_deleted_before_its_job_ran_leaves_no_preview_behind(
    app: Litestar, pair: tuple[SchoolHandle, SchoolHandle], store: StoreUnderTest
) -> None:
    _home, partner = pair
    resource_id = await shared(partner.admin, pdf(), "plan.pdf", "application/pdf")
    await partner.admin.delete(f"/api/resources/{resource_id}")

    assert await run_previews(app) == 1

    assert store.stored_keys() == []


async def store_previews(settings: Settings, store: StoreUnderTest) -> tuple[int, str]:
    """`exchange store previews` as an operator runs it, on the test's database and store."""
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["store", "previews"], env=server_env(settings, store)
    )
    return result.exit_code, result.stderr


async def test_versions_without_a_preview_get_one_queued_by_the_store_command(
    app: Litestar,
    pair: tuple[SchoolHandle, SchoolHandle],
    settings: Settings,
    store: StoreUnderTest,
    clock: ManualClock,
) -> None:
    home, partner = pair
    older = await shared(partner.admin, pdf(pages=2), "older.pdf", "application/pdf")
    assert await run_previews(app) == 1
    async with database(settings) as session:
        # As a version uploaded before previews existed is left by the migration.
        await session.execute(
            update(ResourceVersion)
            .where(ResourceVersion.resource_id == UUID(older))
            .values(preview_state="none", preview_blob_key=None, preview_etag=None, pages=None)
        )
        await session.commit()

    code, output = await store_previews(settings, store)

    assert code == 0, output
    assert "1 preview queued" in output
    assert (await home.admin.get(f"/api/resources/{older}")).json()["preview"] == "pending"
    # The command queued the job at this machine's time, which the test's clock reaches.
    clock.set(max(clock.now(), datetime.now(UTC)) + timedelta(seconds=1))
    assert await run_previews(app) == 1
    body = (await home.admin.get(f"/api/resources/{older}")).json()
    assert (body["preview"], body["pages"]) == ("ready", 2)
    code, output = await store_previews(settings, store)
    assert "0 previews queued" in output


async def test_a_file_missing_from_the_store_has_no_preview(
    app: Litestar,
    pair: tuple[SchoolHandle, SchoolHandle],
    settings: Settings,
    store: StoreUnderTest,
) -> None:
    home, partner = pair
    resource_id = await shared(partner.admin, pdf(), "plan.pdf", "application/pdf")
    async with database(settings) as session:
        key = await session.scalar(
            select(ResourceVersion.blob_key).where(ResourceVersion.resource_id == UUID(resource_id))
        )
    blob_store = store.open()
    try:
        await blob_store.delete(str(key))
    finally:
        await blob_store.close()

    assert await run_previews(app) == 1

    assert (await home.admin.get(f"/api/resources/{resource_id}")).json()["preview"] == "none"
