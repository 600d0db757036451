"""Finding and inviting a partner in a real browser, without JavaScript: a director finds
a third school in the directory, previews the letter and sends the invitation in Kyrgyz;
that school's director reads it in Russian, cannot accept without ticking "we agree", then
accepts; axe-core finds no serious or critical violation on the directory, a school's
profile, the invitation form with its letter and the invitation with the code of conduct,
in ky, ru and en. The server, Chromium and the first two schools are `test_core_flow`'s."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser

from tests.browser.test_core_flow import (
    LANGUAGES,
    Exchange,
    browser,
    check_accessible,
    exchange,
    shot,
    sign_in,
)
from tests.conftest import base_settings
from tests.live_server import create_school
from tests.partnering import GOALS

pytestmark = pytest.mark.slow

__all__ = ["browser", "exchange"]


def test_a_school_is_found_invited_and_accepts_under_the_code(
    browser: Browser, exchange: Exchange
) -> None:
    base = exchange.url
    cwd = exchange.server.log_path.parent
    third = create_school(
        base_settings(cwd / "storage"),
        "Бишкектеги №9 гимназия",
        "director@school9.kg",
        region="Бишкек",
        admin_name="Гүлнара Осмонова",
    )
    with ThreadPoolExecutor(max_workers=1) as thread:
        third_id = thread.submit(asyncio.run, third).result()

    owner_context = browser.new_context(java_script_enabled=False, locale="ky-KG")
    invited_context = browser.new_context(java_script_enabled=False, locale="ru-RU")
    owner, invited = owner_context.new_page(), invited_context.new_page()
    sign_in(owner, base, exchange.owner_email)
    sign_in(invited, base, "director@school9.kg")

    owner.goto(f"{base}/partners?lang=ky")
    owner.fill("#q", "гимназия")
    owner.locator('form[role="search"] button[type=submit]').click()
    owner.locator(f'#directory a[href="/partners/schools/{third_id}"]').click()
    owner.locator(f'a[href="/partners/schools/{third_id}/invite"]').click()
    owner.fill("#goals", "\n".join(GOALS))
    owner.check("#characteristics-local")
    owner.select_option("#language", "ky")
    owner.locator("main form button.secondary").click()  # the preview
    assert "Бишкектеги №9 гимназия" in owner.locator("pre.letter").inner_text()
    shot(owner, "invite-preview-ky")
    owner.locator('main form button[name="send"]').click()
    owner.wait_for_url(re.compile(r"/partners/invitations/[0-9a-f-]{36}\?done=sent$"))
    invitation = owner.url.split("?", 1)[0]

    # The pages pass axe, the invitation with its acceptance form included.
    checked = browser.new_context(bypass_csp=True, locale="ky-KG")
    admin = checked.new_page()
    sign_in(admin, base, "director@school9.kg")
    owner_checked = browser.new_context(bypass_csp=True, locale="ky-KG")
    director = owner_checked.new_page()
    sign_in(director, base, exchange.owner_email)
    for language in LANGUAGES:
        check_accessible(director, f"{base}/partners", language, "partners")
        check_accessible(director, f"{base}/partners/schools/{third_id}", language, "school")
        check_accessible(director, f"{base}/partners/schools/{third_id}/invite", language, "invite")
        check_accessible(admin, invitation, language, "invitation")
    checked.close()
    owner_checked.close()

    invited.goto(f"{base}/partners?lang=ru")
    invited.locator(f'main a[href="{invitation.removeprefix(base)}"]').first.click()
    invited.locator('form[action$="/accept"] button[type=submit]').click()  # not ticked
    assert invited.locator("#agree-error").count() == 1
    invited.check("#agree")
    invited.locator('form[action$="/accept"] button[type=submit]').click()
    invited.wait_for_url(re.compile(r"/partnerships/[0-9a-f-]{36}$"))
    invited.goto(invitation + "?lang=ru")
    assert "Гүлнара Осмонова" in invited.locator("main").inner_text()
    shot(invited, "invitation-accepted-ru")
    owner_context.close()
    invited_context.close()
