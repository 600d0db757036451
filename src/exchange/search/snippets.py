"""Snippets: a short piece of the original text around the first match, matches marked.

The index holds normalised text (lower case, no punctuation, ё as е), which reads badly
in a result list; so the snippet is cut from the text as written. The query's words are
turned into a regular expression over original characters: each normalised letter
stands for every character that normalises to it (capitals, ё for е, accented Latin
letters, full-width forms), combining accents may follow any letter, a term matches the
start of a word and marks the whole word, a phrase marks its words in sequence.

The snippet is HTML: the text is escaped and only `<mark>` elements are added.
"""

from __future__ import annotations

import functools
import html
import re
from collections import defaultdict
from collections.abc import Iterable

from exchange.kernel.text import normalise_text
from exchange.search.normalise import ParsedQuery

SNIPPET_CHARS = 220
# How much text before the first match the snippet shows.
_LEAD_CHARS = 60
_COMBINING = "[\u0300-\u036f\u0483-\u0489]*"
_LETTER_OR_DIGIT = "[^\\W_]"
_WORD_REST = f"(?:{_LETTER_OR_DIGIT}|[\u0300-\u036f\u0483-\u0489])*"
# Checked just after a word's first character: no letter comes before that character.
_FIRST_NOT_AFTER_LETTER = f"(?<!{_LETTER_OR_DIGIT}(?s:.))"
_NOT_BEFORE_LETTER = f"(?!{_LETTER_OR_DIGIT})"
_BETWEEN_WORDS = "(?:[\\W_])+"
_SPACES = re.compile(r"\s+")
# Blocks whose characters normalise to themselves (CJK ideographs, Hangul syllables) or
# are not characters (surrogates): a letter missing from the table stands for itself.
_SELF_NORMAL_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xD800, 0xDFFF))


@functools.cache
def _preimages() -> dict[str, str]:
    """For every normalised character, the characters (of the Basic Multilingual Plane)
    that normalise to it alone."""
    found: defaultdict[str, list[str]] = defaultdict(list)
    for code_point in range(0x20, 0x10000):
        if any(low <= code_point <= high for low, high in _SELF_NORMAL_BLOCKS):
            continue
        character = chr(code_point)
        folded = normalise_text(character)
        if len(folded) == 1:
            found[folded].append(character)
    return {folded: "".join(characters) for folded, characters in found.items()}


def _character(normalised: str) -> str:
    characters = _preimages().get(normalised, normalised)
    return "[" + "".join(re.escape(character) for character in characters) + "]"


def _word(normalised_word: str) -> str:
    """A word that starts where no letter comes before it.

    That check follows the word's first character rather than preceding it: a pattern
    whose every alternative starts with a character class is searched for those
    characters first, where one that starts with a look-behind is tried at every
    position of the text, several times slower over a long extracted text.
    """
    first, rest = normalised_word[0], normalised_word[1:]
    return (
        _character(first)
        + _FIRST_NOT_AFTER_LETTER
        + _COMBINING
        + "".join(_character(character) + _COMBINING for character in rest)
    )


@functools.lru_cache(maxsize=256)
def match_pattern(query: ParsedQuery) -> re.Pattern[str] | None:
    """A pattern that finds the query's terms and phrases in original text (kept for
    the next snippets of the page, and for the same search again: writing it out
    character by character costs more than using it)."""
    alternatives = [_word(term) + _WORD_REST for term in sorted(query.terms, key=len, reverse=True)]
    alternatives.extend(
        _BETWEEN_WORDS.join(_word(word) for word in phrase) + _NOT_BEFORE_LETTER
        for phrase in query.phrases
    )
    if not alternatives:
        return None
    return re.compile("|".join(alternatives))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text)


def _marked(text: str, pattern: re.Pattern[str]) -> str:
    pieces: list[str] = []
    position = 0
    for found in pattern.finditer(text):
        if found.end() == found.start():
            continue
        pieces.append(html.escape(text[position : found.start()], quote=False))
        pieces.append("<mark>" + html.escape(found.group(), quote=False) + "</mark>")
        position = found.end()
    pieces.append(html.escape(text[position:], quote=False))
    return "".join(pieces)


# How far a snippet's edge moves out to finish a word.
_WORD_SLACK = 30


def _window(text: str, start: int, end: int) -> tuple[str, bool, bool]:
    """`text[start:end]` moved out to whole words, and whether it was cut at each side."""
    if start > 0:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < _WORD_SLACK else start
    if end < len(text):
        space = text.find(" ", end)
        end = space if space >= 0 and space - end < _WORD_SLACK else end
    return text[start:end].strip(), start > 0, end < len(text)


def make_snippet(
    texts: Iterable[str | None], query: ParsedQuery, *, length: int = SNIPPET_CHARS
) -> str | None:
    """About `length` characters of the first of `texts` that contains a match, around
    the first match, as HTML with the matches in `<mark>`; without any match, the start
    of the first non-empty text. None when all are empty."""
    candidates = [text for text in texts if text and text.strip()]
    if not candidates:
        return None
    pattern = match_pattern(query)
    chosen, found = candidates[0], None
    if pattern is not None:
        for candidate in candidates:
            found = pattern.search(candidate)
            if found is not None:
                chosen = candidate
                break
    # Spaces are collapsed only in the part of the text the snippet can show: from a
    # word's start some way before the first match to a little past it, not through a
    # whole extracted text. The pattern finds the same first match there (it treats any
    # run of non-letters alike). Whitespace can make the reach fall short: then further.
    offset = _word_start_before(chosen, found.start() - _LEAD_SLACK) if found is not None else 0
    reach = (found.end() if found is not None else 0) + 2 * length
    while True:
        text = _clean(chosen[offset:reach])
        match = pattern.search(text) if pattern is not None else None
        start = max(0, match.start() - _LEAD_CHARS) if match is not None else 0
        if reach >= len(chosen) or len(text) > start + length + 2 * _WORD_SLACK:
            break
        reach = offset + 2 * (reach - offset)
    piece, cut_before, cut_after = _window(text, start, start + length)
    body = _marked(piece, pattern) if pattern is not None else html.escape(piece, quote=False)
    return ("…" if cut_before or offset > 0 else "") + body + ("…" if cut_after else "")


# How far before the first match the shown part of a text may start.
_LEAD_SLACK = 4 * _LEAD_CHARS
# How far back the start of a word is looked for.
_WORD_SEARCH = 200


def _word_start_before(text: str, position: int) -> int:
    """Where the word at or before `position` starts (after whitespace); 0 from the
    text's start, or when no whitespace is near."""
    if position <= 0:
        return 0
    boundary = 0
    for space in _SPACES.finditer(text, max(0, position - _WORD_SEARCH), position):
        boundary = space.end()
    return boundary
