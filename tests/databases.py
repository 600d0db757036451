"""The databases the tests run on: one per database engine for the whole session (one per
xdist worker), migrated once and brought back to its freshly migrated state before each
test in one transaction.

Emptying costs a millisecond or two; copying a template database cost half a second on
PostgreSQL. The rows the migrations write (the code of conduct) are kept aside on the
emptying connection and put back, so every test starts from exactly what `exchange db
upgrade` leaves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from anyio.from_thread import BlockingPortal, start_blocking_portal
from sqlalchemy.engine import make_url

T = TypeVar("T")

# Alembic's own bookkeeping: the revision stays.
_KEPT_TABLES = frozenset({"alembic_version"})
# SQLite keeps an FTS5 index in shadow tables of these suffixes; they follow their
# virtual table and must not be touched directly.
_FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteDatabase:
    """A migrated SQLite file, emptied through a connection of its own.

    That connection leaves foreign keys off (SQLite's default), so tables empty in any
    order; triggers on the tables being emptied (the audit trail's append-only guard,
    the search index's follow-up delete) are dropped and made again in the same
    transaction, which the app's connections never see half done.
    """

    def __init__(self, path: Path, migrate: Callable[[str], None]) -> None:
        self.path = path
        self.url = f"sqlite+aiosqlite:///{path}"
        migrate(self.url)
        self._connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._tables = self._user_tables()
        self._seeded = [table for table in self._tables if self._has_rows(table)]
        for table in self._seeded:
            self._connection.execute(
                f"CREATE TEMP TABLE {_quote('seed_' + table)} AS SELECT * FROM main.{_quote(table)}"
            )

    def _user_tables(self) -> list[str]:
        rows = self._connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        virtual = [name for name, sql in rows if (sql or "").upper().startswith("CREATE VIRTUAL")]
        shadows = {v + suffix for v in virtual for suffix in _FTS5_SHADOW_SUFFIXES}
        return [
            name
            for name, _sql in rows
            if name not in _KEPT_TABLES and name not in shadows and not name.startswith("sqlite_")
        ]

    def _has_rows(self, table: str) -> bool:
        found = self._connection.execute(f"SELECT EXISTS (SELECT 1 FROM main.{_quote(table)})")
        return bool(found.fetchone()[0])

    def empty(self) -> None:
        """Every table as the migrations left it."""
        used = [table for table in self._tables if self._has_rows(table)]
        if used == self._seeded and not self._seeds_changed():
            return
        triggers = self._connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
            f"({', '.join('?' for _ in used)})",
            used,
        ).fetchall()
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            for name, _sql in triggers:
                connection.execute(f"DROP TRIGGER main.{_quote(name)}")
            for table in used:
                connection.execute(f"DELETE FROM main.{_quote(table)}")
            for table in self._seeded:
                connection.execute(
                    f"INSERT INTO main.{_quote(table)} SELECT * FROM temp.{_quote('seed_' + table)}"
                )
            for _name, sql in triggers:
                connection.execute(sql)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def _seeds_changed(self) -> bool:
        for table in self._seeded:
            differs = self._connection.execute(
                f"SELECT EXISTS (SELECT * FROM main.{_quote(table)} "
                f"EXCEPT SELECT * FROM temp.{_quote('seed_' + table)}) "
                f"OR EXISTS (SELECT * FROM temp.{_quote('seed_' + table)} "
                f"EXCEPT SELECT * FROM main.{_quote(table)})"
            ).fetchone()[0]
            if differs:
                return True
        return False

    def close(self) -> None:
        self._connection.close()


class PostgresDatabase:
    """A migrated PostgreSQL database, emptied by one script on a connection of its own.

    `session_replication_role = replica` turns off the foreign-key triggers (tables
    empty in any order) and the audit trail's append-only trigger for that transaction
    only; identity sequences start again at 1.
    """

    def __init__(self, url: str, migrate: Callable[[str], None]) -> None:
        self.url = url
        self._stack = ExitStack()
        self._portal: BlockingPortal = self._stack.enter_context(start_blocking_portal())
        try:
            self._call(_recreate_database, url)
            migrate(url)
            self._connection: asyncpg.Connection = self._call(asyncpg.connect, _dsn(url))
            self._script = self._call(self._prepare)
        except BaseException:
            self._stack.close()
            raise

    def _call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return self._portal.call(fn, *args)

    async def _prepare(self) -> str:
        tables = [
            row["tablename"]
            for row in await self._connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
            if row["tablename"] not in _KEPT_TABLES
        ]
        sequences = [
            row["name"]
            for row in await self._connection.fetch(
                "SELECT quote_ident(sequence_name) AS name FROM information_schema.sequences "
                "WHERE sequence_schema = 'public'"
            )
        ]
        seeded = []
        for table in tables:
            if await self._connection.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_quote(table)})"):
                seeded.append(table)
                await self._connection.execute(
                    f"CREATE TEMP TABLE {_quote('seed_' + table)} AS SELECT * FROM {_quote(table)}"
                )
        statements = [
            "BEGIN",
            "SET LOCAL session_replication_role = replica",
            *(f"DELETE FROM public.{_quote(table)}" for table in tables),
            *(
                f"INSERT INTO public.{_quote(table)} "
                f"SELECT * FROM pg_temp.{_quote('seed_' + table)}"
                for table in seeded
            ),
            *(f"ALTER SEQUENCE public.{name} RESTART" for name in sequences),
            "COMMIT",
        ]
        return ";\n".join(statements)

    def empty(self) -> None:
        """Every table as the migrations left it."""
        self._call(self._connection.execute, self._script)

    def disconnect(self) -> None:
        """Close the emptying connection: a database copied as a template must have none."""
        if not self._connection.is_closed():
            self._call(self._connection.close)

    def close(self) -> None:
        """Drop the database."""
        try:
            self.disconnect()
            self._call(_drop_database, self.url)
        finally:
            self._stack.close()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin_connection(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(
        _dsn(make_url(url).set(database="postgres").render_as_string(False))
    )


async def _recreate_database(url: str) -> None:
    name = make_url(url).database
    connection = await _admin_connection(url)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {_quote(name or '')} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {_quote(name or '')}")
    finally:
        await connection.close()


async def _drop_database(url: str) -> None:
    connection = await _admin_connection(url)
    try:
        await connection.execute(
            f"DROP DATABASE IF EXISTS {_quote(make_url(url).database or '')} WITH (FORCE)"
        )
    finally:
        await connection.close()


@contextmanager
def postgres_copy(template_url: str, name: str) -> Iterator[str]:
    """A database of its own, copied from `template_url`'s (which nothing may be connected
    to), for a test that changes the schema itself; dropped afterwards."""
    base = make_url(template_url)
    url = base.set(database=name).render_as_string(hide_password=False)
    with start_blocking_portal() as portal:
        portal.call(_create_from_template, url, base.database or "")
        try:
            yield url
        finally:
            portal.call(_drop_database, url)


async def _create_from_template(url: str, template: str) -> None:
    connection = await _admin_connection(url)
    try:
        await connection.execute(
            f"CREATE DATABASE {_quote(make_url(url).database or '')} TEMPLATE {_quote(template)}"
        )
    finally:
        await connection.close()
