"""Which language a page speaks, and the translations it speaks it with.

The order: the language switch (`?lang=`, remembered in a cookie), else the signed-in
member's own choice, else an explicit `Accept-Language` of `ky`, `ru` or `en`, else the
school's first language, else Kyrgyz.
"""

from __future__ import annotations

from contextvars import ContextVar
from gettext import NullTranslations
from typing import Any, Final

from litestar import Request

from exchange.resources.languages import EXCHANGE_LANGUAGES

LANGUAGE_COOKIE: Final = "exchange_lang"
DEFAULT_LANGUAGE: Final = "ky"
LANGUAGE_NAMES: Final = {"ky": "Кыргызча", "ru": "Русский", "en": "English"}


_current: ContextVar[str] = ContextVar("exchange_page_language", default=DEFAULT_LANGUAGE)


def translations_for(language: str) -> NullTranslations:
    """The catalog of one language; the one place that knows where catalogs come from."""
    return NullTranslations()


def use_page_language(language: str) -> None:
    """Make `language` the one this request's page is written in."""
    _current.set(language)


def current_page_language() -> str:
    return _current.get()


def _gettext(message: str) -> str:
    return translations_for(_current.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations_for(_current.get()).ngettext(singular, plural, n)


def install_translations(environment: Any) -> None:
    """Templates translate in the page's language, read at render time."""
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)


def explicit_choice(request: Request[Any, Any, Any]) -> str | None:
    """`?lang=` on this request, when it names one of the exchange's languages."""
    wanted = request.query_params.get("lang")
    return wanted if wanted in EXCHANGE_LANGUAGES else None


def accepted_language(header: str) -> str | None:
    """The first of `ky`, `ru`, `en` the `Accept-Language` header asks for, by weight."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in EXCHANGE_LANGUAGES:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0:
            ranked.append((-weight, position, primary))
    return min(ranked)[2] if ranked else None


def page_language(
    request: Request[Any, Any, Any],
    member_language: str | None = None,
    school_languages: list[str] | None = None,
) -> str:
    for choice in (
        explicit_choice(request),
        request.cookies.get(LANGUAGE_COOKIE),
        member_language,
        accepted_language(request.headers.get("accept-language", "")),
        *(school_languages or []),
    ):
        if choice in EXCHANGE_LANGUAGES:
            return str(choice)
    return DEFAULT_LANGUAGE


def gettext(message: str, /, **params: Any) -> str:
    """`message` in the page's language, its `{placeholders}` filled from `params`."""
    text = translations_for(_current.get()).gettext(message)
    return text.format(**params) if params else text


_ = gettext
