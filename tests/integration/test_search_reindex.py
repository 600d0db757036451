"""`exchange search reindex`: index rows rebuilt from what the database holds, for every
resource, one school's or one, a batch per transaction, as often as it is run; with
`--extract`, text extraction queued again where it failed or never finished.

Resources are uploaded through the API and their text extracted by the job; the index is
then emptied behind the exchange's back (as a restored backup without it would be) and
the command, run as an operator runs it, must bring search back.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner
from litestar import Litestar
from sqlalchemy import delete, select, text, update

from exchange.cli import main
from exchange.config import Settings
from exchange.models import Job, SearchDocument, SearchText
from tests.actors import Actor, SchoolFactory, SchoolHandle
from tests.background import run_text_extraction
from tests.clock import ManualClock
from tests.partnering import partners
from tests.resource_fixtures import database, upload, upload_version
from tests.sample_files import docx_of
from tests.searching import search, title_set
from tests.settings import settings_env

# On SQLite and PostgreSQL: the search index is built differently on each database.
pytestmark = pytest.mark.every_database

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def share(actor: Actor, title: str, *paragraphs: str, **fields: Any) -> UUID:
    response = await upload(
        actor,
        docx_of(*paragraphs),
        filename="plan.docx",
        media_type=DOCX,
        title=title,
        **fields,
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


async def reindex(settings: Settings, *args: str) -> tuple[int, dict[str, int] | None, str]:
    """The command as an operator runs it, on the test's database."""
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["search", "reindex", *args], env=settings_env(settings)
    )
    summary = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, summary, result.stderr


async def empty_the_index(settings: Settings, *resource_ids: UUID) -> None:
    """Index rows that say nothing (all of them, or these resources'), as after
    restoring a backup that left the index out."""
    async with database(settings) as session:
        query = select(SearchDocument.id)
        if resource_ids:
            query = query.where(SearchDocument.resource_id.in_(resource_ids))
        ids = list(await session.scalars(query))
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                update(SearchDocument)
                .where(SearchDocument.id.in_(ids))
                .values(authors_text="")
                .execution_options(synchronize_session=False)
            )
            await session.execute(
                text(
                    "UPDATE search_documents SET search_vector = ''::tsvector, "
                    "head_vector = ''::tsvector WHERE id = ANY(:ids)"
                ),
                {"ids": ids},
            )
        else:
            for row_id in ids:
                await session.execute(
                    text("DELETE FROM search_index WHERE rowid = :id"), {"id": row_id}
                )
        await session.commit()


@pytest.fixture
async def pair(schools: SchoolFactory) -> tuple[SchoolHandle, SchoolHandle]:
    home = await schools.create("Home school")
    partner = await schools.create("Partner school")
    await partners(home, partner)
    return home, partner


async def test_reindex_rebuilds_every_row_in_batches_and_again_to_the_same_result(
    app: Litestar, settings: Settings, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    await share(partner.admin, "Литература: эпос", "Эпос «Манас» изучают на уроках литературы.")
    await share(
        partner.admin,
        "Грамматика",
        "Контрольная работа для восьмиклассников.",
        co_authors="Гүлмира Токтосунова",
    )
    await share(partner.admin, "Ёлка", "Ёлка стоит во дворе школы.", subject="Математика")
    assert await run_text_extraction(app) == 3

    async def what_search_finds() -> list[set[str]]:
        return [
            title_set(await search(home.admin, q=query))
            for query in ("изучают", "гүлмира", "ЕЛКА", "математика", "director", "эпос")
        ]

    expected = [
        {"Литература: эпос"},
        {"Грамматика"},
        {"Ёлка"},
        {"Ёлка"},
        {"Литература: эпос", "Грамматика", "Ёлка"},
        {"Литература: эпос"},
    ]
    assert await what_search_finds() == expected
    await empty_the_index(settings)
    assert await what_search_finds() == [set()] * len(expected)

    code, summary, err = await reindex(settings, "--batch-size", "2")
    assert code == 0, err
    assert summary == {
        "reindexed": 3,
        "batches": 2,
        "stale_rows_removed": 0,
        "text_missing": 0,
        "extraction_queued": 0,
        "extraction_waiting": 0,
    }
    assert "3 resources reindexed in 2 batches" in err
    assert await what_search_finds() == expected

    code, again, err = await reindex(settings)
    assert code == 0, err
    assert again is not None and again["reindexed"] == 3 and again["batches"] == 1
    assert await what_search_finds() == expected
    # Extraction statuses are left as they were: the text is reused, not read again.
    for item in (await search(home.admin, q="director"))["items"]:
        assert item["extraction_status"] == "done"


async def test_reindex_of_one_school_or_one_resource_leaves_the_others_alone(
    app: Litestar,
    settings: Settings,
    schools: SchoolFactory,
    pair: tuple[SchoolHandle, SchoolHandle],
) -> None:
    home, partner = pair
    third = await schools.create("Third school")
    await partners(home, third)
    first = await share(partner.admin, "Первый план", "Оценивание учащихся.")
    second = await share(partner.admin, "Второй план", "Оценивание учащихся.")
    theirs = await share(third.admin, "Третий план", "Оценивание учащихся.")
    await run_text_extraction(app)
    await empty_the_index(settings)

    code, summary, err = await reindex(settings, "--resource", str(first))
    assert code == 0, err
    assert summary is not None and summary["reindexed"] == 1
    assert title_set(await search(home.admin, q="оценивание")) == {"Первый план"}

    code, summary, err = await reindex(settings, "--school", str(third.id))
    assert code == 0, err
    assert summary is not None and summary["reindexed"] == 1
    assert title_set(await search(home.admin, q="оценивание")) == {"Первый план", "Третий план"}

    code, summary, err = await reindex(settings, "--school", str(partner.id))
    assert code == 0, err
    assert summary is not None and summary["reindexed"] == 2
    assert len((await search(home.admin, q="оценивание"))["items"]) == 3
    assert second and theirs

    missing = "00000000-0000-7000-8000-000000000000"
    code, _, err = await reindex(settings, "--resource", missing)
    assert code == 1 and f"no resource {missing}" in err
    code, _, err = await reindex(settings, "--school", missing)
    assert code == 1 and f"no school {missing}" in err
    code, _, err = await reindex(settings, "--school", str(third.id), "--resource", str(first))
    assert code == 1 and "does not belong" in err
    code, _, err = await reindex(settings, "--resource", "not-an-id")
    assert code == 2 and "not-an-id" in err


async def test_reindex_extract_requeues_extraction_that_failed_or_never_finished(
    app: Litestar, settings: Settings, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    home, partner = pair
    failed = await share(partner.admin, "Failed", "Контрольная работа по грамматике.")
    lost = await share(partner.admin, "Lost", "Эпос «Манас» изучают на уроках.")
    assert await run_text_extraction(app) == 2
    waiting = await share(partner.admin, "Waiting", "Ёлка стоит во дворе школы.")
    response = await upload_version(
        partner.admin,
        str(lost),
        docx_of("Вторая версия."),
        filename="plan-v2.docx",
        media_type=DOCX,
    )
    assert response.status_code == 201, response.text
    async with database(settings) as session:
        # An extraction that failed (say the worker ran out of memory) left no text...
        document = await session.scalar(
            select(SearchDocument).where(SearchDocument.resource_id == failed)
        )
        assert document is not None
        document.extraction_status = "failed"
        document.extraction_reason = "The worker ran out of memory."
        await session.execute(delete(SearchText).where(SearchText.document_id == document.id))
        # ...and a new version's job gave up for good, leaving its text pending.
        await session.execute(
            update(Job)
            .where(Job.dedupe_key == f"search.extract_text:{lost}:2")
            .values(status="failed", dedupe_key=None)
        )
        await session.commit()
    await reindex(settings)
    assert (await search(home.admin, q="грамматике"))["total"] == 0

    code, summary, err = await reindex(settings)
    assert code == 0, err
    assert summary is not None
    assert (summary["text_missing"], summary["extraction_waiting"]) == (2, 1)
    assert summary["extraction_queued"] == 0
    assert "--extract" in err

    code, summary, err = await reindex(settings, "--extract")
    assert code == 0, err
    assert summary is not None
    assert (summary["text_missing"], summary["extraction_queued"]) == (2, 2)
    assert summary["extraction_waiting"] == 1
    assert "extraction queued for 2" in err
    page = await partner.admin.get(f"/api/resources/{failed}")
    assert page.json()["extraction_status"] == "pending"

    # Queued once, however often the command runs.
    code, summary, err = await reindex(settings, "--extract")
    assert code == 0, err
    assert summary is not None
    assert (summary["text_missing"], summary["extraction_queued"]) == (0, 0)
    assert summary["extraction_waiting"] == 3
    async with database(settings) as session:
        queued = list(
            await session.scalars(
                select(Job.payload).where(Job.status == "queued", Job.kind == "search.extract_text")
            )
        )
    assert sorted((p["resource_id"], p["version"]) for p in queued) == sorted(
        [(str(failed), 1), (str(lost), 2), (str(waiting), 1)]
    )


async def test_reindex_extract_then_jobs_make_the_text_searchable_again(
    app: Litestar,
    settings: Settings,
    clock: ManualClock,
    pair: tuple[SchoolHandle, SchoolHandle],
) -> None:
    home, partner = pair
    failed = await share(partner.admin, "Failed", "Контрольная работа по грамматике.")
    await run_text_extraction(app)
    async with database(settings) as session:
        document = await session.scalar(
            select(SearchDocument).where(SearchDocument.resource_id == failed)
        )
        assert document is not None
        document.extraction_status = "failed"
        await session.execute(delete(SearchText).where(SearchText.document_id == document.id))
        await session.commit()
    await reindex(settings)
    assert (await search(home.admin, q="грамматике"))["total"] == 0

    code, summary, err = await reindex(settings, "--extract")
    assert code == 0 and summary is not None and summary["extraction_queued"] == 1, err
    clock.advance(timedelta(seconds=5))  # the command queued it by the system clock
    assert await run_text_extraction(app) == 1
    assert title_set(await search(home.admin, q="грамматике")) == {"Failed"}
    page = await partner.admin.get(f"/api/resources/{failed}")
    assert page.json()["extraction_status"] == "done"
    code, summary, err = await reindex(settings, "--extract")
    assert summary is not None and summary["text_missing"] == 0, err


async def test_full_reindex_drops_index_rows_left_without_their_resource(
    app: Litestar, settings: Settings, backend: str, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL keeps the vectors in the documents' rows: none can be left")
    home, partner = pair
    await share(partner.admin, "Kept", "Оценивание учащихся.")
    assert await run_text_extraction(app) == 1
    async with database(settings) as session:
        await session.execute(
            text(
                "INSERT INTO search_index (rowid, title, meta, body) "
                "VALUES (999999, 'оценивание', '', '')"
            )
        )
        await session.commit()
    code, summary, err = await reindex(settings, "--school", str(partner.id))
    assert code == 0 and summary is not None and summary["stale_rows_removed"] == 0, err
    code, summary, err = await reindex(settings)
    assert code == 0 and summary is not None and summary["stale_rows_removed"] == 1, err
    assert title_set(await search(home.admin, q="оценивание")) == {"Kept"}


async def test_a_resource_without_a_search_document_gets_one(
    app: Litestar, settings: Settings, pair: tuple[SchoolHandle, SchoolHandle]
) -> None:
    """As a resource written before the index existed, or by a script, would be."""
    home, partner = pair
    resource_id = await share(partner.admin, "Планы уроков", "Оценивание учащихся.")
    assert await run_text_extraction(app) == 1
    async with database(settings) as session:
        await session.execute(
            delete(SearchDocument).where(SearchDocument.resource_id == resource_id)
        )
        await session.commit()
    assert (await search(home.admin, q="планы"))["total"] == 0

    code, summary, err = await reindex(settings, "--extract")
    assert code == 0 and summary is not None, err
    assert (summary["reindexed"], summary["text_missing"], summary["extraction_queued"]) == (
        1,
        1,
        1,
    )
    assert title_set(await search(home.admin, q="планы")) == {"Планы уроков"}
    page = await partner.admin.get(f"/api/resources/{resource_id}")
    assert page.json()["extraction_status"] == "pending"
