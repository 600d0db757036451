"""The one text normalisation for search, used on indexed text and on queries alike.

Both databases index text that this module has already normalised, so matching never
depends on the database: PostgreSQL lower-cases by its `LC_CTYPE` (under the C locale
Cyrillic capitals stay as they are) and SQLite's FTS5 folds only what its tokenizer knows.

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
from dataclasses import dataclass

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


# Straight and typographic double quotes, and guillemets, all open or close a phrase.
_QUOTES = frozenset('"“”„«»')


@dataclass(frozen=True)
class ParsedQuery:
    """A search query: every term must match as a word prefix, every phrase exactly."""

    terms: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.phrases


def _split_on_quotes(query: str) -> list[tuple[str, bool]]:
    """Pieces of `query` with whether each lies inside quotes (an open quote runs to the
    end)."""
    pieces: list[tuple[str, bool]] = []
    current: list[str] = []
    quoted = False
    for character in query:
        if character in _QUOTES:
            pieces.append(("".join(current), quoted))
            current = []
            quoted = not quoted
        else:
            current.append(character)
    pieces.append(("".join(current), quoted))
    return pieces


def parse_query(q: str, *, max_terms: int = 16) -> ParsedQuery:
    """Parses a user's search box text.

    Words are ANDed and each matches as a prefix; text in double quotes is a phrase that
    matches exactly. Every word is normalised with `normalise_text`, so terms hold only
    letters and digits and no operator of FTS5 or tsquery can get through. At most
    `max_terms` words are kept, counting the words of phrases, in the order typed;
    repeated terms and phrases count once.
    """
    terms: list[str] = []
    phrases: list[tuple[str, ...]] = []
    room = max_terms
    for piece, quoted in _split_on_quotes(q):
        words = normalise_text(piece).split()
        if not words or room <= 0:
            continue
        if quoted:
            phrase = tuple(words[:room])
            if phrase not in phrases:
                phrases.append(phrase)
                room -= len(phrase)
        else:
            for word in words:
                if room <= 0:
                    break
                if word not in terms:
                    terms.append(word)
                    room -= 1
    return ParsedQuery(terms=tuple(terms), phrases=tuple(phrases))
