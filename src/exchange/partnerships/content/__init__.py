"""The handbook's texts that partnerships use, in Kyrgyz, Russian and English.

The texts are data shipped inside the package (appendices 2 and 6 of the "Боордош
мектептер" handbook; appendix 1, the code of conduct, is put in force by migration 0003 and
later versions by `exchange conduct publish`); this module loads them into typed values,
checks a code of conduct's JSON form and renders the invitation letter. The Kyrgyz is the
handbook's own wording; Russian and English are translations.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

from exchange.errors import InvalidInput
from exchange.i18n import _

__all__ = [
    "CHARACTERISTICS",
    "LANGUAGES",
    "CodeOfConductText",
    "Question",
    "Rule",
    "SelfAssessment",
    "UnknownCharacteristic",
    "UnsupportedLanguage",
    "load_self_assessment",
    "parse_code_of_conduct",
    "render_invitation_letter",
]

LANGUAGES: tuple[str, ...] = ("ky", "ru", "en")

_BUNDLE = resources.files(__name__)

# Adjectives agreeing with "өнөктөштүк" / "партнёрство" / "partnership", the word that
# introduces them in the letter. Wording follows section 2 of the handbook.
_CHARACTERISTIC_LABELS: Mapping[str, Mapping[str, str]] = {
    "local": {"ky": "жергиликтүү", "ru": "местное", "en": "local"},
    "international": {"ky": "эл аралык", "ru": "международное", "en": "international"},
    "virtual": {"ky": "виртуалдык", "ru": "виртуальное", "en": "virtual"},
    "real": {
        "ky": "реалдуу («бетме-бет» жолугушуулар менен)",
        "ru": "реальное (с очными встречами)",
        "en": "real (with face-to-face meetings)",
    },
    "urban_rural": {
        "ky": "шаардык жана айылдык мектептердин ортосунда",
        "ru": "между городской и сельской школами",
        "en": "between an urban and a rural school",
    },
    "formal": {
        "ky": "формалдуу (жазуу жүзүндөгү келишим менен)",
        "ru": "формальное (с письменным соглашением)",
        "en": "formal (with a written agreement)",
    },
    "informal": {
        "ky": "бейформал (ишенимге негизделген)",
        "ru": "неформальное (основанное на доверии)",
        "en": "informal (based on trust)",
    },
}
CHARACTERISTICS: tuple[str, ...] = tuple(_CHARACTERISTIC_LABELS)

# An invitation may be sent before goals or characteristics are settled; the letter then
# says so rather than leaving an empty list.
_TO_BE_AGREED: Mapping[str, str] = {
    "ky": "биргелешип аныктайбыз",
    "ru": "определим вместе",
    "en": "to be agreed together",
}

_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTHS_RU_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
# Kyrgyz dates put the month in the possessive: "2026-жылдын 25-ноябры".
_MONTHS_KY_POSSESSIVE = (
    "январы", "февралы", "марты", "апрели", "майы", "июну",
    "июлу", "августу", "сентябры", "октябры", "ноябры", "декабры",
)  # fmt: skip


class UnsupportedLanguage(InvalidInput, ValueError):
    """The handbook's texts exist only in Kyrgyz, Russian and English."""

    def __init__(self, language: str) -> None:
        super().__init__(
            _(
                "Language {language!r} is not available; choose one of: {languages}.",
                language=language,
                languages=", ".join(LANGUAGES),
            )
        )
        self.language = language


class UnknownCharacteristic(InvalidInput, ValueError):
    """A partnership characteristic outside the handbook's kinds of partnership."""

    def __init__(self, characteristic: str) -> None:
        super().__init__(
            _(
                "Partnership characteristic {characteristic!r} is not known; choose from: "
                "{characteristics}.",
                characteristic=characteristic,
                characteristics=", ".join(CHARACTERISTICS),
            )
        )
        self.characteristic = characteristic


@dataclass(frozen=True)
class Rule:
    number: int
    text: dict[str, str]


@dataclass(frozen=True)
class CodeOfConductText:
    version: int
    title: dict[str, str]
    preamble: dict[str, str]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Question:
    key: str
    text: dict[str, str]


@dataclass(frozen=True)
class SelfAssessment:
    version: int
    questions: tuple[Question, ...]


def parse_code_of_conduct(raw: Mapping[str, object]) -> CodeOfConductText:
    """A code of conduct from its JSON form (as `exchange conduct publish` reads it);
    `ValueError` names the first thing wrong: a missing language, an empty text, rules out
    of order."""
    rules = tuple(
        Rule(number=_int(rule, "number"), text=_localized(rule, "text"))
        for rule in _list(raw, "rules")
    )
    version = _int(raw, "version")
    if [rule.number for rule in rules] != list(range(1, len(rules) + 1)):
        raise ValueError(f"Code of conduct v{version}: rules must be numbered 1..n in order.")
    return CodeOfConductText(
        version=version,
        title=_localized(raw, "title"),
        preamble=_localized(raw, "preamble"),
        rules=rules,
    )


def load_self_assessment() -> SelfAssessment:
    """The handbook's questions for a school's review of its strengths and weaknesses."""
    raw = _read_json("self_assessment_v1.json")
    questions = tuple(
        Question(key=_str(question, "key"), text=_localized(question, "text"))
        for question in _list(raw, "questions")
    )
    if len({question.key for question in questions}) != len(questions):
        raise ValueError("Self-assessment: question keys must be unique.")
    return SelfAssessment(version=_int(raw, "version"), questions=questions)


def render_invitation_letter(
    language: str,
    *,
    inviting_school_name: str,
    inviting_school_contacts: str,
    partner_school_name: str,
    partner_school_contacts: str,
    date: datetime.date,
    sender_name: str,
    sender_position: str,
    goals: Sequence[str],
    characteristics: Sequence[str],
) -> str:
    """The handbook's invitation letter (appendix 6) filled in, in `language`.

    Values are inserted as given: a `$` or braces in a school's name stay as typed.
    """
    template = _letter_template(_require_language(language))
    goal_lines = [f"- {goal.strip()}" for goal in goals if goal.strip()]
    labels = [
        _characteristic_label(characteristic, language)
        for characteristic in dict.fromkeys(characteristics)
    ]
    return template.safe_substitute(
        inviting_school_name=inviting_school_name,
        inviting_school_contacts=inviting_school_contacts,
        partner_school_name=partner_school_name,
        partner_school_contacts=partner_school_contacts,
        date=_format_date(date, language),
        sender_name=sender_name,
        sender_position=sender_position,
        goals="\n".join(goal_lines) or f"- {_TO_BE_AGREED[language]}",
        characteristics=", ".join(labels) or _TO_BE_AGREED[language],
    )


def _require_language(language: str) -> str:
    if language not in LANGUAGES:
        raise UnsupportedLanguage(language)
    return language


def _characteristic_label(characteristic: str, language: str) -> str:
    labels = _CHARACTERISTIC_LABELS.get(characteristic)
    if labels is None:
        raise UnknownCharacteristic(characteristic)
    return labels[language]


def _format_date(date: datetime.date, language: str) -> str:
    if language == "ky":
        return f"{date.year}-жылдын {date.day}-{_MONTHS_KY_POSSESSIVE[date.month - 1]}"
    if language == "ru":
        return f"{date.day} {_MONTHS_RU_GENITIVE[date.month - 1]} {date.year} г."
    return f"{date.day} {_MONTHS_EN[date.month - 1]} {date.year}"


@cache
def _letter_template(language: str) -> Template:
    return Template(_BUNDLE.joinpath(f"invitation_letter.{language}.txt").read_text("utf-8"))


# The bundled JSON is checked as it is read, so a broken edit to a text fails loudly in
# the tests instead of showing a teacher a missing rule or an empty translation.
def _read_json(name: str) -> Mapping[str, object]:
    raw: object = json.loads(_BUNDLE.joinpath(name).read_text("utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{name}: expected a JSON object.")
    return raw


def _list(raw: Mapping[str, object], field: str) -> list[Mapping[str, object]]:
    items = raw.get(field)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"{field!r} must be a list of objects.")
    return items


def _int(raw: Mapping[str, object], field: str) -> int:
    value = raw.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{field!r} must be an integer, not {value!r}.")
    return value


def _str(raw: Mapping[str, object], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field!r} must be a non-empty string, not {value!r}.")
    return value


def _localized(raw: Mapping[str, object], field: str) -> dict[str, str]:
    texts = raw.get(field)
    if not isinstance(texts, dict) or sorted(texts) != sorted(LANGUAGES):
        raise ValueError(f"{field!r} must have exactly the languages {LANGUAGES}.")
    return {language: _str(texts, language) for language in LANGUAGES}
