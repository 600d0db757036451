"""The gettext catalogs of the exchange: one per language, loaded once per process.

The catalogs live in the package (`exchange/locale/<language>/LC_MESSAGES/messages.po`).
The build (`hatch_build.py`, also for `pip install -e .`) compiles each `.po` to its
`.mo`, which is what a running exchange reads. When a `.mo` is missing or older than its
`.po` (a translator edited a sentence and did not run `pybabel compile`), the `.po` is
compiled here in memory instead: reading a catalog of a few hundred sentences takes a
few milliseconds, once per process, and a stale `.mo` never hides a corrected sentence.
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path
from typing import Final

import structlog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: Final = ("ky", "ru", "en")
DEFAULT_LANGUAGE: Final = "ky"  # of a request when nothing else says
SOURCE_LANGUAGE: Final = "en"  # the sentences in the code
# Each language named in itself, as a language switch shows it.
LANGUAGE_NAMES: Final = {"ky": "Кыргызча", "ru": "Русский", "en": "English"}
DOMAIN: Final = "messages"
LOCALE_DIR: Final = Path(__file__).resolve().parent.parent / "locale"

logger = structlog.get_logger("exchange.i18n")


def catalog_path(language: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of `language` (one of `LANGUAGES`)."""
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not one of the exchange's languages {LANGUAGES}.")
    po, mo = catalog_path(language, ".po"), catalog_path(language, ".mo")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    if po.is_file():
        with po.open("rb") as source:
            catalog = read_po(source, locale=language, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    if language != "en":
        logger.warning("no catalog; people will read English", language=language, path=str(po))
    return gettext.NullTranslations()
