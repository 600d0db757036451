"""Text people write for others to read: cleaned once, the same way everywhere.

Titles, names, descriptions, goals and notes are shown to other schools. Hidden
characters can make them read as something else: U+202E turns `plan\u202etxt.exe` into
what looks like "planexe.txt", and a name of one zero-width space looks like no name at
all. Every such text is NFC-normalised and loses its bidi controls (U+202A-U+202E,
U+2066-U+2069, U+200E/F, U+061C), zero-width characters (U+200B-U+200D, U+2060,
U+FEFF) and every other control or format character (Unicode categories Cc, Cf, Cs, Cn,
Zl, Zp), except the line breaks and tabs of a text with paragraphs, and a zero-width
joiner between two symbols (it makes one emoji of a family or a profession). Letters of
every script stay as they are (ң, ө, ү). A text that must not be empty and has nothing
left is refused, naming its field.

API shapes mark such fields with `msgspec.Meta(extra=LINE)` or `extra=PARAGRAPHS` and
derive from `CleanedInput`, which cleans them right after msgspec has decoded the
request, before any service sees them. The upload form, read by hand, calls
`clean_line` and `clean_paragraphs`; file names (`exchange.files.names`) drop the same
characters.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any, Final, Literal

import msgspec
from msgspec import inspect as msgspec_inspect

from exchange.errors import InvalidInput
from exchange.i18n import _

# Control, format (bidi, zero-width, BOM, soft hyphen), surrogate, unassigned and
# line/paragraph separator characters.
DROPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})
_ZERO_WIDTH_JOINER: Final = "\u200d"
_BREAKS: Final = frozenset({"\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029"})

Kind = Literal["line", "paragraphs"]
_MARK: Final = "display_text"
# What a field's `msgspec.Meta(extra=...)` carries to be cleaned, e.g.
# `Annotated[str, msgspec.Meta(min_length=1, max_length=200, extra=LINE)]`.
LINE: Final[dict[str, Any]] = {_MARK: "line"}
PARAGRAPHS: Final[dict[str, Any]] = {_MARK: "paragraphs"}


def _visible(text: str, *, keep: frozenset[str] = frozenset()) -> str:
    kept = []
    for index, ch in enumerate(text):
        shown = ch in keep or unicodedata.category(ch) not in DROPPED_CATEGORIES
        if shown or (ch == _ZERO_WIDTH_JOINER and _between_symbols(text, index)):
            kept.append(ch)
    return "".join(kept)


def _between_symbols(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    # An emoji may carry a variation selector (U+FE0F) before the joiner.
    if before in {"\ufe0e", "\ufe0f"} and index > 1:
        before = text[index - 2]
    return bool(before and after) and {
        unicodedata.category(before),
        unicodedata.category(after),
    } <= {"So", "Sk"}


def clean_line(value: str) -> str:
    """One line of text: NFC, hidden characters dropped, line breaks and runs of spaces
    made one space, trimmed."""
    text = unicodedata.normalize("NFC", value)
    text = "".join(" " if ch in _BREAKS or ch == "\t" else ch for ch in text)
    return " ".join(_visible(text).split())


def clean_paragraphs(value: str) -> str:
    """Text with paragraphs: like `clean_line`, keeping line breaks (as `\\n`) and tabs;
    trailing spaces of each line and blank lines at either end removed."""
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n")
    text = "".join("\n" if ch in _BREAKS else ch for ch in text)
    lines = [_visible(line, keep=frozenset({"\t"})).rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n ")


def clean(value: str, kind: Kind) -> str:
    return clean_paragraphs(value) if kind == "paragraphs" else clean_line(value)


def nothing_visible(field: str) -> InvalidInput:
    """The refusal of a text that must not be empty and has nothing visible in it."""
    message = _(
        "'{field}' has nothing visible in it once spaces and invisible characters are "
        "removed. Write it in letters.",
        field=field,
    )
    return InvalidInput(message, errors=[{"field": field, "source": "body", "message": message}])


class CleanedInput(msgspec.Struct):
    """Base of request shapes with display texts: cleans each `Line` or `Paragraphs`
    field (and each item of a list of them) once decoded, and refuses one that must
    not be empty (`min_length` of at least 1) and has nothing visible left."""

    def __post_init__(self) -> None:
        for name, encoded, kind, required, in_list in _display_fields(type(self)):
            value = getattr(self, name)
            if isinstance(value, str):
                cleaned = clean(value, kind)
                if required and not cleaned:
                    raise nothing_visible(encoded)
                setattr(self, name, cleaned)
            elif in_list and isinstance(value, list):
                items = [clean(item, kind) if isinstance(item, str) else item for item in value]
                if required and any(item == "" for item in items):
                    raise nothing_visible(encoded)
                setattr(self, name, items)
            elif in_list and isinstance(value, dict):
                answers = {
                    key: clean(item, kind) if isinstance(item, str) else item
                    for key, item in value.items()
                }
                if required and any(item == "" for item in answers.values()):
                    raise nothing_visible(encoded)
                setattr(self, name, answers)


@cache
def _display_fields(cls: type[msgspec.Struct]) -> tuple[tuple[str, str, Kind, bool, bool], ...]:
    """(attribute, name in JSON, kind, must not be empty, holds several: a list or the
    values of a dict) of each display text field of `cls`, read once from its
    annotations."""
    info = msgspec_inspect.type_info(cls)
    assert isinstance(info, msgspec_inspect.StructType)
    found = []
    for field in info.fields:
        for candidate, in_list in _candidates(field.type):
            if isinstance(candidate, msgspec_inspect.Metadata) and _MARK in (candidate.extra or {}):
                kind: Kind = candidate.extra[_MARK]  # type: ignore[index]
                inner = candidate.type
                required = (
                    isinstance(inner, msgspec_inspect.StrType) and (inner.min_length or 0) >= 1
                )
                found.append((field.name, field.encode_name, kind, required, in_list))
                break
    return tuple(found)


def _candidates(type_: msgspec_inspect.Type) -> list[tuple[msgspec_inspect.Type, bool]]:
    options = list(type_.types) if isinstance(type_, msgspec_inspect.UnionType) else [type_]
    found: list[tuple[msgspec_inspect.Type, bool]] = []
    for option in options:
        inner = option.type if isinstance(option, msgspec_inspect.Metadata) else option
        if isinstance(inner, msgspec_inspect.ListType):
            found.append((inner.item_type, True))
        elif isinstance(inner, msgspec_inspect.DictType):
            found.append((inner.value_type, True))
        else:
            found.append((option, False))
    return found
