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
            f"{server.base_url}/api/auth/token", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        resource = httpx.get(
            f"{server.base_url}/api/resources/{found.group(1)}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert resource["sha256"] == hashlib.sha256(content).hexdigest()
        assert resource["title"] == "Нарындагы сабак"
