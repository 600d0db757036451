"""Which language a person reads: member's choice, explicit choice, Accept-Language,
school's first language, Kyrgyz."""

from __future__ import annotations

import pytest

from exchange.i18n import preferred_language, resolve_language


def test_the_members_choice_comes_first() -> None:
    assert (
        resolve_language(
            member_choice="ru",
            explicit_choice="en",
            accept_language="en",
            school_languages=["ky"],
        )
        == "ru"
    )


def test_an_explicit_choice_comes_before_the_browser() -> None:
    assert resolve_language(explicit_choice="en", accept_language="ru") == "en"


def test_the_browser_comes_before_the_school() -> None:
    assert resolve_language(accept_language="ru-RU,ru;q=0.9", school_languages=["en"]) == "ru"


def test_the_schools_first_spoken_language_comes_next() -> None:
    assert resolve_language(accept_language="de-DE", school_languages=["uz", "ru", "ky"]) == "ru"


def test_kyrgyz_when_nothing_says() -> None:
    assert resolve_language() == "ky"
    assert resolve_language(member_choice="de", accept_language="*") == "ky"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ky", "ky"),
        ("ru;q=0.5, en;q=0.8", "en"),
        ("en;q=0.5, ru;q=0.5", "en"),
        ("de, ru;q=0.1", "ru"),
        ("EN-us", "en"),
        ("ru;q=0, en;q=0.001", "en"),
        ("ru;q=0", None),
        ("ru;q=abc", None),
        ("*", None),
        ("", None),
        ("kk-KZ, ky-KG;q=0.9", "ky"),
    ],
)
def test_accept_language_is_read_with_its_q_values(header: str, expected: str | None) -> None:
    assert preferred_language(header) == expected
