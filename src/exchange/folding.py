"""Text folded for case-insensitive search, the same way on every database.

PostgreSQL databases created with the C locale lower-case only ASCII, and SQLite's
`lower()` and `LIKE` fold only ASCII too, so "ОШ" would never find "Ош" in SQL. The
exchange therefore folds text in Python when it is stored (a `*_search`/`*_key` column)
and folds the query the same way; SQL then compares plain strings with `LIKE`.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
LIKE_ESCAPE = "\\"


def fold(text: str | None) -> str:
    """`text` compatibility-normalised, case-folded, `ё` read as `е`, spaces collapsed.

    Russian writers use `е` for `ё` more often than not, so both must find each other.
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return _WHITESPACE.sub(" ", folded).strip()


def words(text: str | None) -> list[str]:
    """The words of `text`, folded, in order (letters and digits of any script)."""
    return _WORD.findall(fold(text))


def contains_pattern(word: str) -> str:
    """A `LIKE` pattern (escape `LIKE_ESCAPE`) matching `word` anywhere, wildcards literal."""
    escaped = (word.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", f"{LIKE_ESCAPE}%")).replace(
        "_", f"{LIKE_ESCAPE}_"
    )
    return f"%{escaped}%"
