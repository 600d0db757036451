"""Opaque page cursors: where the previous page ended, for one search only.

A cursor holds the sort key of the last item shown (its tier and its position in the
index, which grows as resources are added), so the next page starts strictly after it
whatever was added meanwhile; and a fingerprint of
the search it belongs to, so that it cannot be replayed against other words or filters.
It is not secret: a hand-made cursor can only move where a page starts, and what the
caller may read is decided in SQL on every page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, TypeGuard

from exchange.errors import InvalidInput
from exchange.i18n import lazy_gettext

_VERSION = 2
_MAX_LENGTH = 400

_BAD_CURSOR = lazy_gettext(
    "The cursor is not one this search returned. Start again from the first page "
    "(leave out `cursor`) and follow `next_cursor`."
)
_OTHER_SEARCH = lazy_gettext(
    "The cursor belongs to a different search (other words, filters or sort). "
    "Start again from the first page of this search."
)


@dataclass(frozen=True)
class CursorKey:
    """The sort key of the last item of a page (results go in descending order)."""

    score: int
    position: int


def search_fingerprint(*parts: Any) -> str:
    """A short digest of what defines a search (not its page size or cursor)."""
    canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def encode_cursor(key: CursorKey, fingerprint: str) -> str:
    document = {
        "v": _VERSION,
        "f": fingerprint,
        "s": key.score,
        "p": key.position,
    }
    raw = json.dumps(document, separators=(",", ":")).encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, fingerprint: str) -> CursorKey:
    """The key in `token`, or `InvalidInput` (422) when it is malformed or belongs to
    another search."""
    if not token or len(token) > _MAX_LENGTH:
        raise InvalidInput(_BAD_CURSOR, field="cursor")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidInput(_BAD_CURSOR, field="cursor") from None
    if not isinstance(document, dict) or document.get("v") != _VERSION:
        raise InvalidInput(_BAD_CURSOR, field="cursor")
    if document.get("f") != fingerprint:
        raise InvalidInput(_OTHER_SEARCH, field="cursor")
    score, position = document.get("s"), document.get("p")
    if not (_natural(score) and _natural(position)):
        raise InvalidInput(_BAD_CURSOR, field="cursor")
    return CursorKey(score=score, position=position)


def _natural(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62
