"""A school that is not on the exchange yet, in a real browser without JavaScript: the
handbook's lists are loaded, a director invites Evrika gymnasium (from the handbook's
appendix 5) by e-mail and gets the registration link to pass on; Evrika's director opens
it in Kyrgyz, registers the school, is signed in and finds the invitation waiting, then
accepts it under the code of conduct. axe-core finds no serious or critical violation on
the list of schools not on the exchange, an entry with its invitation form, the claim
page and the registration page, in Kyrgyz (and Russian and English). The server,
Chromium and the first school are `test_core_flow`'s."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser

from exchange.consequences import build_consequences
from exchange.database import create_engine, create_session_factory
from exchange.directory.handbook import LoadSummary, load_handbook
from tests.browser.test_core_flow import (
    LANGUAGES,
    PASSWORD,
    Exchange,
    browser,
    check_accessible,
    exchange,
    shot,
    sign_in,
)
from tests.conftest import base_settings
from tests.partnering import GOALS

pytestmark = pytest.mark.slow

__all__ = ["browser", "exchange"]

EVRIKA = "«Эврика» билим берүүчү комплекс-гимназиясы"


async def _load(settings: object) -> LoadSummary:
    engine = create_engine(settings)  # type: ignore[arg-type]
    try:
        async with create_session_factory(engine, consequences=build_consequences())() as db:
            summary = await load_handbook(db)
            await db.commit()
            return summary
    finally:
        await engine.dispose()


def test_a_school_invited_by_email_registers_through_the_link_in_kyrgyz(
    browser: Browser, exchange: Exchange
) -> None:
    base = exchange.url
    settings = base_settings(exchange.server.log_path.parent / "storage")
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, _load(settings)).result()

    director_context = browser.new_context(java_script_enabled=False, locale="ky-KG")
    director = director_context.new_page()
    sign_in(director, base, exchange.owner_email)
    director.goto(f"{base}/partners?lang=ky&q=Эврика")
    assert "Ресурс алмашууга азырынча кошула элек" in director.locator("#unclaimed").inner_text()
    director.locator("#unclaimed a").first.click()
    assert "Байтик Баатыр көч., 36 А" in director.locator("main").inner_text()
    director.fill("#email", "evrika_bi@mail.ru")
    director.fill("#goals", "\n".join(GOALS))
    director.check("#characteristics-local")
    director.select_option("#language", "ky")
    entry = director.url
    director.locator('main form[action$="/invite"] button[type=submit]').click()
    link = director.locator("#registration-link").input_value()
    assert "/register?token=" in link
    shot(director, "invited-by-email-ky")
    path = link.split("://", 1)[1].split("/", 1)[1]
    registration = f"{base}/{path}"

    # The pages pass axe before the link is used (it stays good until then).
    checked = browser.new_context(bypass_csp=True, locale="ky-KG")
    admin = checked.new_page()
    sign_in(admin, base, exchange.owner_email)
    visitor = checked.new_page()
    for language in LANGUAGES:
        check_accessible(admin, f"{base}/partners/not-on-exchange", language, "not-on-exchange")
        check_accessible(admin, entry, language, "entry")
        check_accessible(admin, f"{base}/partners/invite-by-email", language, "invite-by-email")
        check_accessible(visitor, f"{base}/claim", language, "claim")
        check_accessible(visitor, registration, language, "register")
    check_accessible(admin, f"{base}/partners/not-on-exchange?kind=sister_city", "ky", "cities")
    checked.close()

    evrika_context = browser.new_context(java_script_enabled=False, locale="ky-KG")
    evrika = evrika_context.new_page()
    evrika.goto(registration + "&lang=ky")
    assert exchange.owner_school in evrika.locator("main").inner_text()
    assert evrika.input_value("#school_name") == EVRIKA
    evrika.fill("#full_name", "Жылдыз Усенова")
    evrika.locator("main form button[type=submit]").click()  # no password yet
    assert evrika.locator("#password-error").count() == 1
    assert evrika.locator('#error-summary a[href="#password"]').count() == 1
    evrika.fill("#password", PASSWORD)
    evrika.locator("main form button[type=submit]").click()
    evrika.wait_for_url(re.compile(r"/partners\?registered=invited"))
    main = evrika.locator("main").inner_text()
    assert "Мектебиңиз катталды" in main and exchange.owner_school in main
    shot(evrika, "registered-ky")
    evrika.locator('#invitations ~ ul a[href^="/partners/invitations/"]').first.click()
    evrika.check("#agree")
    evrika.locator('form[action$="/accept"] button[type=submit]').click()
    evrika.wait_for_url(re.compile(r"/partnerships/[0-9a-f-]{36}$"))
    assert exchange.owner_school in evrika.locator("main").inner_text()

    # The link worked once: it says so, plainly, in Kyrgyz.
    evrika.goto(registration + "&lang=ky")
    assert "колдонулуп бүткөн" in evrika.locator("#error-summary").inner_text()
    director_context.close()
    evrika_context.close()
