"""Text folded for case-insensitive search, the same way on every database.

PostgreSQL databases created with the C locale lower-case only ASCII, and SQLite's
`lower()` and `LIKE` fold only ASCII too, so "ОШ" would never find "Ош" in SQL. The
exchange therefore folds text in Python when it is stored (a `*_search`/`*_key` column)
and folds the query the same way; SQL then compares plain strings with `LIKE`.
"""

from __future__ import annotations

from exchange.search.normalise import normalise_text

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
