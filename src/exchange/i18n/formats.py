"""Numbers, sizes, dates and times written the way the reader's language writes them.

Babel's CLDR data decides: "1,5 МБ" in Kyrgyz and Russian, "1.5 MB" in English; "7 декабря
2026 г.", "2026-ж., 7-декабрь", "December 7, 2026"; "3 мүн 20 сек", "3 мин 20 с". Every
size, length, date or time a person reads (pages, problem details, notices, e-mails,
documents, the command line) goes through here, in the current language
(`exchange.i18n.current_language`). A moment is shown as the exchange's time zone shows it
(`exchange.clock`, `EXCHANGE_TIME_ZONE`): 20:30 UTC on 1 March is 2 March, 02:30, in
Bishkek.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Final, Literal

from babel import Locale
from babel.dates import DateTimePattern, format_time, get_date_format
from babel.lists import format_list
from babel.numbers import NumberPattern, parse_pattern
from babel.units import UnknownUnitError, _find_unit_pattern, format_unit

from exchange.clock import local_day, local_time
from exchange.i18n.current import current_language, gettext, ngettext

Length = Literal["short", "long", "narrow"]
_STEP: Final = 1024
# CLDR's units of digital size, smallest first; the short forms are "КБ", "МБ", "ГБ".
_UNITS: Final = ("digital-kilobyte", "digital-megabyte", "digital-gigabyte", "digital-terabyte")


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


@functools.cache
def _unit_patterns(language: str, unit: str, length: Length) -> dict[str, str]:
    """CLDR's patterns of `unit` by plural form, as `babel.units.format_unit` finds them
    (looked up once: a list of files writes dozens of sizes)."""
    locale = _locale(language)
    found = _find_unit_pattern(unit, locale=locale)
    if not found:
        raise UnknownUnitError(unit=unit, locale=locale)
    return dict(locale._data["unit_patterns"][found].get(length, {}))


def _unit(value: float, unit: str, length: Length, number_format: str | None = None) -> str:
    """`babel.units.format_unit(value, unit, length, number_format)` in the current
    language, with the locale and the unit's patterns looked up once per process."""
    language = current_language()
    locale = _locale(language)
    patterns = _unit_patterns(language, unit, length)
    pattern = patterns.get(locale.plural_form(value)) or patterns.get("other")
    if pattern is None:  # pragma: no cover - CLDR has every size unit in every language
        return format_unit(value, unit, length=length, format=number_format, locale=locale)
    number: str = _number_pattern(language, number_format).apply(value, locale)
    return pattern.format(number)


@functools.cache
def _number_pattern(language: str, number_format: str | None) -> NumberPattern:
    """The pattern `format_decimal(value, number_format, locale)` applies, parsed once."""
    locale = _locale(language)
    return parse_pattern(locale.decimal_formats[None] if number_format is None else number_format)


def format_number(value: float) -> str:
    """`value` with the language's digit grouping and decimal sign: "12 345", "12,345"."""
    language = current_language()
    written: str = _number_pattern(language, None).apply(value, _locale(language))
    return written


def format_size(size: int) -> str:
    """A file size in the largest unit that keeps it at least 1, with one decimal at
    most: "840 байт", "1,5 МБ", "2 ГБ" (1 KB is 1,024 bytes, as file managers show)."""
    if size < _STEP:
        return _unit(size, "digital-byte", "long")
    value = size / _STEP
    for unit in _UNITS:
        if value < _STEP or unit == _UNITS[-1]:
            break
        value /= _STEP
    return _unit(value, unit, "short", "#,##0.#")


def format_duration(seconds: float) -> str:
    """A length of sound or video to the second, in CLDR's short units: "3 min 20 sec",
    "3 мин 20 с", "1 ст 5 мүн" (past an hour, the seconds are left out)."""
    language = current_language()
    hours, rest = divmod(max(0, round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    amounts = [(hours, "duration-hour"), (minutes, "duration-minute")]
    if not hours:
        amounts.append((secs, "duration-second"))
    parts = [_unit(amount, unit, "short") for amount, unit in amounts if amount] or [
        _unit(0, "duration-second", "short")
    ]
    return format_list(parts, style="unit-narrow", locale=language)


def format_pages(pages: int) -> str:
    """ "1 page", "12 pages", "12 бет", "5 страниц" (CLDR plural forms)."""
    return ngettext("{n} page", "{n} pages", pages)


def format_download_cost(
    size: int, *, pages: int | None = None, duration_seconds: float | None = None
) -> str:
    """What a download costs a teacher on a slow link: "12 pages, 3.4 MB", "3 min 20 sec,
    45 MB", or the size alone when the file tells neither."""
    if duration_seconds is not None:
        length = format_duration(duration_seconds)
    elif pages:
        length = format_pages(pages)
    else:
        return format_size(size)
    return gettext("{length}, {size}", length=length, size=format_size(size))


def format_day(value: dt.date | dt.datetime | None) -> str:
    """A date (a moment's day in the exchange's time zone), as the language writes it in
    full."""
    if value is None:
        return ""
    day = local_day(value) if isinstance(value, dt.datetime) else value
    return _long_date(current_language()).apply(day, _locale(current_language()))


@functools.cache
def _long_date(language: str) -> DateTimePattern:
    """The language's long date pattern, as `format_date(format="long")` looks it up."""
    return get_date_format("long", locale=_locale(language))


def format_time_of_day(value: dt.datetime | None) -> str:
    """A moment's time of day on the exchange's clocks, as the language writes it
    ("14:05", "2:05 PM")."""
    if value is None:
        return ""
    return format_time(local_time(value).time(), format="short", locale=current_language())
