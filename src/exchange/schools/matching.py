"""Partner suggestions: schools whose offers meet our needs and whose needs meet our offers.

Deliberately simple and deterministic, so a school can see why a partner was suggested:
the words of the profiles are folded, common words dropped, and two words match when
they share a stem (a common beginning of at least four letters that leaves at most two
letters over, so "математика", "математике" and "математики" meet, "материал" does
not). Kyrgyz and Russian add endings to the stem, which is why whole-word equality
would miss most matches.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from exchange.i18n import LazyText, lazy_gettext
from exchange.kernel.text import fold

ReasonKind = Literal[
    "they_offer_what_you_need",
    "they_need_what_you_offer",
    "strong_in_what_you_need",
    "need_what_you_are_strong_in",
]

_WORD = re.compile(r"\w+")
MIN_WORD = 3
STEM = 4
SPARE_LETTERS = 2
# Points per matched need: a strong subject is the surer sign of something to give.
WORD_POINTS = 2
SUBJECT_POINTS = 3

# Words every school writes (school, teachers, experience, help...) say nothing about a
# fit, and "language" says nothing without the language's name ("Кыргыз тили" is about
# "кыргыз"). Folded; a word matching one of these by stem is dropped.
_STOP_WORD_LIST = """
    and the for with our your their they them from that this these those have has are was
    were will can not but all any also more most some such into about other want need
    needs offer offers help like would who what which how use using very well way ways etc
    school schools teacher teachers student students pupil pupils children experience
    share sharing good new work working support language languages
    для как что это все всех или при также очень есть нет наш наши наших нашей наша нам
    нас мы вы ваш ваши вашей они их его ее она оно который которые которая чтобы более
    других другие свой свои своих хотим хотели нужен нужна нужно нужны можем может
    предлагаем ищем опыт опыта опытом школа школы школе школ учитель учителя учителей
    ученик ученики учеников учащихся помощь помощи обмен обмена работа работы работе
    язык языка языку языком
    жана менен үчүн боюнча биз биздин бизде сиз сиздин алар мектеп мектептин мектептер
    мугалим мугалимдер окуучу окуучулар тажрыйба жардам керек бар жок дагы деле бул ал
    кылабыз сунуштайбыз муктаж алмашуу тили тилин
"""
STOP_WORDS = frozenset(fold(word) for word in _STOP_WORD_LIST.split())


@dataclass(frozen=True)
class Profile:
    school_id: UUID
    name: str
    offers: str | None
    needs: str | None
    strong_subjects: Sequence[str]


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    words: tuple[str, ...]
    message: LazyText  # written in the reader's language when shown


# Why a school is suggested: each kind of reason, said as a sentence.
REASONS: dict[ReasonKind, LazyText] = {
    "they_offer_what_you_need": lazy_gettext("{school} offers what your school needs: {words}."),
    "strong_in_what_you_need": lazy_gettext(
        "{school} is strong in what your school needs: {words}."
    ),
    "they_need_what_you_offer": lazy_gettext("{school} needs what your school offers: {words}."),
    "need_what_you_are_strong_in": lazy_gettext(
        "{school} needs what your school is strong in: {words}."
    ),
}


@dataclass(frozen=True)
class Suggestion:
    school_id: UUID
    score: int
    two_way: bool
    reasons: tuple[Reason, ...]


def stems_meet(a: str, b: str) -> bool:
    """Whether two folded words are forms of one word (see the module's docstring)."""
    if a == b:
        return True
    shortest = min(len(a), len(b))
    if shortest <= STEM:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= STEM and common >= shortest - SPARE_LETTERS


def _is_stop_word(word: str) -> bool:
    return word in STOP_WORDS or any(
        stems_meet(word, stop) for stop in _STOPS_BY_KEY.get(word[:STEM], ())
    )


_STOPS_BY_KEY: dict[str, list[str]] = defaultdict(list)
for _stop in STOP_WORDS:
    _STOPS_BY_KEY[_stop[:STEM]].append(_stop)


class Terms:
    """The significant words of a text: folded word -> the word as first written."""

    def __init__(self, text: str | None) -> None:
        self.words: dict[str, str] = {}
        for written in _WORD.findall(text or ""):
            word = fold(written)
            if (
                len(word) >= MIN_WORD
                and not word.isdigit()
                and word not in self.words
                and not _is_stop_word(word)
            ):
                self.words[word] = written
        self._by_key: dict[str, list[str]] = defaultdict(list)
        for word in self.words:
            self._by_key[word[:STEM]].append(word)

    def meets(self, word: str) -> bool:
        return any(stems_meet(word, own) for own in self._by_key.get(word[:STEM], ()))

    def met_by(self, other: Terms) -> list[str]:
        """Our words (as written) that some word of `other` meets, in our order."""
        return [written for word, written in self.words.items() if other.meets(word)]


def _subject_in(subject: str, terms: Terms) -> bool:
    """Every significant word of the subject ("Кыргыз тили" → кыргыз, тили) is in `terms`."""
    words = list(Terms(subject).words) or [fold(subject)]
    return all(terms.meets(word) for word in words)


def suggest(mine: Profile, candidates: Iterable[Profile], *, limit: int) -> list[Suggestion]:
    """Candidates with at least one match, two-way ones first, then by score and name."""
    my_needs, my_offers = Terms(mine.needs), Terms(mine.offers)
    scored: list[tuple[Suggestion, str]] = []
    for theirs in candidates:
        if theirs.school_id == mine.school_id:
            continue
        suggestion = _match(mine, theirs, my_needs, my_offers)
        if suggestion is not None:
            scored.append((suggestion, fold(theirs.name)))
    scored.sort(key=lambda pair: (not pair[0].two_way, -pair[0].score, pair[1], pair[0].school_id))
    return [suggestion for suggestion, _name in scored[:limit]]


def _match(mine: Profile, theirs: Profile, my_needs: Terms, my_offers: Terms) -> Suggestion | None:
    their_needs, their_offers = Terms(theirs.needs), Terms(theirs.offers)
    they_give = my_needs.met_by(their_offers)
    strong_for_me = [s for s in theirs.strong_subjects if _subject_in(s, my_needs)]
    we_give = my_offers.met_by(their_needs)
    strong_for_them = [s for s in mine.strong_subjects if _subject_in(s, their_needs)]
    found: dict[ReasonKind, list[str]] = {  # in the order the reasons are shown
        "they_offer_what_you_need": they_give,
        "strong_in_what_you_need": strong_for_me,
        "they_need_what_you_offer": we_give,
        "need_what_you_are_strong_in": strong_for_them,
    }
    reasons = [
        Reason(kind, tuple(words), REASONS[kind].with_params(school=theirs.name, words=words))
        for kind, words in found.items()
        if words
    ]
    if not reasons:
        return None
    score = WORD_POINTS * (len(they_give) + len(we_give)) + SUBJECT_POINTS * (
        len(strong_for_me) + len(strong_for_them)
    )
    gets = bool(they_give or strong_for_me)
    gives = bool(we_give or strong_for_them)
    return Suggestion(
        school_id=theirs.school_id, score=score, two_way=gets and gives, reasons=tuple(reasons)
    )
