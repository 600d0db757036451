"""A search's page cursor: the exchange's one keyset cursor (`exchange.kernel.paging`)
over a search's sort key, bound to the words, filters and sort it was issued for."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.kernel import paging

search_fingerprint = paging.fingerprint


@dataclass(frozen=True)
class CursorKey:
    """The sort key of the last item of a page (results go in descending order): its
    tier and its position in the index, which grows as resources are added."""

    score: int
    position: int


def encode_cursor(key: CursorKey, fingerprint: str) -> str:
    return paging.encode_cursor((key.score, key.position), fingerprint)


def decode_cursor(token: str, fingerprint: str) -> CursorKey:
    """The key in `token`, or `InvalidInput` (422) when it is malformed or belongs to
    another search."""
    score, position = paging.decode_cursor(token, (int, int), fingerprint)
    return CursorKey(score=score, position=position)
