"""Every sentence of the installed Click a person at the console can meet is in the
exchange's catalogs (`exchange.i18n.console.CLICK_SENTENCES`), so a Click upgrade that
adds or rewords one fails here instead of reaching a Kyrgyz console in English."""

from __future__ import annotations

from pathlib import Path

import click
from babel.messages.extract import extract_from_dir

from exchange.i18n import LANGUAGES, translations
from exchange.i18n.console import CLICK_PLURAL_SENTENCES, CLICK_SENTENCES

# Said only to a programmer who declared a command wrongly, or on Windows, or by
# parts of Click the exchange does not use (an editor, progress bars, colours, shell
# completion).
NEVER_SHOWN = {
    "Name '{name}' defined twice",
    "Boolean option {decl!r} cannot use the same flag for true/false.",
    "Could not determine name for option with declarations {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument "
    "instead? Did you mean to pass '--{name}'?",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}",
    "Shell completion is not supported for Bash versions older than 4.4.",
    "Couldn't detect Bash version, shell completion is not supported.",
    "{editor}: Editing failed",
    "{editor}: Editing failed: {e}",
    "d",
    "Windows error: {error}",
    "Unknown color {colour!r}",
    "Unknown standard stream '{name}'",
}


def clicks_sentences() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(Path(click.__file__).parent)
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_each_sentence_click_shows_a_person_is_in_the_catalogs() -> None:
    ours = set(CLICK_SENTENCES) | {text.message for text in CLICK_PLURAL_SENTENCES}
    assert clicks_sentences() - NEVER_SHOWN - ours == set()


def test_each_of_them_reads_in_kyrgyz_and_russian() -> None:
    for language in LANGUAGES:
        catalog = translations(language)
        for sentence in CLICK_SENTENCES:
            written = catalog.gettext(sentence)
            assert written == sentence if language == "en" else written != sentence, sentence
        for text in CLICK_PLURAL_SENTENCES:
            assert text.plural is not None
            written = catalog.ngettext(text.message, text.plural, 2)
            assert (written == text.plural) == (language == "en"), text.message
