"""A new version from the resource's page: the file and its change note through the
API's pipeline; the history shows the note; refusals stand next to their field."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from exchange.config import Settings
from tests.actors import SchoolFactory
from tests.pages import Visitor, csrf_token_in, upload_page
from tests.resource_fixtures import make_partners
from tests.sample_files import html_page, pdf, text


def stored_files(settings: Settings) -> list[Path]:
    return [p for p in Path(settings.data_dir, "files").rglob("*") if p.is_file()]


async def shared_resource(visitor: Visitor) -> str:
    answer = await upload_page(visitor, pdf(), title="Бөлчөктөр: сабак планы")
    assert answer.status_code == 303, answer.text
    found = re.search(r"/resources/([0-9a-f-]{36})", answer.headers["location"])
    assert found
    return found.group(1)


async def post_version(
    visitor: Visitor, resource_id: str, content: bytes, filename: str, **fields: Any
) -> httpx.Response:
    """The form as a browser sends it: the token first, the change note, then the file."""
    form = await visitor.get(f"/resources/{resource_id}/versions/new")
    assert form.status_code == 200, form.text
    return await visitor.http.post(
        f"/resources/{resource_id}/versions/new",
        data={"_csrf_token": csrf_token_in(form.text), **fields},
        files={"file": (filename, content, "application/octet-stream")},
    )


async def test_the_owner_uploads_a_version_with_its_change_note_and_the_history_shows_it(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    resource_id = await shared_resource(browser)
    page = await browser.get(f"/resources/{resource_id}")
    assert f'href="/resources/{resource_id}/versions/new"' in page.text

    answer = await post_version(
        browser,
        resource_id,
        text("Жаңы мисалдар.\n"),
        "plan v2.txt",
        change_note="6-класс үчүн тапшырмалар кошулду.\nЖооптор оңдолду.",
    )

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/resources/{resource_id}?new_version=1#versions"
    history = (await school.admin.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert [(v["number"], v["change_note"]) for v in history] == [
        (2, "6-класс үчүн тапшырмалар кошулду.\nЖооптор оңдолду."),
        (1, None),
    ]
    shown = await browser.get(answer.headers["location"], headers={"Accept-Language": "ky"})
    assert "6-класс үчүн тапшырмалар кошулду.<br>Жооптор оңдолду." in shown.text
    assert "plan v2.txt" in shown.text
    download = await browser.get(f"/resources/{resource_id}/content")
    assert download.content == text("Жаңы мисалдар.\n")


async def test_a_refused_version_is_shown_by_its_field_in_the_readers_language(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    await browser.get("/?lang=ru")
    resource_id = await shared_resource(browser)
    kept = stored_files(settings)

    too_long = await post_version(browser, resource_id, pdf(), "v2.pdf", change_note="ы" * 2001)
    assert too_long.status_code == 422
    assert 'id="change_note-error"' in too_long.text
    assert "допустимо не больше 2000" in too_long.text
    assert "ы" * 2001 in too_long.text  # the note stays in place to be shortened
    web_page = await post_version(browser, resource_id, html_page(), "page.html", change_note="x")
    assert web_page.status_code == 415
    assert 'id="file-error"' in web_page.text
    assert '<a href="#file">' in web_page.text

    history = (await school.admin.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert [v["number"] for v in history] == [1]
    assert stored_files(settings) == kept


async def test_a_version_without_the_form_token_stores_nothing(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    school = await schools.create()
    browser = visitors()
    await browser.sign_in(school.admin.email)
    resource_id = await shared_resource(browser)
    kept = stored_files(settings)

    answer = await browser.http.post(
        f"/resources/{resource_id}/versions/new",
        data={"change_note": "Forged"},
        files={"file": ("plan.pdf", pdf(), "application/pdf")},
    )

    assert answer.status_code == 403
    assert stored_files(settings) == kept
    history = (await school.admin.get(f"/api/resources/{resource_id}/versions")).json()["items"]
    assert len(history) == 1


async def test_only_those_who_may_add_a_version_get_the_form(
    client: object, visitors: Callable[[], Visitor], schools: SchoolFactory, settings: Settings
) -> None:
    owner, partner, stranger = (
        await schools.create(),
        await schools.create(),
        await schools.create(),
    )
    await make_partners(settings, owner.id, partner.id)
    author = visitors()
    await author.sign_in(owner.admin.email)
    resource_id = await shared_resource(author)
    form = f"/resources/{resource_id}/versions/new"

    reader = visitors()
    await reader.sign_in(partner.admin.email)
    assert (await reader.get(form)).status_code == 403
    assert f'href="{form}"' not in (await reader.get(f"/resources/{resource_id}")).text
    outsider = visitors()
    await outsider.sign_in(stranger.admin.email)
    assert (await outsider.get(form)).status_code == 404
    refused = await post_version_with_token_of(outsider, form)
    assert refused.status_code == 404
    assert len(stored_files(settings)) == 1


async def post_version_with_token_of(visitor: Visitor, url: str) -> httpx.Response:
    home = await visitor.get("/")
    return await visitor.http.post(
        url,
        data={"_csrf_token": csrf_token_in(home.text), "change_note": "x"},
        files={"file": ("plan.pdf", pdf(), "application/pdf")},
    )
