"""The catalogs hold every sentence the sources write, in Kyrgyz and Russian.

The sources are extracted afresh with the README's own `pybabel extract` command and
compared with the `.po` files: a sentence added or changed in the code without its
translation fails here, and so does a fuzzy or empty translation or one whose
placeholders differ from the English.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from exchange.i18n import LANGUAGES, LazyText, translations, using_language
from exchange.i18n.catalogs import LOCALE_DIR, catalog_path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def extract_command(output: Path) -> list[str]:
    """The README's extraction command, with the template written to `output`."""
    match = re.search(r"^pybabel extract .*$", README.read_text(encoding="utf-8"), re.M)
    assert match, "the README's Translations section gives the pybabel extract command"
    words = match.group(0).split()
    words[words.index("-o") + 1] = str(output)
    return words


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    output = tmp_path_factory.mktemp("extract") / "messages.pot"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        command = extract_command(output)
        CommandLineInterface().run([command[0], "-q", *command[1:]])
    with output.open("rb") as template:
        return read_po(template)


def _messages(catalog: Catalog) -> dict[str, Message]:
    return {_key(m): m for m in catalog if m.id}


def _key(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else message.id


def _placeholders(text: str) -> set[str]:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    return names | set(re.findall(r"%\((\w+)\)s", text))


def test_the_extraction_finds_the_sentences_of_the_sources(extracted: Catalog) -> None:
    ids = set(_messages(extracted))
    assert "Not found" in ids
    assert len(ids) > 30


@pytest.mark.parametrize("language", ["ky", "ru"])
def test_every_sentence_is_translated(extracted: Catalog, language: str) -> None:
    with catalog_path(language).open("rb") as source:
        catalog = read_po(source, locale=language)
    translated = _messages(catalog)
    problems = []
    for key, wanted in _messages(extracted).items():
        message = translated.get(key)
        if message is None:
            problems.append(f"missing: {key!r}")
            continue
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        elif wanted.pluralizable and len(forms) != catalog.num_plurals:
            problems.append(f"needs {catalog.num_plurals} plural forms: {key!r}")
        elif not all(form and form.strip() for form in forms):
            problems.append(f"empty: {key!r}")
        else:
            english = _placeholders(key) | (
                _placeholders(wanted.id[1]) if wanted.pluralizable else set()
            )
            for form in forms:
                if _placeholders(form) - english - {"n"}:
                    problems.append(f"placeholders differ: {key!r} -> {form!r}")
    assert not problems, f"{language}: {len(problems)} to fix\n" + "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_declares_the_plural_rule_of_its_language(language: str) -> None:
    with catalog_path(language).open("rb") as source:
        catalog = read_po(source, locale=language)
    expected = {"ky": 2, "ru": 3, "en": 2}[language]
    assert catalog.num_plurals == expected
    assert catalog.locale is not None and str(catalog.locale) == language


def test_every_catalog_file_is_for_a_language_of_the_exchange() -> None:
    found = {path.parent.parent.name for path in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")}
    assert found == set(LANGUAGES)


def test_a_sentence_is_read_in_the_language_of_the_moment() -> None:
    title = LazyText("Not found")
    assert {lang: title.render(lang) for lang in LANGUAGES} == {
        "ky": "Табылган жок",
        "ru": "Не найдено",
        "en": "Not found",
    }
    with using_language("ru"):
        assert str(title) == "Не найдено"
    assert translations("ky").gettext("Not found") == "Табылган жок"


def test_templates_translate_in_the_language_of_the_moment() -> None:
    import jinja2

    from exchange.i18n import jinja

    environment = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    jinja.install(environment)
    template = environment.from_string("{% trans %}Not found{% endtrans %} / {{ _('Conflict') }}")
    with using_language("ky"):
        assert template.render() == "Табылган жок / Азыркы абалда мүмкүн эмес"
    with using_language("ru"):
        assert template.render() == "Не найдено / Сейчас это невозможно"
