"""Why a request was closed or a forward cut: stored as a code, written in words when read.

A reason is stored as a code (`withdrawn`, `share_withdrawn`, `consent_withdrawn`) or,
when it names schools, a code and their ids (`partnership_ended:<id>:<id>`), never as a
sentence: the school that reads it may read Russian while the one whose action caused it
reads Kyrgyz, and a school renamed later is named by its new name. `in_words` writes it
in the reader's language (`closed_reason`, `cut_reason` of the API and the pages).

Rows written before reasons were codes hold an English sentence; one the catalogs know
is translated, any other is shown as it was stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final
from uuid import UUID

from exchange.i18n import LazyText, gettext, lazy_gettext
from exchange.kernel.refs import FORMER_SCHOOL, Names


class RequestClosing(StrEnum):
    """Why a pending request ended without a decision."""

    WITHDRAWN = "withdrawn"  # the requesting school withdrew it
    PARTNERSHIP_ENDED = "partnership_ended"  # the partnership it was made under ended


class ForwardCut(StrEnum):
    """Why a forward no longer carries the resource."""

    SHARE_WITHDRAWN = "share_withdrawn"  # the share grant it was made with was withdrawn
    CONSENT_WITHDRAWN = "consent_withdrawn"  # the consent for a student's work was withdrawn
    PARTNERSHIP_ENDED = "partnership_ended"  # a partnership it rested on ended


_REQUEST_WORDS: Final[dict[str, LazyText]] = {
    RequestClosing.WITHDRAWN: lazy_gettext("Withdrawn by the requesting school."),
    RequestClosing.PARTNERSHIP_ENDED: lazy_gettext(
        "The partnership between {school_a} and {school_b} ended. If the schools become "
        "partners again, the request can be made again."
    ),
}

_FORWARD_WORDS: Final[dict[str, LazyText]] = {
    ForwardCut.SHARE_WITHDRAWN: lazy_gettext("The share permission was withdrawn."),
    ForwardCut.CONSENT_WITHDRAWN: lazy_gettext(
        "The consent for this student's work was withdrawn."
    ),
    ForwardCut.PARTNERSHIP_ENDED: lazy_gettext(
        "The partnership between {school_a} and {school_b} ended."
    ),
}


def partnership_ended(school_a: UUID, school_b: UUID) -> str:
    """The stored reason of what ended with the partnership of `school_a` and `school_b`."""
    return f"{RequestClosing.PARTNERSHIP_ENDED}:{school_a}:{school_b}"


def schools_named(stored: Iterable[str | None]) -> list[UUID]:
    """The ids of the schools the stored reasons name (to load their names once)."""
    return [school for reason in stored if reason for school in _parse(reason)[1]]


def closed_in_words(stored: str | None, names: Names) -> str | None:
    """A request's `closed_reason` in the reader's language."""
    return _in_words(stored, names, _REQUEST_WORDS)


def cut_in_words(stored: str | None, names: Names) -> str | None:
    """A forward's `cut_reason` in the reader's language."""
    return _in_words(stored, names, _FORWARD_WORDS)


def _in_words(stored: str | None, names: Names, words: dict[str, LazyText]) -> str | None:
    if not stored:
        return None
    code, schools = _parse(stored)
    sentence = words.get(code)
    if sentence is None:
        return gettext(stored)  # an English sentence stored before reasons were codes
    if code == RequestClosing.PARTNERSHIP_ENDED:
        # Without the schools' ids (a row written by hand) they are named as unknown.
        a, b = (
            (names.school(school).name for school in schools) if schools else (FORMER_SCHOOL,) * 2
        )
        return sentence.with_params(school_a=a, school_b=b).render()
    return sentence.render()


def _parse(stored: str) -> tuple[str, list[UUID]]:
    code, *rest = stored.split(":")
    if code != RequestClosing.PARTNERSHIP_ENDED or len(rest) != 2:
        return stored, []
    try:
        return code, [UUID(rest[0]), UUID(rest[1])]
    except ValueError:
        return stored, []
