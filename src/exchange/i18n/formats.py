"""Numbers, sizes and dates written the way the reader's language writes them.

Babel's CLDR data decides: "1,5 МБ" in Kyrgyz and Russian, "1.5 MB" in English; "7 декабря
2026 г.", "2026-ж., 7-декабрь", "December 7, 2026". Every size or date a person reads
(pages, problem details, notices, the command line) goes through here, in the current
language (`exchange.i18n.current_language`).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from babel.dates import format_date
from babel.numbers import format_decimal
from babel.units import format_unit

from exchange.i18n.current import current_language

_STEP: Final = 1024
# CLDR's units of digital size, smallest first; the short forms are "КБ", "МБ", "ГБ".
_UNITS: Final = ("digital-kilobyte", "digital-megabyte", "digital-gigabyte", "digital-terabyte")


def format_number(value: float) -> str:
    """`value` with the language's digit grouping and decimal sign: "12 345", "12,345"."""
    return format_decimal(value, locale=current_language())


def format_size(size: int) -> str:
    """A file size in the largest unit that keeps it at least 1, with one decimal at
    most: "840 байт", "1,5 МБ", "2 ГБ" (1 KB is 1,024 bytes, as file managers show)."""
    language = current_language()
    if size < _STEP:
        return format_unit(size, "digital-byte", length="long", locale=language)
    value = size / _STEP
    for unit in _UNITS:
        if value < _STEP or unit == _UNITS[-1]:
            break
        value /= _STEP
    return format_unit(value, unit, length="short", format="#,##0.#", locale=language)


def format_day(value: dt.date | dt.datetime | None) -> str:
    """A date (a moment's date in UTC), as the language writes it in full."""
    if value is None:
        return ""
    day = value.date() if isinstance(value, dt.datetime) else value
    return format_date(day, format="long", locale=current_language())
