"""Documents carrying runnable content are refused on upload and as new versions, with
nothing left behind; the ordinary documents of each kind still get in."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exchange.config import Settings
from tests.active_content_files import BENIGN_FILES, HOSTILE_FILES
from tests.actors import SchoolFactory
from tests.problems import assert_problem
from tests.resource_fixtures import (
    NOTHING_STORED,
    StoreUnderTest,
    row_counts,
    upload,
    upload_version,
)
from tests.sample_files import text

HOSTILE = [pytest.param(build, name, words, id=case) for case, build, name, words in HOSTILE_FILES]
BENIGN = [pytest.param(build, name, id=case) for case, build, name in BENIGN_FILES]


@pytest.fixture
def settings(settings: Settings, store: StoreUnderTest) -> Settings:
    return store.apply(settings)


@pytest.mark.parametrize(("build", "filename", "words"), HOSTILE)
async def test_an_upload_carrying_runnable_content_is_refused_and_leaves_nothing(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    build: Callable[[], bytes],
    filename: str,
    words: str,
) -> None:
    school = await schools.create()

    response = await upload(school.admin, build(), filename=filename)

    problem = assert_problem(response, 415)
    assert words in problem["detail"]
    assert problem["active_content"]
    assert problem["detected_media_type"]
    assert store.contents() == []
    assert await row_counts(settings) == NOTHING_STORED


@pytest.mark.parametrize(("build", "filename", "words"), HOSTILE)
async def test_a_new_version_carrying_runnable_content_is_refused_and_leaves_the_old_one(
    schools: SchoolFactory,
    settings: Settings,
    store: StoreUnderTest,
    build: Callable[[], bytes],
    filename: str,
    words: str,
) -> None:
    school = await schools.create()
    created = await upload(school.admin, text("Биринчи нускасы.\n"), filename="plan.txt")
    resource_id = created.json()["id"]
    kept = store.stored_keys()

    response = await upload_version(school.admin, resource_id, build(), filename=filename)

    assert words in assert_problem(response, 415)["detail"]
    versions = (await school.admin.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert [v["number"] for v in versions] == [1]
    assert store.stored_keys() == kept
    assert (await row_counts(settings))["resource_versions"] == 1


@pytest.mark.parametrize(("build", "filename"), BENIGN)
async def test_ordinary_documents_of_each_kind_are_accepted_as_uploads_and_versions(
    schools: SchoolFactory, build: Callable[[], bytes], filename: str
) -> None:
    school = await schools.create()

    created = await upload(school.admin, build(), filename=filename)
    assert created.status_code == 201, created.text
    again = await upload_version(school.admin, created.json()["id"], build(), filename=filename)

    assert again.status_code == 201, again.text
