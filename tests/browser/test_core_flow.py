"""The core flow in a real browser (Debian's Chromium driven by Playwright) against the
real service started by `exchange serve` in a child process: the first run with the
setup code from the console, two partner schools, sign in, share a lesson plan, find it
from the partner by a Kyrgyz word stem, ask to adapt it, approve, see the permission;
the same with JavaScript disabled; with JavaScript, searching, asking and approving are
done from the keyboard alone (Tab, typing, Space, Enter); axe-core (shipped here,
injected into each page) finds no serious or critical accessibility violation on any
page in ky, ru and en.
Screenshots go to tests/screenshots/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.actors import PASSWORD
from tests.conftest import base_settings
from tests.live_server import LiveServer, create_school, live_server
from tests.partnering import GOALS
from tests.sample_files import pdf

pytestmark = pytest.mark.slow

AXE = Path(__file__).with_name("axe.min.js")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LANGUAGES = ("ky", "ru", "en")
SETUP_CODE = re.compile(r"setup code: ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})")


@dataclass
class Exchange:
    server: LiveServer
    owner_email: str
    owner_school: str
    partner_email: str
    partner_school: str

    @property
    def url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (.ci/run installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )
    return found


def check_accessible(page: Page, url: str, language: str, name: str) -> None:
    page.goto(f"{url}{'&' if '?' in url else '?'}lang={language}")
    assert page.locator("html").get_attribute("lang") == language
    assert serious_violations(page) == [], f"{name} in {language}"
    shot(page, f"{name}-{language}")


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Move the focus with the Tab key alone until it is on `selector`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/")


@pytest.fixture(scope="module")
def exchange(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    cwd = tmp_path_factory.mktemp("browser-exchange")
    with live_server(cwd, {"EXCHANGE_LOG_LEVEL": "WARNING"}) as server:
        code = SETUP_CODE.search(server.log())
        assert code, server.log()
        # The first run, from the browser: the first school with the console's code.
        context = browser.new_context(locale="ky-KG", bypass_csp=True)
        page = context.new_page()
        page.goto(f"{server.base_url}/")
        for language in LANGUAGES:
            check_accessible(page, f"{server.base_url}/", language, "first-run")
        page.goto(f"{server.base_url}/?lang=ky")
        page.fill("#setup_code", code.group(1))
        page.fill("#name", "Ош шаарындагы №5 мектеп")
        page.fill("#region", "Osh")
        page.fill("#full_name", "Айгүл Асанова")
        page.fill("#email", "director@school5.kg")
        page.fill("#password", PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url(f"{server.base_url}/")
        assert "Айгүл Асанова" in page.inner_text("header")
        context.close()
        # The partner school straight into the database (in a thread: Playwright's loop
        # runs in this one), the partnership through the API.
        partner = create_school(
            base_settings(cwd / "storage"),
            "Нарын шаарындагы №2 мектеп",
            "director@school2.kg",
            admin_name="Бакыт Токтогулов",
        )
        with ThreadPoolExecutor(max_workers=1) as thread:
            partner_id = thread.submit(asyncio.run, partner).result()
        tokens = {
            email: httpx.post(
                f"{server.base_url}/api/auth/token",
                json={"email": email, "password": PASSWORD},
                timeout=60,
            ).json()["access_token"]
            for email in ("director@school5.kg", "director@school2.kg")
        }
        invited = httpx.post(
            f"{server.base_url}/api/partnerships",
            headers={"Authorization": f"Bearer {tokens['director@school5.kg']}"},
            json={
                "partner_school_id": partner_id,
                "characteristics": ["local", "virtual"],
                "goals": GOALS,
                "language": "ky",
            },
            timeout=60,
        )
        assert invited.status_code == 201, invited.text
        accepted = httpx.post(
            f"{server.base_url}/api/partnerships/{invited.json()['id']}/accept",
            headers={"Authorization": f"Bearer {tokens['director@school2.kg']}"},
            timeout=60,
        )
        assert accepted.status_code == 200, accepted.text
        yield Exchange(
            server=server,
            owner_email="director@school5.kg",
            owner_school="Ош шаарындагы №5 мектеп",
            partner_email="director@school2.kg",
            partner_school="Нарын шаарындагы №2 мектеп",
        )


def share_lesson_plan(page: Page, base: str, title: str, *, javascript: bool) -> str:
    page.goto(f"{base}/resources/new")
    page.fill("#title", title)
    page.select_option("#kind", "lesson_plan")
    page.fill("#subject", "Математика")
    page.check("#grade-5")
    page.select_option("#language", "ky")
    page.fill("#description", "5-класс үчүн бир сабак: бөлчөктөрдү кошуу жана кемитүү.")
    page.set_input_files(
        "#file", files=[{"name": "plan.pdf", "mimeType": "application/pdf", "buffer": pdf(2)}]
    )
    page.locator("#upload-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/resources/[0-9a-f-]{36}\?shared=1$"))
    if javascript:
        assert page.locator("#upload-bar").count() == 0  # the page moved on after the bar
    found = re.search(r"/resources/([0-9a-f-]{36})", page.url)
    assert found
    return found.group(1)


def find_by_stem(page: Page, base: str, stem: str, resource_id: str, *, javascript: bool) -> None:
    page.goto(f"{base}/search")
    if javascript:  # from the keyboard: the skip link first, then the box
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('skip-link')")
        tab_to(page, "#q")
        page.keyboard.type(stem)
        page.keyboard.press("Enter")
    else:
        page.fill("#q", stem)
        page.press("#q", "Enter")
    link = page.locator(f'#search-results a[href="/resources/{resource_id}"]')
    link.wait_for()
    if javascript:
        page.wait_for_url(re.compile(r"/search\?q="))  # htmx keeps the address in step
    if javascript:
        tab_to(page, f'#search-results a[href="/resources/{resource_id}"]')
        page.keyboard.press("Enter")
    else:
        link.click()
    page.wait_for_url(f"{base}/resources/{resource_id}")


def ask_to_adapt(page: Page, base: str, resource_id: str, *, keyboard: bool) -> None:
    purpose = "6-класстарыбыз үчүн жергиликтүү мисалдар менен вариант."
    audience = "Эки 6-класс, 50гө жакын окуучу."
    send = f'form[action="/resources/{resource_id}/ask"] button[type=submit]'
    if keyboard:
        tab_to(page, "input[name=scope]:checked")
        tab_to(page, "#purpose")
        page.keyboard.type(purpose)
        tab_to(page, "#audience")
        page.keyboard.type(audience)
        tab_to(page, send)
        page.keyboard.press("Enter")
    else:
        page.check("#scope-adapt")
        page.fill("#purpose", purpose)
        page.fill("#audience", audience)
        page.locator(send).click()
    page.wait_for_url(re.compile(r"asked=1"))


def approve_first_request(page: Page, base: str, *, keyboard: bool) -> None:
    page.goto(f"{base}/requests")
    form = page.locator('form[action$="/decision"]').first
    if keyboard:
        tab_to(page, 'form[action$="/decision"] input[value="approve"]')
        page.keyboard.press("Space")
        tab_to(page, 'form[action$="/decision"] button[type=submit]')
        page.keyboard.press("Enter")
    else:
        form.locator('input[value="approve"]').check()
        form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"decided=approve"))


def core_flow(
    browser: Browser, exchange: Exchange, *, javascript: bool, title: str, stem: str
) -> tuple[BrowserContext, BrowserContext, str]:
    base = exchange.url
    label = "js" if javascript else "nojs"
    # The flow runs under the pages' Content-Security-Policy: htmx and the upload script
    # are the exchange's own files, so they work with it.
    owner_context = browser.new_context(java_script_enabled=javascript, locale="ky-KG")
    partner_context = browser.new_context(java_script_enabled=javascript, locale="ky-KG")
    owner, partner = owner_context.new_page(), partner_context.new_page()
    sign_in(owner, base, exchange.owner_email)
    sign_in(partner, base, exchange.partner_email)
    owner.goto(f"{base}/?lang=ky")
    resource_id = share_lesson_plan(owner, base, title, javascript=javascript)
    shot(owner, f"{label}-1-shared")
    partner.goto(f"{base}/?lang=ky")
    find_by_stem(partner, base, stem, resource_id, javascript=javascript)
    shot(partner, f"{label}-2-found")
    ask_to_adapt(partner, base, resource_id, keyboard=javascript)
    shot(partner, f"{label}-3-asked")
    approve_first_request(owner, base, keyboard=javascript)
    shot(owner, f"{label}-4-approved")
    partner.goto(f"{base}/resources/{resource_id}")
    permissions = partner.locator("#grants + ul").inner_text()
    assert exchange.partner_school in permissions
    shot(partner, f"{label}-5-permission")
    return owner_context, partner_context, resource_id


def test_the_core_flow_with_javascript_and_every_page_accessible_in_each_language(
    browser: Browser, exchange: Exchange
) -> None:
    owner_context, partner_context, resource_id = core_flow(
        browser, exchange, javascript=True, title="Бөлчөктөр: сабак планы", stem="бөлчөк"
    )
    base = exchange.url
    partner = partner_context.new_page()
    # A filter replaces the results in place (htmx), and the address follows.
    partner.goto(f"{base}/search?q=бөлчөк")
    partner.locator('#search-results input[name="kind"][value="lesson_plan"]').check()
    partner.wait_for_url(re.compile(r"kind=lesson_plan"))
    assert partner.locator(f'#search-results a[href="/resources/{resource_id}"]').count() == 1
    assert partner.locator("#q").input_value() == "бөлчөк"  # the box was not reloaded
    # axe-core is injected inline: these pages, signed in as the same members, pass over
    # the Content-Security-Policy for it.
    owner = browser.new_context(
        bypass_csp=True, storage_state=owner_context.storage_state()
    ).new_page()
    partner = browser.new_context(
        bypass_csp=True, storage_state=partner_context.storage_state()
    ).new_page()
    visitor = browser.new_context(bypass_csp=True).new_page()
    # Once the worker has made the file's preview, the partner sees it in the results and
    # on the resource page (decoded, in its reserved box), with the pages and size.
    api = bearer(exchange, exchange.partner_email)
    for _ in range(120):
        described = httpx.get(f"{base}/api/resources/{resource_id}", headers=api, timeout=60).json()
        if described["preview"] != "pending":
            break
        time.sleep(0.5)
    assert described["preview"] == "ready", described
    for address, image in (
        (f"{base}/search?q=бөлчөк&lang=ru", "#search-results img.thumb"),
        (f"{base}/resources/{resource_id}?lang=ru", "main img.preview"),
    ):
        partner.goto(address)
        shown = partner.locator(image)
        shown.scroll_into_view_if_needed()
        width = shown.evaluate("img => img.decode().then(() => img.naturalWidth)")
        assert 0 < width <= 320
        assert shown.get_attribute("alt") == "Предпросмотр «Бөлчөктөр: сабак планы»"
        box = shown.bounding_box()
        assert box is not None and box["width"] == box["height"]
        assert "2 страницы" in partner.locator("main").inner_text()
    for language in LANGUAGES:
        check_accessible(visitor, f"{base}/sign-in", language, "sign-in")
        check_accessible(visitor, f"{base}/no-such-page", language, "not-found")
        check_accessible(owner, f"{base}/", language, "home")
        check_accessible(owner, f"{base}/resources/new", language, "upload")
        check_accessible(owner, f"{base}/resources/{resource_id}", language, "resource-owner")
        check_accessible(owner, f"{base}/requests", language, "requests-owner")
        check_accessible(partner, f"{base}/resources/{resource_id}", language, "resource-partner")
        check_accessible(partner, f"{base}/search?q=бөлчөк", language, "search")
        check_accessible(partner, f"{base}/search?q=жок-нерсе", language, "search-empty")
        check_accessible(partner, f"{base}/requests", language, "requests-partner")
        check_accessible(partner, f"{base}/inbox", language, "inbox")
    owner_context.close()
    partner_context.close()


def bearer(exchange: Exchange, email: str) -> dict[str, str]:
    token = httpx.post(
        f"{exchange.url}/api/auth/token", json={"email": email, "password": PASSWORD}, timeout=60
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_members_audit_and_versions_in_place_and_accessible_in_each_language(
    browser: Browser, exchange: Exchange
) -> None:
    """The admin's pages: a new version with its change note (progress bar, then the
    history), the members with more than a page of them (the next page added in place),
    the audit trail; each page, the account and the set-password page pass axe in each
    language."""
    base = exchange.url
    owner_api = bearer(exchange, exchange.owner_email)
    for n in range(55):
        added = httpx.post(
            f"{base}/api/members",
            headers=owner_api,
            json={"email": f"teacher{n:02d}@school5.kg", "full_name": f"Мугалим {n:02d}"},
            timeout=60,
        )
        assert added.status_code == 201, added.text
    # The link as the member opens it (the token; the address is this server's).
    link = f"{base}/set-password?" + added.json()["set_password_url"].split("?", 1)[1]
    context = browser.new_context(locale="ky-KG")
    owner = context.new_page()
    sign_in(owner, base, exchange.owner_email)
    resource_id = share_lesson_plan(owner, base, "Көбөйтүү таблицасы", javascript=True)
    owner.goto(f"{base}/resources/{resource_id}/versions/new?lang=ky")
    owner.fill("#change_note", "6-класс үчүн тапшырмалар кошулду.")
    owner.set_input_files(
        "#file", files=[{"name": "plan-2.pdf", "mimeType": "application/pdf", "buffer": pdf(3)}]
    )
    owner.locator("#upload-form button[type=submit]").click()
    owner.wait_for_url(re.compile(r"new_version=1"))
    assert "6-класс үчүн тапшырмалар кошулду." in owner.locator("#versions + table").inner_text()
    shot(owner, "version-added-ky")
    # More than a page of members: "more" adds the next ones below, the address stays.
    owner.goto(f"{base}/members?lang=ru")
    rows = owner.locator("#members > tr")
    first_page = rows.count()
    owner.locator("#members-more a").click()
    rows.nth(first_page).wait_for()  # a selector, not a script: the page's CSP forbids eval
    assert owner.url == f"{base}/members?lang=ru"
    assert owner.locator("#members > tr").count() == 56  # the director and 55 teachers
    assert owner.locator("#members-more a").count() == 0
    shot(owner, "members-more-ru")
    context.close()

    checked = browser.new_context(bypass_csp=True, locale="ky-KG")
    admin = checked.new_page()
    sign_in(admin, base, exchange.owner_email)
    visitor = browser.new_context(bypass_csp=True).new_page()
    for language in LANGUAGES:
        check_accessible(admin, f"{base}/members", language, "members")
        check_accessible(admin, f"{base}/audit", language, "audit")
        check_accessible(admin, f"{base}/account", language, "account")
        check_accessible(
            admin, f"{base}/resources/{resource_id}/versions/new", language, "new-version"
        )
        check_accessible(visitor, link, language, "set-password")
    checked.close()


def test_the_core_flow_without_javascript(browser: Browser, exchange: Exchange) -> None:
    owner_context, partner_context, _ = core_flow(
        browser, exchange, javascript=False, title="Геометрия: үч бурчтуктар", stem="геометр"
    )
    owner_context.close()
    partner_context.close()
