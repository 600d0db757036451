"""Sizes, days and lengths are written exactly as Babel's own `format_unit`,
`format_date` and `format_decimal` write them in each language, though the locale and
CLDR's patterns are looked up once per process."""

from __future__ import annotations

import datetime as dt

import pytest
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.units import format_unit

from exchange.i18n import using_language
from exchange.i18n.formats import format_day, format_duration, format_number, format_size

SIZES = [0, 1, 2, 5, 21, 22, 101, 1023, 1024, 1025, 1536, 2047, 2048, 10**6, 3_456_789,
         47_185_920, 10**9, 10**12, 10**13, 5 * 1024**5]  # fmt: skip
SECONDS = [0, 0.4, 1, 2, 5, 21, 59, 60, 61, 200, 3599, 3600, 3661, 7322, 2 * 86400]
UNITS = ("digital-kilobyte", "digital-megabyte", "digital-gigabyte", "digital-terabyte")


def babel_size(size: int, language: str) -> str:
    if size < 1024:
        return format_unit(size, "digital-byte", length="long", locale=language)
    value, unit = size / 1024, UNITS[0]
    for unit in UNITS:
        if value < 1024 or unit == UNITS[-1]:
            break
        value /= 1024
    return format_unit(value, unit, length="short", format="#,##0.#", locale=language)


def babel_duration(seconds: float, language: str) -> str:
    hours, rest = divmod(max(0, round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    amounts = [(hours, "duration-hour"), (minutes, "duration-minute")]
    if not hours:
        amounts.append((secs, "duration-second"))
    parts = [
        format_unit(amount, unit, length="short", locale=language)
        for amount, unit in amounts
        if amount
    ] or [format_unit(0, "duration-second", length="short", locale=language)]
    return format_list(parts, style="unit-narrow", locale=language)


@pytest.mark.parametrize("language", ["ky", "ru", "en"])
def test_sizes_days_lengths_and_numbers_read_as_babel_writes_them(language: str) -> None:
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(0, 400, 13)]
    with using_language(language):
        assert [format_size(s) for s in SIZES] == [babel_size(s, language) for s in SIZES]
        assert [format_day(d) for d in days] == [
            format_date(d, format="long", locale=language) for d in days
        ]
        assert [format_duration(s) for s in SECONDS] == [
            babel_duration(s, language) for s in SECONDS
        ]
        assert format_number(1234567) == format_decimal(1234567, locale=language)
