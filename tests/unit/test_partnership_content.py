import datetime
import re
from typing import Any

import pytest

from exchange.errors import InvalidInput
from exchange.partnerships.content import (
    CHARACTERISTICS,
    LANGUAGES,
    UnknownCharacteristic,
    UnsupportedLanguage,
    load_self_assessment,
    render_invitation_letter,
)
from tests.migration_modules import code_of_conduct_v1

KYRGYZ_LETTERS = re.compile("[өүңӨҮҢ]")

LETTER: dict[str, Any] = {
    "inviting_school_name": "Орто мектеп №5",
    "inviting_school_contacts": "Нарын ш., Ленин к. 12; +996 555 123 456; school5@example.kg",
    "partner_school_name": "Lyceum Kelechek",
    "partner_school_contacts": "Osh, +996 777 000 111",
    "date": datetime.date(2026, 11, 25),
    "sender_name": "Айгүл Асанова",
    "sender_position": "завуч",
    "goals": [
        "Improve assessment of students' achievement in Kyrgyz language lessons",
        "Exchange lesson plans for grade 7 mathematics",
    ],
    "characteristics": ["local", "virtual", "informal"],
}


def render(language: str, **overrides: Any) -> str:
    values: dict[str, Any] = {**LETTER, **overrides}
    return render_invitation_letter(language, **values)


def test_code_of_conduct_v1_has_nine_numbered_rules_in_every_language() -> None:
    code = code_of_conduct_v1()

    assert code.version == 1
    assert [rule.number for rule in code.rules] == list(range(1, 10))
    for text in [code.title, code.preamble, *(rule.text for rule in code.rules)]:
        assert set(text) == set(LANGUAGES)
        assert all(value.strip() for value in text.values())


def test_code_of_conduct_kyrgyz_text_is_kyrgyz() -> None:
    code = code_of_conduct_v1()

    for rule in code.rules:
        assert KYRGYZ_LETTERS.search(rule.text["ky"]), rule.number
    assert "купуя" in code.rules[5].text["ky"]  # rule 6, confidentiality
    assert "уруксат" in code.rules[6].text["ky"]  # rule 7, permission


def test_self_assessment_has_24_questions_with_unique_snake_case_keys() -> None:
    assessment = load_self_assessment()

    assert assessment.version == 1
    assert len(assessment.questions) == 24
    keys = [question.key for question in assessment.questions]
    assert len(set(keys)) == 24
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", key) for key in keys)
    assert {"location", "community_relations", "ict_use"} <= set(keys)
    for question in assessment.questions:
        assert set(question.text) == set(LANGUAGES)
        assert all(value.strip() for value in question.text.values())
        assert question.text["ky"] not in (question.text["ru"], question.text["en"])
    kyrgyz = " ".join(question.text["ky"] for question in assessment.questions)
    assert len(KYRGYZ_LETTERS.findall(kyrgyz)) > 100


@pytest.mark.parametrize(
    ("language", "date", "subject"),
    [
        ("ky", "2026-жылдын 25-ноябры", "«Боордош мектептер» программасын талкуулоо"),
        ("ru", "25 ноября 2026 г.", "программы «Школы-побратимы»"),
        ("en", "25 November 2026", 'the "Sister Schools" programme'),
    ],
)
def test_invitation_letter_names_both_schools_goals_date_and_sender(
    language: str, date: str, subject: str
) -> None:
    letter = render(language)

    assert LETTER["inviting_school_name"] in letter
    assert LETTER["inviting_school_contacts"] in letter
    assert LETTER["partner_school_name"] in letter
    assert LETTER["partner_school_contacts"] in letter
    assert LETTER["sender_name"] in letter
    assert LETTER["sender_position"] in letter
    for goal in LETTER["goals"]:
        assert f"- {goal}\n" in letter
    assert date in letter
    assert subject in letter
    assert "$" not in letter


def test_invitation_letter_translates_characteristics() -> None:
    letters = {language: render(language) for language in LANGUAGES}

    assert "жергиликтүү, виртуалдык, бейформал" in letters["ky"]
    assert "местное, виртуальное, неформальное" in letters["ru"]
    assert "local, virtual, informal (based on trust)" in letters["en"]


def test_every_characteristic_has_its_own_label_in_every_language() -> None:
    introductions = {
        "ky": "Сунушталган өнөктөш",
        "ru": "Предлагаемое партн",
        "en": "The partnership we",
    }
    for language in LANGUAGES:
        letter = render(language, characteristics=list(CHARACTERISTICS))

        line = next(
            line for line in letter.splitlines() if line.startswith(introductions[language])
        )
        labels = line.split(": ", 1)[1].removesuffix(".").split(", ")
        assert len(set(labels)) == len(CHARACTERISTICS)
        assert all(label.strip() and "_" not in label for label in labels)


@pytest.mark.parametrize("name", ["Школа $partner_school_name", "${date} {} {0} $$ $"])
def test_dollar_and_braces_in_user_text_are_rendered_literally(name: str) -> None:
    letter = render("en", inviting_school_name=name, goals=["Pay $0 {fees}"])

    assert name in letter
    assert "- Pay $0 {fees}\n" in letter
    assert "25 November 2026" in letter


def test_letter_without_goals_or_characteristics_says_they_are_to_be_agreed() -> None:
    letter = render("en", goals=[], characteristics=[])

    assert "Our proposed goals:\n- to be agreed together\n" in letter
    assert "The partnership we propose: to be agreed together." in letter


def test_unknown_language_is_refused_as_invalid_input() -> None:
    with pytest.raises(UnsupportedLanguage) as refused:
        render("de")

    assert isinstance(refused.value, ValueError)
    assert isinstance(refused.value, InvalidInput)
    assert "ky, ru, en" in refused.value.detail


def test_unknown_characteristic_is_refused() -> None:
    with pytest.raises(UnknownCharacteristic, match="sporty"):
        render("ru", characteristics=["sporty"])
