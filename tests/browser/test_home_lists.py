"""The home page's short lists in a real browser, with and without JavaScript.

A director allows a partner's request from the home page, marks the partners' new
resources as seen and the inbox as read. With JavaScript each list is replaced in place
(htmx): the page is never loaded again and its address stays; a new request shows up
when the window is focused again. Without JavaScript the same forms post and bring the
director back to the home page with the same lists. axe-core finds no serious or
critical violation on the full lists in ky, ru and en. The server, Chromium and the two
partner schools are `test_core_flow`'s."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.test_core_flow import (
    LANGUAGES,
    Exchange,
    bearer,
    browser,
    check_accessible,
    exchange,
    shot,
    sign_in,
)
from tests.sample_files import pdf

pytestmark = pytest.mark.slow

__all__ = ["browser", "exchange"]


def share(exchange: Exchange, headers: dict[str, str], title: str) -> str:
    answer = httpx.post(
        f"{exchange.url}/api/resources",
        headers=headers,
        data={"title": title, "kind": "lesson_plan", "visibility": "partners"},
        files={"file": ("plan.pdf", pdf(), "application/pdf")},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def ask(exchange: Exchange, headers: dict[str, str], resource_id: str, scope: str) -> str:
    answer = httpx.post(
        f"{exchange.url}/api/resources/{resource_id}/reuse-requests",
        headers=headers,
        json={"scope": scope, "purpose": "6-класстар үчүн", "audience": "Окуучулар"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def stayed(page: Page, javascript: bool) -> None:
    """With JavaScript the home page was not loaded again: a mark set on it is there."""
    if javascript:
        assert page.evaluate("window.homeStayed === true")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_home_lists_follow_actions_in_place_with_javascript_and_by_pages_without(
    browser: Browser, exchange: Exchange, javascript: bool
) -> None:
    label = "js" if javascript else "nojs"
    owner, partner = (
        bearer(exchange, exchange.owner_email),
        bearer(exchange, exchange.partner_email),
    )
    mine = share(exchange, owner, f"Бөлчөктөр ({label})")
    theirs = share(exchange, partner, f"Нарындын сабак планы ({label})")
    request_id = ask(exchange, partner, mine, "adapt")

    context = browser.new_context(java_script_enabled=javascript, locale="ky-KG")
    page = context.new_page()
    sign_in(page, exchange.url, exchange.owner_email)
    page.goto(f"{exchange.url}/?lang=ky")
    home_address = page.url
    if javascript:
        page.wait_for_function("() => window.htmx !== undefined")
        page.evaluate("window.homeStayed = true")
    waiting, recent, inbox = (
        page.locator("#home-waiting"),
        page.locator("#home-recent"),
        page.locator("#home-inbox"),
    )
    assert f"Бөлчөктөр ({label})" in waiting.inner_text()
    assert f"Нарындын сабак планы ({label})" in recent.inner_text()
    assert inbox.locator("li").count() >= 1
    shot(page, f"home-lists-{label}")
    if javascript:  # the full lists, with their forms, pass axe in each language
        checked = browser.new_context(bypass_csp=True, locale="ky-KG")
        director = checked.new_page()
        sign_in(director, exchange.url, exchange.owner_email)
        # Kyrgyz last: the language switch is remembered for the director.
        for language in sorted(LANGUAGES, key=lambda code: code == "ky"):
            check_accessible(director, f"{exchange.url}/", language, "home-lists")
        checked.close()

    # Allowed from the home page: the request leaves the list, the permission is told.
    waiting.locator(f'form[action="/requests/{request_id}/decision"] button').click()
    page.locator("#home-waiting p.notice").wait_for()
    assert f"Бөлчөктөр ({label})" not in page.locator("#home-waiting").inner_text()
    granted = httpx.get(
        f"{exchange.url}/api/reuse-requests/{request_id}", headers=partner, timeout=30
    ).json()
    assert granted["status"] == "approved"
    stayed(page, javascript)

    # "I have seen these": the partners' new resources give way to "nothing new".
    page.locator("#home-recent form button").click()
    page.locator("#home-recent").get_by_text(f"Нарындын сабак планы ({label})").wait_for(
        state="detached"
    )
    assert page.locator(f'#home-recent a[href="/resources/{theirs}"]').count() == 0
    stayed(page, javascript)

    # The inbox's short list, read: it empties and the count beside "Inbox" follows.
    page.locator("#home-inbox form button").click()
    page.locator("#home-inbox").get_by_text("Баары окулду.").wait_for()
    assert re.search(r"\b0\b", page.locator("#home-inbox-link").inner_text())
    stayed(page, javascript)

    if javascript:
        assert page.url == home_address  # never left, never reloaded
        # A request that arrives while the page is open shows up when the window is
        # focused again (and every minute).
        ask(exchange, partner, mine, "share")
        page.evaluate("window.dispatchEvent(new Event('focus'))")
        page.locator("#home-waiting").get_by_text(f"Бөлчөктөр ({label})").wait_for()
        stayed(page, javascript)
    else:
        assert page.url.startswith(f"{exchange.url}/?read=1")
    shot(page, f"home-lists-after-{label}")
    context.close()
