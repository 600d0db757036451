"""The exchange's one text normalisation, and text folded with it for matching.

`normalise_text` is used on indexed text and on queries alike, and on every
`*_search`/`*_key` column, so matching never depends on the database: PostgreSQL
lower-cases by its `LC_CTYPE` (under the C locale Cyrillic capitals stay as they are),
SQLite's `lower()` and `LIKE` fold only ASCII, and FTS5 folds only what its tokenizer
knows. The exchange therefore folds text in Python when it is stored and folds the
query the same way; SQL then compares plain strings.

The steps: Unicode NFKC (ligatures, full-width and compatibility forms), `casefold()`,
ё -> е, letter variants Kyrgyz writers use interchangeably folded to one (ӊ and ӈ -> ң,
Latin ɵ -> ө), accents dropped from Latin and Greek letters and stray combining marks
(Russian stress marks) removed, while Cyrillic letters with their own place in the
alphabet (й, ң, ө, ү, ї, ў) are kept. Anything that is not a letter or a digit becomes a
space, and runs of spaces collapse to one, so a normalised text is words made only of
letters and digits, separated by single spaces.
"""

from __future__ import annotations

import unicodedata

# Folds that NFKC and casefold leave alone.
_LETTER_VARIANTS = {
    "ё": "е",
    "ѐ": "е",
    "ѝ": "и",
    "ӊ": "ң",  # en with tail, common in Kyrgyz texts typed with other fonts
    "ӈ": "ң",  # en with hook
    "ɵ": "ө",  # Latin barred o, typed for Cyrillic ө
}
_BMP_END = 0x10000


def _fold_character(character: str) -> str:
    """The normal form of one character that has been through NFKC and casefold."""
    variant = _LETTER_VARIANTS.get(character)
    if variant is not None:
        return variant
    category = unicodedata.category(character)
    if category.startswith("M"):
        return ""
    if not character.isalnum():
        return " "
    if ord(character) < 0x80 or not unicodedata.name(character, "").startswith(("LATIN", "GREEK")):
        return character
    decomposed = unicodedata.normalize("NFD", character)
    base = "".join(part for part in decomposed if not unicodedata.category(part).startswith("M"))
    return base if base.isalnum() else character


class _FoldTable(dict[int, str]):
    """`str.translate` table filled on first sight of each character.

    Only Basic Multilingual Plane entries are kept, which bounds the table's size
    whatever text comes through.
    """

    def __missing__(self, code_point: int) -> str:
        folded = _fold_character(chr(code_point))
        if code_point < _BMP_END:
            self[code_point] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def normalise_text(text: str) -> str:
    """Normalises `text` for indexing or matching: lower-case words separated by spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.translate(_FOLD_TABLE).split())


LIKE_ESCAPE = "\\"


def fold(text: str | None) -> str:
    """`text` as the search index sees it: the one normalisation of the exchange
    (compatibility form, case-folded, `ё` read as `е`, punctuation as spaces)."""
    return normalise_text(text) if text else ""


def words(text: str | None) -> list[str]:
    """The words of `text`, folded, in order (letters and digits of any script)."""
    return fold(text).split()


def contains_pattern(word: str) -> str:
    """A `LIKE` pattern (escape `LIKE_ESCAPE`) matching `word` anywhere, wildcards literal."""
    escaped = (word.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", f"{LIKE_ESCAPE}%")).replace(
        "_", f"{LIKE_ESCAPE}_"
    )
    return f"%{escaped}%"
