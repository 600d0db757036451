"""What two schools agree in a partnership: its characteristics and its goals.

Section 2 of the handbook names the kinds of partnership; section 4 asks for concrete,
realistic goals set before any exchange ("improve assessment of students' achievement
in Kyrgyz language lessons", not "be the best school"). These checks keep both honest
without judging the wording.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from exchange.errors import InvalidInput
from exchange.i18n import _
from exchange.partnerships.content import CHARACTERISTICS, UnknownCharacteristic

MIN_GOAL_WORDS = 3
MAX_GOALS = 20
# A partnership is one or the other of each pair, never both; `virtual` and `real`
# combine well (the handbook: the best partnerships mix several kinds).
EXCLUSIVE_CHARACTERISTICS: tuple[tuple[str, str], ...] = (
    ("local", "international"),
    ("formal", "informal"),
)


def clean_characteristics(characteristics: Iterable[str]) -> list[str]:
    """The characteristics without repeats, in the handbook's order; 422 when unknown or
    contradictory."""
    chosen = {characteristic.strip() for characteristic in characteristics}
    for characteristic in sorted(chosen):
        if characteristic not in CHARACTERISTICS:
            raise UnknownCharacteristic(characteristic)
    for first, second in EXCLUSIVE_CHARACTERISTICS:
        if first in chosen and second in chosen:
            raise InvalidInput(
                _(
                    "A partnership cannot be both {first!r} and {second!r}; choose one of them.",
                    first=first,
                    second=second,
                )
            )
    return [characteristic for characteristic in CHARACTERISTICS if characteristic in chosen]


def clean_goals(goals: Sequence[str]) -> list[str]:
    """The goals trimmed, without repeats; 422 unless there is at least one and each is a
    sentence of a few words."""
    cleaned = list(dict.fromkeys(" ".join(goal.split()) for goal in goals if goal.strip()))
    if not cleaned:
        raise InvalidInput(
            _(
                "Write at least one concrete goal for the partnership, for example 'Improve "
                "assessment of students' achievement in Kyrgyz language lessons'."
            )
        )
    if len(cleaned) > MAX_GOALS:
        raise InvalidInput(
            _(
                "A partnership can have at most {MAX_GOALS} goals; keep the ones that matter most.",
                MAX_GOALS=MAX_GOALS,
            )
        )
    for goal in cleaned:
        if len(goal.split()) < MIN_GOAL_WORDS:
            raise InvalidInput(
                _(
                    "The goal {goal!r} is too vague: write a concrete sentence of at least "
                    "{MIN_GOAL_WORDS} words saying what the two schools will do or improve.",
                    goal=goal,
                    MIN_GOAL_WORDS=MIN_GOAL_WORDS,
                )
            )
    return cleaned
