"""No page template holds text a person reads outside the catalogs.

Each template under `src/exchange/**/templates/` is parsed with Jinja2 (with its i18n
extension, as the app renders it). The literal HTML between the template's tags and
expressions is put back together, with a marker where an expression or a `{% trans %}`
stands, and read as HTML: a letter in the text of an element, or in an attribute a
person reads (`title`, `alt`, `placeholder`, `aria-label`, a button's `value`, ...),
is text outside `{% trans %}` / `_()`. Script and style bodies are code, not text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
from jinja2 import nodes

SOURCE = Path(__file__).resolve().parents[2] / "src" / "exchange"
TEMPLATE_SUFFIXES = {".html", ".htm", ".jinja", ".jinja2", ".j2", ".txt", ".xml", ".svg"}
READ_ATTRIBUTES = {
    "title",
    "alt",
    "placeholder",
    "aria-label",
    "aria-description",
    "aria-placeholder",
    "aria-roledescription",
    "aria-valuetext",
    "label",
    "summary",
    "abbr",
}
MARKER = "\x00"
# Attributes a macro writes into the tag that calls it (`{% if x %} checked{% endif %}`,
# ` aria-describedby="..."`): markup, not text, unless a person reads the attribute.
BOOLEAN_ATTRIBUTES = {
    "checked",
    "selected",
    "disabled",
    "required",
    "multiple",
    "readonly",
    "hidden",
    "autofocus",
    "open",
    "novalidate",
    "async",
    "defer",
}
ATTRIBUTE = re.compile(r"""([A-Za-z_:][-\w:.]*)\s*=\s*("[^"]*"|'[^']*')""")


def templates() -> list[Path]:
    return sorted(
        path
        for path in SOURCE.rglob("*")
        if path.is_file() and "templates" in path.parts and path.suffix in TEMPLATE_SUFFIXES
    )


def environment() -> jinja2.Environment:
    return jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)


def skeleton(source: str) -> str:
    """The template's literal text in order, each expression replaced by a marker."""
    tree = environment().parse(source)
    parts: list[str] = []
    for output in tree.find_all(nodes.Output):
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data)
            else:
                parts.append(MARKER)
    return "".join(parts)


class _TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._code = 0
        self._tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            readable = (
                name in READ_ATTRIBUTES
                or (
                    name == "value"
                    and tag in {"input", "button"}
                    and (values.get("type") or "").lower() in {"submit", "button", "reset"}
                )
                or (name == "content" and tag == "meta" and values.get("name") == "description")
            )
            if readable and value and _has_letters(value):
                self.found.append(f'<{tag} {name}="{value}">')
        if tag in {"script", "style"}:
            self._code += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._code:
            self._code -= 1

    def handle_data(self, data: str) -> None:
        if self._code:
            return
        for name, quoted in ATTRIBUTE.findall(data):
            if name.lower() in READ_ATTRIBUTES and _has_letters(quoted[1:-1]):
                self.found.append(f"{name}={quoted}")
        rest = ATTRIBUTE.sub(" ", data)
        words = [word for word in rest.split() if word.lower() not in BOOLEAN_ATTRIBUTES]
        if _has_letters(" ".join(words)):
            self.found.append(data.strip())


def _has_letters(text: str) -> bool:
    return any(char.isalpha() for char in text.replace(MARKER, ""))


def untranslated_text(source: str) -> list[str]:
    finder = _TextFinder()
    finder.feed(skeleton(source))
    finder.close()
    return finder.found


def test_the_check_finds_text_outside_the_catalogs() -> None:
    assert untranslated_text("<p>Upload a lesson plan</p>") == ["Upload a lesson plan"]
    assert untranslated_text('<input placeholder="Search">') == ['<input placeholder="Search">']
    assert untranslated_text('<img alt="Logo" src="{{ src }}">') == ['<img alt="Logo">']
    assert untranslated_text('{% if x %}<button type="submit" value="Send">{% endif %}') == [
        '<button value="Send">'
    ]
    assert untranslated_text("{% block title %}Кирүү{% endblock %}") == ["Кирүү"]
    assert untranslated_text('{% macro m() %} title="Open the file"{% endmacro %}') == [
        'title="Open the file"'
    ]


def test_the_check_passes_translated_text_markup_and_code() -> None:
    source = """{% extends "base.html" %}
    {% block content %}
    <section class="card" id="upload-{{ id }}">
      <h1>{% trans %}Upload a lesson plan{% endtrans %}</h1>
      <label for="title">{{ _("Title") }}</label>
      <input id="title" name="title" placeholder="{{ _('e.g. Fractions') }}">
      <p>{% trans count=n %}{{ count }} file{% pluralize %}{{ count }} files{% endtrans %}</p>
      <script>htmx.config.defaultSwapStyle = "outerHTML";</script>
      <style>.card { color: red }</style>
      &nbsp;&mdash; {{ resource.title }} · 2026
      <input{% if on %} checked{% endif %}{% if bad %} aria-invalid="true"{% endif %}>
    </section>
    {% endblock %}"""
    assert untranslated_text(source) == []


def test_no_template_holds_text_outside_the_catalogs() -> None:
    """Runs over every template there is (none yet is not a failure); a template that
    does not parse fails here too."""
    found = templates()
    problems = {
        str(path.relative_to(SOURCE)): text
        for path in found
        if (text := untranslated_text(path.read_text(encoding="utf-8")))
    }
    assert not problems, (
        f"{len(problems)} of {len(found)} templates hold text outside {{% trans %}}/_(): "
        + "; ".join(f"{name}: {texts}" for name, texts in problems.items())
    )


def test_a_macro_that_writes_attributes_is_markup() -> None:
    source = (
        '{% macro describedby(name) %}{% if name %} aria-describedby="{{ name }}-hint"'
        '{% endif %} aria-invalid="true"{% endmacro %}'
    )
    assert untranslated_text(source) == []
