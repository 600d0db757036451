"""Templates translate through the same catalogs, in the request's language.

`install(environment)` gives a Jinja2 environment (with `jinja2.ext.i18n`, autoescaping)
`_`, `gettext` and `ngettext` that read the current language at render time, so one
shared environment serves every language. Templates use Jinja's own placeholders:
`{% trans name=name %}Hello {{ name }}{% endtrans %}` or `_("Hello %(name)s", name=name)`.
The number of a plural sentence (`{% trans count=n %}`) is written with the language's
digit grouping ("1 234 ресурс табылды"), as `exchange.i18n.ngettext` writes it.

They behave as `jinja2.ext.i18n`'s "newstyle" callables in an autoescaping environment
(the translation is markup, the values filled in are escaped) but are plain functions:
a page holds dozens of sentences, and Jinja's own go through the template context three
times for each. A sentence without values is kept once written, per language.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from exchange.i18n.catalogs import translations
from exchange.i18n.current import current_language
from exchange.i18n.formats import format_number

_written: dict[tuple[str, str], Markup] = {}


def _gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def gettext(message: str, /, **variables: Any) -> Markup:
    """`message` in the current language, `%(name)s` filled from `variables`, escaped."""
    language = current_language()
    if not variables:
        key = (language, message)
        written = _written.get(key)
        if written is None:
            text = translations(language).gettext(message)
            written = _written[key] = _markup(text) % {}
        return written
    return _markup(translations(language).gettext(message)) % variables


def ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> Markup:
    """The form of the sentence for `num` in the current language, `%(num)s` written
    with the language's digit grouping, the other values filled in and escaped."""
    shown = {name: _shown(value) for name, value in variables.items()}
    shown.setdefault("num", _shown(num))
    text = translations(current_language()).ngettext(singular, plural, num)
    return _markup(text) % shown


def _markup(translation: str) -> Markup:
    """A sentence of the catalogs as markup, as Jinja's own i18n makes it: the catalogs
    are the exchange's files (their sentences hold no tags), and every value filled in
    with `%` is escaped."""
    return Markup(translation)  # noqa: S704 - the catalogs' own text, values escaped


def install(environment: Any) -> None:
    """Needs `jinja2.ext.i18n` among the environment's extensions, and autoescaping."""
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    environment.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)


def _shown(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value)
    return value
