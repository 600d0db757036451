"""Partnership life in a real browser: the inviting school's director plans an activity
on the partnership's page in Kyrgyz and marks it done, the partner's director evaluates
it in Russian, the first evaluates it in Kyrgyz; without JavaScript, as a slow link may
need; the inviting school plans a joint project in Russian with its tasks, their owners
and a partner's resource, and marks a task done; axe-core finds no serious or critical
violation on the partnership pages in ky, ru and en. The server, Chromium and the two
schools are those of `test_core_flow`."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.actors import PASSWORD
from tests.browser.test_core_flow import (
    LANGUAGES,
    Exchange,
    browser,
    check_accessible,
    exchange,
    shot,
    sign_in,
)
from tests.partnering import GOALS

pytestmark = pytest.mark.slow

__all__ = ["browser", "exchange"]


def open_partnership(page: Page, base: str, language: str) -> str:
    page.goto(f"{base}/partnerships?lang={language}")
    page.locator('main a[href^="/partnerships/"]').first.click()
    page.wait_for_url(re.compile(r"/partnerships/[0-9a-f-]{36}$"))
    return page.url


def evaluate(page: Page, went_well: str, to_change: str, progress: str) -> None:
    page.fill("#went_well", went_well)
    page.fill("#to_change", to_change)
    page.check(f"#goal_progress-0-{progress}")
    page.check("#continue-yes")
    page.locator('form[action$="/evaluations"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"done=evaluated$"))


def test_an_activity_is_planned_in_kyrgyz_and_evaluated_in_russian_and_kyrgyz(
    browser: Browser, exchange: Exchange
) -> None:
    base = exchange.url
    owner_context = browser.new_context(java_script_enabled=False, locale="ky-KG")
    partner_context = browser.new_context(java_script_enabled=False, locale="ru-RU")
    owner, partner = owner_context.new_page(), partner_context.new_page()
    sign_in(owner, base, exchange.owner_email)
    sign_in(partner, base, exchange.partner_email)

    # Planning, in Kyrgyz: a refused form first (no title), then the whole form.
    partnership_url = open_partnership(owner, base, "ky")
    owner.locator('a[href$="/activities/new"]').click()
    owner.select_option("#kind", "lesson_visit")
    owner.fill("#starts_on", "2026-11-10")
    owner.locator("main form button[type=submit]").click()
    assert owner.locator("#error-summary").is_visible()
    assert "Иш-чарага аталыш бериңиз." in owner.locator("#error-summary").inner_text()
    owner.fill("#title", "Бөлчөктөр боюнча ачык сабак")
    owner.fill("#description", "Нарындын мугалимдери Оштогу 6-класстын сабагына келишет.")
    owner.check("#goal-0")
    owner.fill("#cover_arrangements", "Айгүл эже алардын сабактарын өтөт.")
    owner.locator("main form button[type=submit]").click()
    owner.wait_for_url(re.compile(r"/activities/[0-9a-f-]{36}\?done=planned$"))
    activity_url = owner.url.split("?")[0]
    assert "Иш-чара планга кошулду." in owner.inner_text("main")
    shot(owner, "partnership-1-planned-ky")
    owner.locator('form[action$="/done"] button').click()
    owner.wait_for_url(re.compile(r"done=done$"))

    # The partner evaluates it in Russian, from the partnership's page.
    partner.goto(f"{partnership_url}?lang=ru")
    assert "Ждёт оценки" in partner.inner_text("main")
    partner.locator(f'main a[href="{activity_url.removeprefix(base)}"]').first.click()
    assert "Насколько мероприятие продвинуло эту цель?" in partner.inner_text("main")
    evaluate(partner, "Учащиеся поняли дроби через игру.", "Начать урок раньше.", "4")
    assert "Оценка вашей школы сохранена." in partner.inner_text("main")
    shot(partner, "partnership-2-evaluated-ru")

    owner.goto(f"{activity_url}?lang=ky")
    evaluate(owner, "Мугалимдер бири-биринин сабагын көрүштү.", "Убакытты көбүрөөк берүү.", "5")
    main = owner.inner_text("main")
    assert "Учащиеся поняли дроби через игру." in main
    assert "Мугалимдер бири-биринин сабагын көрүштү." in main
    assert GOALS[0] in main

    # Every partnership page passes axe in each language (axe is injected inline).
    reader = browser.new_context(
        bypass_csp=True, storage_state=owner_context.storage_state()
    ).new_page()
    for language in LANGUAGES:
        check_accessible(reader, f"{base}/partnerships", language, "partnerships")
        check_accessible(reader, partnership_url, language, "partnership")
        check_accessible(reader, f"{partnership_url}/activities/new", language, "activity-new")
        check_accessible(reader, activity_url, language, "activity-evaluated")
        check_accessible(reader, f"{partnership_url}/summary", language, "partnership-summary")
    owner_context.close()
    partner_context.close()


def test_a_joint_project_is_planned_with_tasks_and_a_partners_resource_in_russian(
    browser: Browser, exchange: Exchange
) -> None:
    base = exchange.url
    token = httpx.post(
        f"{base}/api/auth/token",
        json={"email": exchange.partner_email, "password": PASSWORD},
        timeout=60,
    ).json()["access_token"]
    shared = httpx.post(
        f"{base}/api/resources",
        headers={"Authorization": f"Bearer {token}"},
        data={"title": "Дроби: контрольная работа", "kind": "assessment"},
        files={"file": ("test.txt", "Дроби: 3 задачи.\n".encode(), "text/plain")},
        timeout=60,
    )
    assert shared.status_code == 201, shared.text
    resource_id = shared.json()["id"]
    context = browser.new_context(java_script_enabled=False, locale="ru-RU")
    owner = context.new_page()
    sign_in(owner, base, exchange.owner_email)

    partnership_url = open_partnership(owner, base, "ru")
    owner.goto(f"{partnership_url}/activities/new")
    owner.select_option("#kind", "joint_project")
    owner.fill("#title", "Совместно пишем методы оценивания")
    owner.fill("#starts_on", "2026-12-01")
    owner.fill("#ends_on", "2027-02-26")
    owner.check(f"#resource-{resource_id}")
    owner.fill("#task_title-0", "Задания для 5 класса")
    owner.select_option("#task_owner-0", label="Айгүл Асанова")
    owner.fill("#task_due-0", "2027-01-15")
    owner.fill("#task_title-1", "Критерии оценивания")
    owner.locator("main form button[type=submit]").click()
    owner.wait_for_url(re.compile(r"/activities/[0-9a-f-]{36}\?done=planned$"))
    activity_url = owner.url.split("?")[0]
    main = owner.inner_text("main")
    assert "Задания для 5 класса" in main and "Айгүл Асанова" in main
    assert "Критерии оценивания" in main
    assert owner.locator(f'main a[href="/resources/{resource_id}"]').count() == 1
    shot(owner, "partnership-3-joint-project-ru")

    # The task's owner marks it done from the activity's form.
    owner.goto(f"{activity_url}/edit")
    assert owner.input_value("#task_title-0") == "Задания для 5 класса"
    assert owner.is_checked(f"#resource-{resource_id}")
    owner.check("#task_done-0")
    owner.check("#task_remove-1")
    owner.locator("main form button[type=submit]").click()
    owner.wait_for_url(re.compile(r"done=changed$"))
    tasks = owner.locator("main ul.tasks li")
    assert tasks.count() == 1
    assert "Выполнено" in tasks.first.inner_text()

    reader = browser.new_context(bypass_csp=True, storage_state=context.storage_state()).new_page()
    for language in LANGUAGES:
        check_accessible(reader, f"{activity_url}/edit", language, "joint-project-edit")
        check_accessible(reader, activity_url, language, "joint-project")
    context.close()
