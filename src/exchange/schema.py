"""The schema is the Alembic migrations under `migrations/`; this module runs them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from exchange.config import Settings
from exchange.database import create_engine, protect_sqlite_file


def compare_type(
    _context: Any,
    _inspected_column: Any,
    metadata_column: Any,
    _inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Alembic's type comparison, except for advanced-alchemy's portable types.

    GUID and DateTimeUTC are stored as each database's native form (BINARY/NUMERIC on
    SQLite, UUID/TIMESTAMPTZ on PostgreSQL); reflection cannot map that back, so a
    difference in their reflected type is not a difference in the schema.
    """
    if isinstance(metadata_type, GUID | DateTimeUTC):
        return False
    return None


# What the hand-written migrations build and the models do not describe: the full-text
# index of search (0004: FTS5 tables on SQLite, tsvector columns and a GIN index on
# PostgreSQL; 0005: a GIN index on the head vector; 0006 and 0007: GIN indexes over
# samples of the documents; 0008: the owner school of each document, indexed; 0009: the
# FTS5 table rebuilt with longer prefixes; 0010: a GIN index of the titles' words).
# Comparing the models with a database leaves these out.
HAND_WRITTEN_TABLE_PREFIXES = ("search_index",)
HAND_WRITTEN_COLUMNS = frozenset(
    {
        ("search_documents", "search_vector"),
        ("search_documents", "head_vector"),
        ("search_documents", "owner_school_id"),
    }
)
HAND_WRITTEN_INDEXES = frozenset(
    {
        "ix_search_documents_search_vector",
        "ix_search_documents_head_vector",
        "ix_search_documents_search_vector_quarter",
        "ix_search_documents_search_vector_sixteenth",
        "ix_search_documents_search_vector_sixty_fourth",
        "ix_search_documents_owner_school_id",
        "ix_search_documents_title_vector",
    }
)


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic's filter of reflected names: everything except the hand-written objects."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(HAND_WRITTEN_TABLE_PREFIXES)
    if type_ == "column":
        return (parent_names.get("table_name"), name) not in HAND_WRITTEN_COLUMNS
    if type_ == "index":
        return name not in HAND_WRITTEN_INDEXES
    return True


def migrations_dir() -> Path:
    """`migrations/` in a source checkout, or the copy shipped inside the wheel."""
    shipped = Path(str(resources.files("exchange"))) / "migrations"
    if (shipped / "env.py").is_file():
        return shipped
    checkout = Path(__file__).resolve().parents[2] / "migrations"
    if (checkout / "env.py").is_file():
        return checkout
    raise RuntimeError("The migrations folder is missing from this installation.")


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    config.attributes["settings"] = settings
    return config


def _run_outside_event_loop(fn: Any, *args: Any) -> None:
    """Alembic's env.py drives its own event loop; give it a thread when one runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        fn(*args)
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(settings: Settings, revision: str = "head") -> None:
    if settings.is_sqlite:
        protect_sqlite_file(settings)
    _run_outside_event_loop(command.upgrade, alembic_config(settings), revision)


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


async def current_revision(settings: Settings) -> str | None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:

            def read(sync_connection: Connection) -> str | None:
                return MigrationContext.configure(sync_connection).get_current_revision()

            return await connection.run_sync(read)
    finally:
        await engine.dispose()
