"""The migrations are the schema: they must build exactly what the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from exchange.config import Settings
from exchange.database import create_engine
from exchange.models import SearchDocument, metadata
from exchange.schema import (
    compare_type,
    current_revision,
    head_revision,
    include_name,
    upgrade,
)
from exchange.search.engines.postgres import SAMPLE_FRACTIONS, sampled_matches
from exchange.search.fulltext import tsvector_title_matches

# On SQLite and PostgreSQL: the migrations must build the models on each database.
pytestmark = pytest.mark.every_database


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": compare_type, "include_name": include_name, "render_as_batch": True},
    )
    return list(compare_metadata(context, metadata))


async def test_migrations_build_exactly_the_models(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


async def test_the_database_is_at_the_head_revision(settings: Settings) -> None:
    assert await current_revision(settings) == head_revision(settings)


async def test_upgrading_twice_changes_nothing(settings: Settings) -> None:
    upgrade(settings)
    assert await current_revision(settings) == head_revision(settings)


async def test_audit_events_cannot_be_updated_or_deleted(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO audit_events "
                    "(id, occurred_at, action, outcome, owner_school_id, details) "
                    "VALUES (:id, CURRENT_TIMESTAMP, 'test', 'ok', :school, '{}')"
                ),
                {
                    "id": "0" * 32
                    if settings.is_sqlite
                    else "00000000-0000-0000-0000-000000000001",
                    "school": "1" * 32
                    if settings.is_sqlite
                    else "00000000-0000-0000-0000-000000000002",
                },
            )
        for statement in ("UPDATE audit_events SET action = 'changed'", "DELETE FROM audit_events"):
            with pytest.raises(Exception, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _sqlite_indexes(connection: AsyncConnection) -> set[str]:
    names = await connection.scalars(
        text("SELECT name FROM sqlite_master WHERE tbl_name = 'search_documents'")
    )
    return set(names)


async def _postgres_index(connection: AsyncConnection, name: str) -> str | None:
    return await connection.scalar(
        text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": name}
    )


async def test_the_head_vector_has_its_own_full_text_index(settings: Settings) -> None:
    """Migration 0005: on PostgreSQL a GIN index answers title and metadata matches;
    SQLite's FTS5 table already does, and gets nothing new."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            if settings.is_sqlite:
                assert "ix_search_documents_head_vector" not in await _sqlite_indexes(connection)
            else:
                definition = await _postgres_index(connection, "ix_search_documents_head_vector")
                assert definition is not None
                assert "USING gin (head_vector)" in definition
    finally:
        await engine.dispose()


# The partial GIN indexes over fixed samples of the documents: of migrations 0006 and 0007.
SAMPLE_INDEXES = {
    4: "ix_search_documents_search_vector_quarter",
    16: "ix_search_documents_search_vector_sixteenth",
    64: "ix_search_documents_search_vector_sixty_fourth",
}


async def test_large_counts_are_estimated_through_the_sample_indexes(settings: Settings) -> None:
    """Migrations 0006 and 0007: on PostgreSQL partial GIN indexes over a quarter, a
    sixteenth and a sixty-fourth of the documents, which the sampling statement of each
    must be able to use (its predicate written as the index's); SQLite gets nothing."""
    assert set(SAMPLE_INDEXES) == set(SAMPLE_FRACTIONS)
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            if settings.is_sqlite:
                assert not set(SAMPLE_INDEXES.values()) & await _sqlite_indexes(connection)
                return
            await connection.execute(text("SET LOCAL enable_seqscan = off"))
            for fraction, name in SAMPLE_INDEXES.items():
                definition = await _postgres_index(connection, name)
                assert definition is not None, name
                assert "USING gin (search_vector)" in definition
                assert f"WHERE ((hashint8(id) & {fraction - 1}) = 0)" in definition
                sql = str(
                    sampled_matches(fraction)
                    .params(tsquery_all="'manas':*")
                    .compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
                )
                plan = "\n".join(await connection.scalars(text("EXPLAIN " + sql)))
                assert name in plan, plan
    finally:
        await engine.dispose()


async def test_documents_know_their_school_in_an_index_of_its_own(settings: Settings) -> None:
    """Migration 0008: on PostgreSQL each document's owner school is a column of its own
    with a btree index, which a search intersects with the GIN index's matches; SQLite
    gets nothing."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            if settings.is_sqlite:
                indexes = await _sqlite_indexes(connection)
                assert "ix_search_documents_owner_school_id" not in indexes
                return
            definition = await _postgres_index(connection, "ix_search_documents_owner_school_id")
            assert definition is not None
            assert "USING btree (owner_school_id)" in definition
    finally:
        await engine.dispose()


async def test_sqlite_indexes_prefixes_of_up_to_six_letters(settings: Settings) -> None:
    """Migration 0009: every search word is a prefix, and FTS5 answers one of an indexed
    length from a single list; five and six letters are indexed too. The trigger that
    drops a document's index row is made again for the rebuilt table."""
    if not settings.is_sqlite:
        pytest.skip("PostgreSQL's GIN index answers a prefix of any length")
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            table = await connection.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'search_index'")
            )
            assert "prefix = '2 3 4 5 6'" in table
            trigger = await connection.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'search_documents_unindex'")
            )
            assert "DELETE FROM search_index WHERE rowid = old.id" in trigger
    finally:
        await engine.dispose()


async def test_titles_words_have_a_gin_index_that_the_title_step_uses(settings: Settings) -> None:
    """Migration 0010: on PostgreSQL the words of each title (the head vector's lexemes
    of weight A) have a GIN index of their own, and the condition the first step of a
    ranked page uses is the index's expression, so the planner can use it."""
    if settings.is_sqlite:
        pytest.skip("FTS5 filters by column")
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            definition = await _postgres_index(connection, "ix_search_documents_title_vector")
            assert definition is not None
            assert "USING gin (ts_filter(head_vector, '{a}'::\"char\"[]))" in definition
            await connection.execute(text("SET LOCAL enable_seqscan = off"))
            sql = str(
                select(SearchDocument.id)
                .where(tsvector_title_matches())
                .params(tsquery_all="'manas':*")
                .compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
            )
            plan = "\n".join(await connection.scalars(text("EXPLAIN " + sql)))
            assert "ix_search_documents_title_vector" in plan, plan
    finally:
        await engine.dispose()
