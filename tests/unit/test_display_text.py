"""The one cleaning of text people write for others to read."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from exchange.display_text import (
    LINE,
    PARAGRAPHS,
    CleanedInput,
    clean_line,
    clean_paragraphs,
)
from exchange.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plan\u202etxt.exe", "plantxt.exe"),
        ("\u2066Айгүл\u2069 \u200fАсанова\u200e", "Айгүл Асанова"),
        ("\ufeffӨнөктөштүк\u200b \u2060мектеп\u061c", "Өнөктөштүк мектеп"),
        ("Бөлчөктөр: ң, ө, ү", "Бөлчөктөр: ң, ө, ү"),
        ("Методика\u00adпреподавания", "Методикапреподавания"),
        ("и\u0306од", "йод"),  # decomposed letters are composed (NFC)
        ("  two\n lines\tand\x07 a bell  ", "two lines and a bell"),
        ("Family \U0001f468\u200d\U0001f469\u200d\U0001f467", "Family 👨‍👩‍👧"),
        ("a\u200db", "ab"),  # a joiner between letters is hidden, not an emoji
        ("\u200b", ""),
    ],
)
def test_a_line_loses_what_hides_or_reverses_text_and_keeps_every_letter(
    raw: str, shown: str
) -> None:
    assert clean_line(raw) == shown


def test_paragraphs_keep_their_line_breaks_and_tabs_but_lose_hidden_characters() -> None:
    raw = "\u202eFirst line\r\n\tindented\u200b\u2029Third\x00 line  \n\n"

    assert clean_paragraphs(raw) == "First line\n\tindented\nThird line"


Required = Annotated[str, msgspec.Meta(min_length=1, max_length=50, extra=LINE)]
Optional = Annotated[str, msgspec.Meta(max_length=50, extra=LINE)]
Long = Annotated[str, msgspec.Meta(max_length=500, extra=PARAGRAPHS)]


class Shape(CleanedInput, forbid_unknown_fields=True):
    name: Required
    position: Optional | None = None
    goals: list[Required] = []
    notes: Long | msgspec.UnsetType = msgspec.UNSET
    answers: dict[str, Long] = {}


def test_a_shape_is_cleaned_as_it_is_decoded() -> None:
    decoded = msgspec.json.decode(
        '{"name": "\u202eАйгүл", "position": "\u200b", "goals": ["one\u2066 goal"],'
        ' "notes": "a\\n\u200bb", "answers": {"q1": "slow\u200f internet"}}',
        type=Shape,
    )

    assert decoded == Shape(
        name="Айгүл",
        position="",
        goals=["one goal"],
        notes="a\nb",
        answers={"q1": "slow internet"},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [('{"name": "\u200b\u202e"}', "name"), ('{"name": "x", "goals": ["ok", "\u2060"]}', "goals")],
)
def test_a_required_text_with_nothing_visible_is_refused_naming_its_field(
    body: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        msgspec.json.decode(body, type=Shape)

    assert refused.value.extra["errors"][0]["field"] == field
    assert f"'{field}' has nothing visible in it" in str(refused.value.detail)
