"""The search box's words: a query parsed into prefix terms and exact phrases, each
normalised as indexed text is (`exchange.kernel.text.normalise_text`)."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.kernel.text import normalise_text

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
