"""Templates translate through the same catalogs, in the request's language.

`install(environment)` gives a Jinja2 environment (with `jinja2.ext.i18n`) `_`,
`gettext` and `ngettext` that read the current language at render time, so one shared
environment serves every language. Templates use Jinja's own placeholders:
`{% trans name=name %}Hello {{ name }}{% endtrans %}` or `_("Hello %(name)s", name=name)`.
The number of a plural sentence (`{% trans count=n %}`) is written with the language's
digit grouping ("1 234 ресурс табылды"), as `exchange.i18n.ngettext` writes it.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from exchange.i18n.catalogs import translations
from exchange.i18n.current import current_language
from exchange.i18n.formats import format_number


def _gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def install(environment: Any) -> None:
    """Needs `jinja2.ext.i18n` among the environment's extensions."""
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    plural = environment.globals["ngettext"]

    @pass_context
    def ngettext(context: Context, singular: str, plural_: str, num: int, **variables: Any) -> str:
        shown = {name: _shown(value) for name, value in variables.items()}
        shown.setdefault("num", _shown(num))
        return str(plural(context, singular, plural_, num, **shown))

    environment.globals["ngettext"] = ngettext


def _shown(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value)
    return value
