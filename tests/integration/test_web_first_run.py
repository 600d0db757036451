"""A fresh install's first run: `/` offers to create the first school and its admin,
guarded by the one-time setup code printed by `exchange serve`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from exchange.accounts.first_run import FirstRunService
from exchange.clock import SystemClock
from exchange.config import Settings
from exchange.errors import NotFound
from exchange.models import SetupCode
from tests.pages import Visitor
from tests.resource_fixtures import database


async def _code(settings: Settings) -> str | None:
    async with database(settings) as session:
        return await FirstRunService(session, settings, SystemClock()).issue_code()


async def test_the_first_school_is_made_with_the_setup_code_only(
    client: object, visitors: Callable[[], Visitor], settings: Settings
) -> None:
    code = await _code(settings)
    assert code is not None
    browser = visitors()
    home = await browser.get("/")
    assert home.status_code == 200
    assert 'action="/setup"' in home.text
    fields = {
        "name": "Ош шаарындагы №5 мектеп",
        "region": "Osh",
        "full_name": "Айгүл Асанова",
        "email": "director@school5.kg",
        "password": "a long passphrase",
    }
    wrong = await browser.post_form(
        "/setup", {"setup_code": "AAAA-BBBB-CCCC", **fields}, token_from="/"
    )
    assert wrong.status_code == 422
    assert '<a href="#setup_code">' in wrong.text
    assert "a long passphrase" not in wrong.text
    assert 'action="/setup"' in (await browser.get("/")).text  # still no school

    made = await browser.post_form("/setup", {"setup_code": code.lower(), **fields}, token_from="/")
    assert made.status_code == 303
    assert made.headers["location"] == "/"
    welcome = await browser.get("/")
    assert welcome.status_code == 200
    assert "Айгүл Асанова" in welcome.text
    assert "Ош шаарындагы №5 мектеп" in welcome.text

    latecomer = visitors()
    assert (await latecomer.get("/")).status_code == 303  # sign in, no setup any more
    again = await latecomer.post_form(
        "/setup", {"setup_code": code, **fields, "email": "other@school.kg"}, token_from="/sign-in"
    )
    assert again.status_code == 404
    assert await _code(settings) is None


async def test_each_instance_prints_a_code_that_works_until_the_first_school(
    client: object, visitors: Callable[[], Visitor], settings: Settings
) -> None:
    # Two instances start on one database, each printing its code; the proxy may send
    # the page to either.
    first, second = await _code(settings), await _code(settings)
    assert first is not None and second is not None and first != second
    fields = {
        "name": "Нарын айылдык мектеби",
        "region": "Naryn",
        "full_name": "Бакыт Осмонов",
        "password": "a long passphrase",
    }
    made = await visitors().post_form(
        "/setup", {"setup_code": first, **fields, "email": "a@naryn.kg"}, token_from="/"
    )
    assert made.status_code == 303, made.text
    # The school used up every code: the other instance's makes no second one.
    async with database(settings) as session:
        service = FirstRunService(session, settings, SystemClock())
        with pytest.raises(NotFound):
            await service.create_first_school(
                setup_code=second,
                name="Another",
                region=None,
                admin_name="Someone",
                admin_email="b@naryn.kg",
                admin_password="a long passphrase",
            )
        assert await session.scalar(select(func.count()).select_from(SetupCode)) == 0
