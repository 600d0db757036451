"""The one normalisation shared by indexing and querying, and the search-box parser.

What these protect: a query matches indexed text whatever the case, ё/е spelling or
Kyrgyz letter variant on either side; Kyrgyz letters survive; and nothing a user types
can reach FTS5 or tsquery as syntax.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.kernel.text import normalise_text
from exchange.search.normalise import ParsedQuery, parse_query

# A term or phrase word: letters and digits only (no underscore, no FTS5/tsquery syntax).
ONLY_LETTERS_AND_DIGITS = re.compile(r"[^\W_]+")
SYNTAX_CHARACTERS = set("\"'*:&|!-()^+~{}[]<>@\\/.,;")

# From the handbook in shared/seed.
KYRGYZ_SENTENCE = (
    "Жана почта сыяктуу салттуу каражаттар аркылуу жүргүзүлүүчү өнөктөштүктү эске алабыз."
)


def words(text: str) -> list[str]:
    return normalise_text(text).split(" ")


# --- normalise_text ---------------------------------------------------------------


def test_cyrillic_capitals_fold_to_the_same_words_as_small_letters() -> None:
    assert normalise_text("МЕКТЕП ӨНӨКТӨШТҮГҮ ҢҮ") == normalise_text("мектеп өнөктөштүгү ңү")
    assert normalise_text("Оценивание УЧАЩИХСЯ") == "оценивание учащихся"


def test_yo_is_written_as_ye_on_both_sides() -> None:
    assert normalise_text("Ёлка, ёж и всё") == "елка еж и все"
    assert normalise_text("ЁЛКА") == normalise_text("елка")
    # ё typed as е followed by a combining diaeresis
    assert normalise_text("е\u0308лка") == "елка"


def test_kyrgyz_letters_survive_and_their_variants_fold_to_them() -> None:
    assert normalise_text("Ң ң Ө ө Ү ү") == "ң ң ө ө ү ү"
    # The handbook itself types көңүлдүү with ӊ (en with tail) once in a while.
    assert normalise_text("көӊүлдүү КӨӉҮЛ") == "көңүлдүү көңүл"
    assert normalise_text("ӈ ɵ") == "ң ө"


def test_short_i_stays_a_letter_of_its_own_while_stress_marks_go() -> None:
    assert normalise_text("Йод, бай") == "йод бай"
    assert normalise_text("за\u0301мок замо\u0301к") == "замок замок"
    assert normalise_text("И\u0306") == "й"


def test_latin_accents_compatibility_forms_and_ligatures_fold() -> None:
    assert normalise_text("Café NAÏVE Straße") == "cafe naive strasse"
    assert normalise_text("ＡＢＣ１２３ ﬁnal") == "abc123 final"


def test_punctuation_becomes_spaces_and_whitespace_collapses() -> None:
    assert normalise_text("  «Манас»—эпос!!! (7-класс)\t\n\u00a0баа: 5/5 ") == (
        "манас эпос 7 класс баа 5 5"
    )
    assert normalise_text("") == ""
    assert normalise_text(" ,.;!? \u2014 ") == ""


def test_inflected_kyrgyz_word_starts_with_the_normalised_query_word() -> None:
    indexed = words(KYRGYZ_SENTENCE.upper())
    (term,) = parse_query("ӨНӨКТӨШ").terms

    assert any(word.startswith(term) for word in indexed)
    assert "өнөктөштүктү" in indexed


def _seed_text() -> str | None:
    for folder in Path(__file__).resolve().parents:
        seed = folder / "shared" / "seed" / "000_f859003fabd221e8.txt"
        if seed.is_file():
            return seed.read_text(encoding="utf-8")
    return None


def test_the_whole_handbook_normalises_to_letters_digits_and_single_spaces() -> None:
    text = _seed_text()
    if text is None:
        pytest.skip("the handbook in shared/seed is not beside this checkout")

    normalised = normalise_text(text)

    assert all(ONLY_LETTERS_AND_DIGITS.fullmatch(word) for word in normalised.split(" "))
    assert {"ң", "ө", "ү"} <= set(normalised)
    assert "ӊ" not in normalised
    assert normalised == normalised.casefold()


@given(st.text())
def test_any_text_normalises_to_words_of_letters_and_digits(text: str) -> None:
    normalised = normalise_text(text)

    if normalised:
        assert all(ONLY_LETTERS_AND_DIGITS.fullmatch(word) for word in normalised.split(" "))
    assert "  " not in normalised
    assert normalised == normalised.strip()


@given(
    st.text(
        alphabet=st.sampled_from(
            "АаБбЁёЙйҢңӨөҮүӉӊЪъЯяAaÉéÏïßﬁ０１23456789 \t\n.,;:!?«»\"'*-()&|\u0301\u0308\u0306"
        )
    )
)
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise_text(text)

    assert normalise_text(once) == once


# --- parse_query ------------------------------------------------------------------


def test_words_become_terms_in_the_order_typed() -> None:
    assert parse_query("Манас 7-класс БАА") == ParsedQuery(
        terms=("манас", "7", "класс", "баа"), phrases=()
    )


def test_text_in_double_quotes_is_an_exact_phrase() -> None:
    query = parse_query('эпос "Кыргыз Тили" 7 "ёлка"')

    assert query.terms == ("эпос", "7")
    assert query.phrases == (("кыргыз", "тили"), ("елка",))


def test_an_unclosed_quote_makes_a_phrase_to_the_end() -> None:
    assert parse_query('баа "мектеп өнөктөштүгү') == ParsedQuery(
        terms=("баа",), phrases=(("мектеп", "өнөктөштүгү"),)
    )


def test_guillemets_and_typographic_quotes_also_make_phrases() -> None:
    assert parse_query("«Манас эпосу»").phrases == (("манас", "эпосу"),)
    assert parse_query("\u201clesson plan\u201d grade").phrases == (("lesson", "plan"),)


@pytest.mark.parametrize(
    "query",
    [
        "NEAR(манас эпос, 5)",
        "мана* OR эпос NOT баа AND класс",
        "title:манас",
        "манас & эпос | баа",
        "!манас -эпос +баа ~класс ^2",
        "(манас) [эпос] {баа}",
        "манас:* <-> эпос:A",
        "'манас' \\эпос/ @@ ;--",
    ],
)
def test_fts5_and_tsquery_operators_never_leak_into_terms(query: str) -> None:
    parsed = parse_query(query)

    every_word = [*parsed.terms, *(word for phrase in parsed.phrases for word in phrase)]
    assert every_word
    for word in every_word:
        assert ONLY_LETTERS_AND_DIGITS.fullmatch(word), word
        assert not SYNTAX_CHARACTERS & set(word)
        assert word == word.casefold()


def test_operator_words_are_searched_as_plain_words() -> None:
    assert parse_query("NEAR AND OR NOT").terms == ("near", "and", "or", "not")


@pytest.mark.parametrize("query", ["", "   ", '""', '" "', "***", "!!! &&& ||| ()", "«»", "-"])
def test_empty_or_punctuation_only_queries_parse_to_nothing(query: str) -> None:
    parsed = parse_query(query)

    assert parsed == ParsedQuery(terms=(), phrases=())
    assert parsed.is_empty


def test_repeated_words_and_phrases_count_once() -> None:
    assert parse_query('манас МАНАС Манас "эпос баа" "ЭПОС БАА"') == ParsedQuery(
        terms=("манас",), phrases=(("эпос", "баа"),)
    )


def test_at_most_max_terms_words_are_kept_counting_phrase_words() -> None:
    many = " ".join(f"сөз{n}" for n in range(40))
    assert len(parse_query(many).terms) == 16
    assert parse_query(many, max_terms=3).terms == ("сөз0", "сөз1", "сөз2")

    with_phrase = parse_query('"бир эки үч" төрт беш алты', max_terms=4)
    assert with_phrase == ParsedQuery(terms=("төрт",), phrases=(("бир", "эки", "үч"),))


@given(st.text())
def test_any_query_yields_only_letter_and_digit_words(query: str) -> None:
    parsed = parse_query(query)

    for word in [*parsed.terms, *(word for phrase in parsed.phrases for word in phrase)]:
        assert ONLY_LETTERS_AND_DIGITS.fullmatch(word)
    assert len(parsed.terms) + sum(len(phrase) for phrase in parsed.phrases) <= 16
    assert parsed.is_empty == (normalise_text(query) == "")
