"""The exchange in Kyrgyz, Russian and English: catalogs, the language of a request,
and the functions every person-facing sentence goes through.

- `gettext` / `_`, `ngettext`: a sentence in the current language, placeholders filled.
- `lazy_gettext`, `lazy_ngettext`: the same, translated when shown (module constants,
  stored notices).
- `resolve_language(member_choice=, explicit_choice=, accept_language=, school_languages=)`:
  which language a person reads.
- `use_language(scope, language)`: make it the request's language (texts, problems,
  `Content-Language`); `using_language(language)`: a block written for someone else
  (a notice's recipient).
- `format_size`, `format_day`, `format_time_of_day`, `format_number`,
  `format_duration`, `format_pages`, `format_download_cost`: sizes, dates, times,
  numbers, lengths and what a download costs ("12 pages, 3.4 MB") as the current
  language writes them (Babel's CLDR data), days and times in the exchange's time zone.
- `exchange.i18n.jinja.install(environment)`: the same catalogs in Jinja2 templates.

Catalogs: `exchange/locale/<language>/LC_MESSAGES/messages.po`; how to change a
translation is in the README ("Translations").
"""

from __future__ import annotations

from exchange.i18n.catalogs import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, translations
from exchange.i18n.current import (
    N_,
    LazyText,
    _,
    current_language,
    gettext,
    lazy_gettext,
    lazy_ngettext,
    ngettext,
    set_language,
    using_language,
)
from exchange.i18n.formats import (
    format_day,
    format_download_cost,
    format_duration,
    format_number,
    format_pages,
    format_size,
    format_time_of_day,
)
from exchange.i18n.middleware import LanguageMiddleware, request_language, use_language
from exchange.i18n.negotiation import preferred_language, resolve_language

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "N_",
    "LanguageMiddleware",
    "LazyText",
    "_",
    "current_language",
    "format_day",
    "format_download_cost",
    "format_duration",
    "format_number",
    "format_pages",
    "format_size",
    "format_time_of_day",
    "gettext",
    "lazy_gettext",
    "lazy_ngettext",
    "ngettext",
    "preferred_language",
    "request_language",
    "resolve_language",
    "set_language",
    "translations",
    "use_language",
    "using_language",
]
