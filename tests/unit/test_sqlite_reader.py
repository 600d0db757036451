"""The SQLite reader: a connection for every thread that asks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from exchange.database import sqlite_reader


async def test_the_reader_hands_out_more_connections_at_once_than_it_keeps(
    tmp_path: Path,
) -> None:
    # A search holds a reader connection for its page while its count, in another
    # thread, holds a second: with more searches at once than the pool keeps, none
    # may wait for a connection another holds.
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'reader.sqlite3'}")
    reader = sqlite_reader(engine.sync_engine)
    try:
        held = [reader.connect() for _ in range(reader.pool.size() * 4)]
        assert [connection.scalar(text("SELECT 1")) for connection in held] == [1] * len(held)
        for connection in held:
            connection.close()
    finally:
        reader.dispose()
        await engine.dispose()
