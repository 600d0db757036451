"""Sizes, dates, numbers, file types and placeholders are written in the reader's
language, the way CLDR says that language writes them."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

import pytest

from exchange.files.media_types import PDF, describe, type_name
from exchange.i18n import (
    format_day,
    format_download_cost,
    format_duration,
    format_size,
    ngettext,
    using_language,
)
from exchange.kernel.refs import Names
from exchange.reuse import reasons


@pytest.mark.parametrize(
    ("language", "size", "written"),
    [
        ("ky", 840, "840 байт"),
        ("ky", 1_572_864, "1,5 МБ"),
        ("ru", 1_572_864, "1,5 МБ"),
        ("en", 1_572_864, "1.5 MB"),
        ("ru", 65_536, "64 кБ"),
        ("en", 3 * 1024**3, "3 GB"),
    ],
)
def test_a_size_is_written_in_the_readers_units(language: str, size: int, written: str) -> None:
    with using_language(language):
        assert format_size(size).replace("\xa0", " ") == written


@pytest.mark.parametrize(
    ("language", "size", "pages", "seconds", "written"),
    [
        ("en", 3_565_158, 12, None, "12 pages, 3.4 MB"),
        ("en", 1_000, 1, None, "1 page, 1,000 bytes"),
        ("ru", 3_565_158, 12, None, "12 страниц, 3,4 МБ"),
        ("ru", 3_565_158, 2, None, "2 страницы, 3,4 МБ"),
        ("ru", 3_565_158, 21, None, "21 страница, 3,4 МБ"),
        ("ky", 3_565_158, 12, None, "12 бет, 3,4 МБ"),
        ("en", 47_185_920, None, 200, "3 min 20 sec, 45 MB"),
        ("ru", 47_185_920, None, 200.4, "3 мин 20 с, 45 МБ"),
        ("ky", 47_185_920, None, 200, "3 мүн 20 сек, 45 МБ"),
        ("ky", 47_185_920, None, 40, "40 сек, 45 МБ"),
        ("ky", 2_048, None, None, "2 кБ"),
        ("ru", 2_048, 0, None, "2 кБ"),
    ],
)
def test_what_a_download_costs_is_its_pages_or_length_and_its_size(
    language: str, size: int, pages: int | None, seconds: float | None, written: str
) -> None:
    with using_language(language):
        cost = format_download_cost(size, pages=pages, duration_seconds=seconds)
    assert cost.replace("\xa0", " ").replace("\u202f", " ") == written


def test_a_length_past_an_hour_leaves_the_seconds_out() -> None:
    with using_language("en"):
        assert format_duration(3_725).replace("\xa0", " ") == "1 hr 2 min"
        assert format_duration(0).replace("\xa0", " ") == "0 sec"


def test_a_date_is_written_as_each_language_writes_it() -> None:
    day = dt.date(2026, 12, 7)
    written = {}
    for language in ("ky", "ru", "en"):
        with using_language(language):
            written[language] = format_day(day).replace("\u202f", " ")
    assert written == {
        "ky": "2026-ж., 7-декабрь",
        "ru": "7 декабря 2026 г.",
        "en": "December 7, 2026",
    }


def test_russian_numbers_take_the_form_cldr_gives_them() -> None:
    with using_language("ru"):
        forms = [ngettext("{n} file is in use.", "{n} files are in use.", n) for n in (1, 3, 5, 21)]
        grouped = ngettext("{n} file is in use.", "{n} files are in use.", 12_345)
    assert forms == [
        "Используется 1 файл.",
        "Используются 3 файла.",
        "Используются 5 файлов.",
        "Используется 21 файл.",
    ]
    assert grouped.replace("\xa0", " ") == "Используются 12 345 файлов."


def test_a_file_type_is_named_in_the_readers_language() -> None:
    with using_language("ky"):
        assert (str(type_name(PDF)), str(describe(PDF))) == ("PDF документи", "PDF документи")
        assert str(type_name("text/markdown")) == "Жөнөкөй текст"
    with using_language("ru"):
        assert str(type_name(PDF)) == "Документ PDF"


def test_a_school_or_member_no_longer_known_is_named_in_the_readers_language() -> None:
    names = Names({}, {})
    with using_language("ky"):
        assert names.school(uuid4()).name == "(мурдагы мектеп)"
        member = names.member(uuid4())
        assert member is not None and member.full_name == "(мурдагы мүчө)"
    with using_language("ru"):
        assert names.school(uuid4()).name == "(бывшая школа)"


def test_a_stored_reason_is_written_when_read_and_an_old_english_one_still_reads() -> None:
    a, b = uuid4(), uuid4()
    names = Names({a: "Ош мектеби", b: "Нарын мектеби"}, {})
    stored = reasons.partnership_ended(a, b)
    assert reasons.schools_named([stored, "withdrawn", None]) == [a, b]
    with using_language("ky"):
        assert reasons.cut_in_words(stored, names) == (
            "Ош мектеби менен Нарын мектеби ортосундагы өнөктөштүк аяктады."
        )
        # Written before reasons were codes: a sentence the catalogs know is translated,
        assert reasons.cut_in_words("The share permission was withdrawn.", names) == (
            "Бөлүшүүгө берилген уруксат кайтарылып алынды."
        )
        # and any other is shown as it was stored.
        assert reasons.closed_in_words("Closed by hand.", names) == "Closed by hand."
        assert reasons.closed_in_words(None, names) is None


def test_a_pages_plural_sentence_groups_its_number_and_takes_the_languages_form() -> None:
    from exchange.web.templating import create_environment

    found = create_environment().from_string(
        "{% trans count=n %}{{ count }} resource found{% pluralize %}"
        "{{ count }} resources found{% endtrans %}"
    )
    written = {}
    for language in ("ky", "ru", "en"):
        with using_language(language):
            written[language] = [found.render(n=n).replace("\xa0", " ") for n in (1, 3, 1234)]
    assert written == {
        "ky": ["1 ресурс табылды", "3 ресурс табылды", "1 234 ресурс табылды"],
        "ru": ["Найден 1 ресурс", "Найдено 3 ресурса", "Найдено 1 234 ресурса"],
        "en": ["1 resource found", "3 resources found", "1,234 resources found"],
    }


def test_a_refusal_msgspec_words_only_in_english_points_other_readers_to_the_documentation() -> (
    None
):
    from exchange.problems import _value_in_words

    novel = "Expected `str` that is a palindrome"
    with using_language("ky"):
        assert _value_in_words("'title'", novel) == (
            "'title' кабыл алынбайт: анын кандай маанилерди ала турганын API "
            "документациясынан караңыз."
        )
        assert _value_in_words("'limit'", "Number out of range") == (
            "'limit' — ресурс алмашуу үчүн өтө чоң сан."
        )
    with using_language("en"):
        assert _value_in_words("'title'", novel) == (
            "'title' is not acceptable: Expected `str` that is a palindrome."
        )


def test_a_partnership_reason_without_its_schools_names_them_as_unknown() -> None:
    with using_language("ky"):
        assert reasons.cut_in_words("partnership_ended", Names({}, {})) == (
            "(мурдагы мектеп) менен (мурдагы мектеп) ортосундагы өнөктөштүк аяктады."
        )
