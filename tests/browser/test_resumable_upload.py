"""Sharing a file from the upload page over a link that drops: the page sends it in
pieces with tus-js-client, a proxy cuts the connection in the middle, and the page goes
on from where the server stands; the resource's file is the file, byte for byte. Real
Chromium (Playwright) against `exchange serve` in a child process."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.actors import PASSWORD
from tests.conftest import base_settings
from tests.cutting_proxy import CuttingProxy
from tests.live_server import create_school, live_server
from tests.sample_files import pdf_of_size

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (.ci/run installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--no-first-run"]
        )
        yield launched
        launched.close()


def test_the_upload_page_resumes_a_file_cut_by_the_network(
    browser: Browser, tmp_path: Path
) -> None:
    content = pdf_of_size(3 * MIB)
    with live_server(tmp_path, {"EXCHANGE_LOG_LEVEL": "WARNING"}) as server:
        email = "director@naryn3.kg"
        school = create_school(base_settings(tmp_path / "storage"), "Нарын №3 мектеби", email)
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(asyncio.run, school).result()
        proxy = CuttingProxy(int(server.base_url.rsplit(":", 1)[1]))
        try:
            context = browser.new_context(locale="ky-KG")
            page = context.new_page()
            page.goto(f"{proxy.url}/sign-in")
            page.fill("#email", email)
            page.fill("#password", PASSWORD)
            page.locator("main button[type=submit]").click()
            page.wait_for_url(f"{proxy.url}/")
            page.goto(f"{proxy.url}/resources/new")
            page.fill("#title", "Нарындагы сабак")
            page.select_option("#kind", "lesson_plan")
            page.set_input_files(
                "#file",
                files=[{"name": "lesson.pdf", "mimeType": "application/pdf", "buffer": content}],
            )
            proxy.arm(int(1.2 * MIB))
            page.locator("#upload-form button[type=submit]").click()
            page.wait_for_url(re.compile(r"/resources/[0-9a-f-]{36}\?shared=1$"), timeout=120_000)
            assert proxy.cuts == 1
            assert proxy.patches >= 6  # 3 MiB in pieces of 512 KiB, one of them sent twice
            found = re.search(r"/resources/([0-9a-f-]{36})", page.url)
            assert found
            context.close()
        finally:
            proxy.close()
        token = httpx.post(
            f"{server.base_url}/api/auth/token",
            json={"email": email, "password": PASSWORD},
            timeout=60,
        ).json()["access_token"]
        resource = httpx.get(
            f"{server.base_url}/api/resources/{found.group(1)}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ).json()
        assert resource["sha256"] == hashlib.sha256(content).hexdigest()
        assert resource["title"] == "Нарындагы сабак"


def test_a_new_version_goes_up_in_pieces_with_javascript_and_whole_without(
    browser: Browser, tmp_path: Path
) -> None:
    """The new-version page sends its file through tus (`resource_id` and `change_note`
    in the upload's metadata) when the page's script runs, and posts the form whole when
    it does not; both end on the resource's history with the note."""
    with_script = pdf_of_size(int(1.5 * MIB))
    without_script = pdf_of_size(300_000)
    with live_server(tmp_path, {"EXCHANGE_LOG_LEVEL": "WARNING"}) as server:
        email = "director@talas2.kg"
        school = create_school(base_settings(tmp_path / "storage"), "Талас №2 мектеби", email)
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(asyncio.run, school).result()
        token = httpx.post(
            f"{server.base_url}/api/auth/token",
            json={"email": email, "password": PASSWORD},
            timeout=60,
        ).json()["access_token"]
        api = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{server.base_url}/api/resources",
            headers=api,
            data={"title": "Таластагы сабак", "kind": "lesson_plan"},
            files={"file": ("lesson.pdf", pdf_of_size(10_000), "application/pdf")},
            timeout=60,
        )
        assert created.status_code == 201, created.text
        resource_id = created.json()["id"]
        sent_in_pieces: list[str] = []
        for javascript, content, note in (
            (True, with_script, "6-класс үчүн тапшырмалар кошулду."),
            (False, without_script, "Жооптор оңдолду."),
        ):
            context = browser.new_context(locale="ky-KG", java_script_enabled=javascript)
            page = context.new_page()
            page.on(
                "request",
                lambda request: (
                    sent_in_pieces.append(request.method)
                    if "/resources/uploads" in request.url
                    else None
                ),
            )
            page.goto(f"{server.base_url}/sign-in")
            page.fill("#email", email)
            page.fill("#password", PASSWORD)
            page.locator("main button[type=submit]").click()
            page.wait_for_url(f"{server.base_url}/")
            page.goto(f"{server.base_url}/resources/{resource_id}/versions/new")
            page.fill("#change_note", note)
            page.set_input_files(
                "#file",
                files=[{"name": "lesson-v2.pdf", "mimeType": "application/pdf", "buffer": content}],
            )
            page.locator("#upload-form button[type=submit]").click()
            page.wait_for_url(
                re.compile(rf"/resources/{resource_id}\?new_version=1#versions$"), timeout=60_000
            )
            assert note in page.locator("#versions + table").inner_text()
            context.close()
            if javascript:
                # 1.5 MiB in pieces of 512 KiB: one creation, three pieces.
                assert sent_in_pieces.count("POST") == 1
                assert sent_in_pieces.count("PATCH") == 3
                sent_in_pieces.clear()
        assert sent_in_pieces == []  # without the script, nothing went through tus
        history = httpx.get(
            f"{server.base_url}/api/resources/{resource_id}/versions", headers=api, timeout=60
        ).json()["items"]
        assert [(v["number"], v["change_note"]) for v in history] == [
            (3, "Жооптор оңдолду."),
            (2, "6-класс үчүн тапшырмалар кошулду."),
            (1, None),
        ]
        assert history[1]["sha256"] == hashlib.sha256(with_script).hexdigest()
        assert history[0]["sha256"] == hashlib.sha256(without_script).hexdigest()
