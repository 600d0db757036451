"""Which language a person reads: their choice, else what their browser asks for, else
their school's first language, else Kyrgyz."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from exchange.i18n.catalogs import DEFAULT_LANGUAGE, LANGUAGES, SOURCE_LANGUAGE


def resolve_language(
    *,
    member_choice: str | None = None,
    explicit_choice: str | None = None,
    accept_language: str | None = None,
    school_languages: Iterable[str] = (),
) -> str:
    """The language of a request, in this order: the member's saved `language`; an
    explicit choice made for this visit (the pages' remembered `?lang=`); the best of
    `Accept-Language` among ky, ru and en; the first of the school's languages that the
    exchange speaks; Kyrgyz."""
    for choice in (member_choice, explicit_choice):
        if choice in LANGUAGES:
            return choice
    asked = preferred_language(accept_language)
    if asked is not None:
        return asked
    for code in school_languages:
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def console_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the command line: the console's locale (`LANGUAGE`, `LC_ALL`,
    `LC_MESSAGES`, `LANG`, as gettext reads them) when it is ky, ru or en, else English
    (an operator's console, often `C.UTF-8`)."""
    environ = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            for candidate in value.split(":"):
                code = candidate.split("_")[0].split(".")[0].lower()
                if code in LANGUAGES:
                    return code
            if name != "LANGUAGE":
                break
    return SOURCE_LANGUAGE


def preferred_language(accept_language: str | None) -> str | None:
    """The exchange's language an `Accept-Language` header prefers (RFC 9110 §12.5.4),
    or None when it names none of them (`*` and `q=0` name nothing)."""
    if not accept_language:
        return None
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(accept_language.split(",")):
        tag, _, parameters = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        quality = _quality(parameters)
        if quality <= 0:
            continue
        candidate = (-quality, position, primary)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else None


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0
