"""A search engine per database: `SqliteSearch` (FTS5) and `PostgresSearch` (tsvector),
each with its own statements, sampling and planner settings, behind `SearchEngine`.
The app chooses one at start-up (`search_engine_for`); the search service in front of
it validates searches, reads and writes cursors and shapes what is found."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from exchange.database import sqlite_reader
from exchange.search.engines.postgres import PostgresSearch
from exchange.search.engines.protocol import Found, Search, SearchEngine, WantedPage
from exchange.search.engines.sqlite import SqliteSearch

__all__ = [
    "Found",
    "PostgresSearch",
    "Search",
    "SearchEngine",
    "SqliteSearch",
    "WantedPage",
    "search_engine_for",
]


def search_engine_for(engine: AsyncEngine) -> SearchEngine:
    """The search engine for the database behind `engine`."""
    if engine.dialect.name == "postgresql":
        return PostgresSearch()
    return SqliteSearch(sqlite_reader(engine.sync_engine))
