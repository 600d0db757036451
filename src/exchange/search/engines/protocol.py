"""What the search service asks of a database's search engine, and what it gets back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from exchange.accounts.identity import Identity
from exchange.search.cursor import CursorKey
from exchange.search.normalise import ParsedQuery
from exchange.search.schemas import SortOrder


@dataclass(frozen=True)
class Search:
    """A validated search, ready to become SQL."""

    query: ParsedQuery
    kinds: tuple[str, ...]
    subjects: tuple[str, ...]
    grades: tuple[int, ...]
    languages: tuple[str, ...]
    school_ids: tuple[UUID, ...]
    licences: tuple[str, ...]
    author_id: UUID | None
    author_words: tuple[str, ...]
    sort: SortOrder
    limit: int
    fingerprint: str = field(default="")


@dataclass(frozen=True)
class WantedPage:
    """A page of `search` that `identity` asks for at `now`: the one after the sort key
    `after`, or the first when None."""

    identity: Identity
    search: Search
    now: datetime
    after: CursorKey | None


@dataclass(frozen=True)
class Found:
    """What an engine found for one page of a search, before it is shaped for the API."""

    # The page's sort keys in order, one more than `Search.limit` when a next page exists.
    keys: list[CursorKey]
    # What the page shows of each of its first `Search.limit` documents, by position
    # (a document deleted meanwhile is missing).
    rows: dict[int, Any]
    # (resource id, member id, full name) of the member authors of those resources, in
    # the order they were added.
    authors: Sequence[tuple[UUID, UUID, str]]
    total: int
    total_is_estimate: bool
    # Counts by facet ("kind", "subject", "language", "school", "grade"): (value, count).
    facet_counts: dict[str, list[tuple[str, int]]]
    # The names of the schools counted in the "school" facet, by the value there.
    school_names: dict[str, str]


class SearchEngine(Protocol):
    """Runs searches on one database, with that database's statements, sampling and
    planner settings. Chosen once, by the app factory, from the database's dialect."""

    async def find(self, session: AsyncSession, wanted: WantedPage) -> Found:
        """The page, with the total and facets, over what the caller may read."""
        ...
