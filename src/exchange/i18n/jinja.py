"""Templates translate through the same catalogs, in the request's language.

`install(environment)` gives a Jinja2 environment (with `jinja2.ext.i18n`) `_`,
`gettext` and `ngettext` that read the current language at render time, so one shared
environment serves every language. Templates use Jinja's own placeholders:
`{% trans name=name %}Hello {{ name }}{% endtrans %}` or `_("Hello %(name)s", name=name)`.
"""

from __future__ import annotations

from typing import Any

from exchange.i18n.catalogs import translations
from exchange.i18n.current import current_language


def _gettext(message: str) -> str:
    return translations(current_language()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ngettext(singular, plural, n)


def install(environment: Any) -> None:
    """Needs `jinja2.ext.i18n` among the environment's extensions."""
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)
