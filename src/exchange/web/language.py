"""Which language a page speaks.

The language switch (`?lang=`) wins for the request that carries it and is remembered:
in a cookie, and as the member's own choice when someone is signed in. Otherwise the
exchange's order applies (`exchange.i18n.resolve_language`): the member's choice, the
remembered switch, an explicit `Accept-Language` of `ky`, `ru` or `en`, the school's
first language, Kyrgyz. Sentences come from the `exchange.i18n` catalogs.
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request

from exchange.i18n import LANGUAGES, gettext, resolve_language, use_language

LANGUAGE_COOKIE: Final = "exchange_lang"
LANGUAGE_NAMES: Final = {"ky": "Кыргызча", "ru": "Русский", "en": "English"}

_ = gettext


def explicit_choice(request: Request[Any, Any, Any]) -> str | None:
    """`?lang=` on this request, when it names one of the exchange's languages."""
    wanted = request.query_params.get("lang")
    return wanted if wanted in LANGUAGES else None


def page_language(
    request: Request[Any, Any, Any],
    member_language: str | None = None,
    school_languages: list[str] | None = None,
) -> str:
    switched = explicit_choice(request)
    if switched:
        return switched
    return resolve_language(
        member_choice=member_language,
        explicit_choice=request.cookies.get(LANGUAGE_COOKIE),
        accept_language=request.headers.get("accept-language"),
        school_languages=school_languages or (),
    )


def use_page_language(request: Request[Any, Any, Any], language: str) -> None:
    """Make `language` the one this request's page, its problems and notices are in."""
    use_language(request.scope, language)
