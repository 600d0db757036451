"""Snippets: the piece of original text around the first match, matches marked."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.kernel.text import normalise_text
from exchange.search.normalise import parse_query
from exchange.search.snippets import make_snippet, match_pattern


def _marks(snippet: str | None) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", snippet or "")


def test_a_term_marks_whole_words_that_start_with_it_in_any_case() -> None:
    snippet = make_snippet(["Эпос МАНАСТЫ окуу. Романтика эмес."], parse_query("манас"))
    assert _marks(snippet) == ["МАНАСТЫ"]


def test_a_term_inside_a_word_is_not_marked() -> None:
    snippet = make_snippet(["Романтика жана германдыктар"], parse_query("ман"))
    assert _marks(snippet) == []
    assert snippet == "Романтика жана германдыктар"


def test_yo_and_ye_match_each_other() -> None:
    snippet = make_snippet(["Учёт знаний и учет ошибок"], parse_query("учет"))
    assert _marks(snippet) == ["Учёт", "учет"]


def test_a_phrase_marks_its_words_in_sequence_only() -> None:
    text = "план урока. Урок план — не то же самое, что «план  урока»."
    snippet = make_snippet([text], parse_query('"план урока"'))
    assert _marks(snippet) == ["план урока", "план урока"]


def test_a_match_deep_in_a_long_text_is_shown_with_words_before_it() -> None:
    before = "сабак " * 20_000
    snippet = make_snippet(
        [before + "өнөктөштүктү   бекемдөө\n\nжана  башка"], parse_query("өнөктөш")
    )
    assert snippet is not None
    assert snippet.startswith("…сабак ")
    assert "<mark>өнөктөштүктү</mark> бекемдөө жана башка" in snippet
    # About 60 characters of text before the match, whole words only.
    lead = snippet[1 : snippet.index("<mark>")]
    assert 40 <= len(lead) <= 80 and lead.split() == ["сабак"] * len(lead.split())


def test_whitespace_is_collapsed_in_what_is_shown() -> None:
    snippet = make_snippet(["Биринчи\n\n\tсап   жана   экинчи"], parse_query("экинчи"))
    assert snippet == "Биринчи сап жана <mark>экинчи</mark>"


def test_the_first_text_with_a_match_is_chosen_else_the_start_of_the_first() -> None:
    query = parse_query("сынак")
    assert _marks(make_snippet(["Жок", "Сынактын планы"], query)) == ["Сынактын"]
    assert make_snippet(["Башталышы " + "сөз " * 200, "башка"], parse_query("zzz")) == (
        "Башталышы " + " ".join(["сөз"] * 53) + "…"
    )
    assert make_snippet([None, "  "], query) is None


def test_text_is_escaped_and_only_marks_are_added() -> None:
    snippet = make_snippet(["<b>Тест</b> & тесттер"], parse_query("тест"))
    assert snippet == "&lt;b&gt;<mark>Тест</mark>&lt;/b&gt; &amp; <mark>тесттер</mark>"


def _reference_pattern(words: list[str]) -> re.Pattern[str]:
    """The plain form of the same rule: a word start, then the normalised letters (each
    of the characters that normalise to it), then the rest of the word."""
    alternatives = []
    for word in sorted(words, key=len, reverse=True):
        letters = "".join(
            "(?:" + "|".join(re.escape(c) for c in _preimages_of(letter)) + ")[\u0300-\u036f]*"
            for letter in word
        )
        alternatives.append(r"(?<![^\W_])" + letters + r"(?:[^\W_]|[\u0300-\u036f])*")
    return re.compile("|".join(alternatives))


_SAMPLE_CHARACTERS = "абвгдеёжзийклмнңоөпрстуүфхцчшщъыьэюяАБЕЁҢӨҮabcdeéABCÉ _-.,1\n\t"


def _preimages_of(letter: str) -> list[str]:
    return [c for c in _SAMPLE_CHARACTERS if normalise_text(c) == letter] or [letter]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=_SAMPLE_CHARACTERS, max_size=200),
    words=st.lists(st.text(alphabet="абеёңөүaeé", min_size=1, max_size=3), min_size=1, max_size=2),
)
def test_the_pattern_finds_what_the_plain_rule_finds(text: str, words: list[str]) -> None:
    terms = [normalise_text(word) for word in words if normalise_text(word)]
    if not terms:
        return
    query = parse_query(" ".join(terms))
    pattern = match_pattern(query)
    assert pattern is not None
    reference = _reference_pattern(list(query.terms))
    found = [(m.start(), m.end()) for m in pattern.finditer(text)]
    expected = [(m.start(), m.end()) for m in reference.finditer(text)]
    assert found == expected
