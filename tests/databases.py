"""The databases the tests run on: one per database engine for the whole session (one per
xdist worker), migrated once and brought back to its freshly migrated state before each
test in one transaction.

Emptying costs a millisecond or two; copying a template database cost half a second on
PostgreSQL. The rows the migrations write (the code of conduct) are kept aside on the
emptying connection and put back, so every test starts from exactly what `exchange db
upgrade` leaves. A module whose tests share a costly starting state (the access matrix's
nine schools) keeps it the same way (`keep`) and brings it back before each test
(`bring_back`).
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
        self._columns = {table: self._stored_columns(table) for table in self._tables}
        self._kept: dict[str, list[str]] = {}
        self.keep("seed")
        self._seeded = self._kept["seed"]

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

    def _stored_columns(self, table: str) -> tuple[str, str, str]:
        """How `table` is copied, as (the columns kept, the columns filled, the columns
        read back): its stored columns, and for a virtual table (the FTS5 index) the rowid
        that ties it to its documents."""
        rows = self._connection.execute(f"PRAGMA main.table_xinfo({_quote(table)})").fetchall()
        names = ", ".join(_quote(row[1]) for row in rows if row[6] == 0)
        sql = self._connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()[0]
        if (sql or "").upper().startswith("CREATE VIRTUAL"):
            return f"rowid AS kept_rowid, {names}", f"rowid, {names}", f"kept_rowid, {names}"
        return names, names, names

    def keep(self, name: str) -> None:
        """Keep every table's rows as they are now, for `bring_back(name)`."""
        kept = []
        for table in self._tables:
            if not self._has_rows(table):
                continue
            copy = _quote(f"{name}_{table}")
            columns = self._columns[table][0]
            self._connection.execute(f"DROP TABLE IF EXISTS temp.{copy}")
            self._connection.execute(
                f"CREATE TEMP TABLE {copy} AS SELECT {columns} FROM main.{_quote(table)}"
            )
            kept.append(table)
        self._kept[name] = kept

    def empty(self) -> None:
        """Every table as the migrations left it."""
        used = [table for table in self._tables if self._has_rows(table)]
        if used == self._seeded and not self._seeds_changed():
            return
        self._fill(used, "seed")

    def bring_back(self, name: str) -> None:
        """Every table as it was when `keep(name)` was called."""
        self._fill([table for table in self._tables if self._has_rows(table)], name)

    def _fill(self, used: list[str], name: str) -> None:
        triggers = self._connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
            f"({', '.join('?' for _ in used)})",
            used,
        ).fetchall()
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            for trigger, _sql in triggers:
                connection.execute(f"DROP TRIGGER main.{_quote(trigger)}")
            for table in used:
                connection.execute(f"DELETE FROM main.{_quote(table)}")
            for table in self._kept[name]:
                _kept, filled, read_back = self._columns[table]
                connection.execute(
                    f"INSERT INTO main.{_quote(table)} ({filled}) "
                    f"SELECT {read_back} FROM temp.{_quote(f'{name}_{table}')}"
                )
            for _trigger, sql in triggers:
                connection.execute(sql)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def _seeds_changed(self) -> bool:
        for table in self._seeded:
            columns = self._columns[table][2]
            differs = self._connection.execute(
                f"SELECT EXISTS (SELECT {columns} FROM main.{_quote(table)} "
                f"EXCEPT SELECT {columns} FROM temp.{_quote('seed_' + table)}) "
                f"OR EXISTS (SELECT {columns} FROM temp.{_quote('seed_' + table)} "
                f"EXCEPT SELECT {columns} FROM main.{_quote(table)})"
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
    only; identity sequences start again at 1 (or where they stood, for a kept state).
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
            self._kept: dict[str, str] = {}
        except BaseException:
            self._stack.close()
            raise

    def _call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return self._portal.call(fn, *args)

    async def _prepare(self) -> str:
        self._tables = [
            row["tablename"]
            for row in await self._connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
            if row["tablename"] not in _KEPT_TABLES
        ]
        self._sequences = [
            row["name"]
            for row in await self._connection.fetch(
                "SELECT quote_ident(sequence_name) AS name FROM information_schema.sequences "
                "WHERE sequence_schema = 'public'"
            )
        ]
        self._columns = {
            table: ", ".join(
                _quote(row["column_name"])
                for row in await self._connection.fetch(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND table_name = $1 "
                    "AND is_generated = 'NEVER' ORDER BY ordinal_position",
                    table,
                )
            )
            for table in self._tables
        }
        return await self._keep("seed", restart_sequences=True)

    async def _keep(self, name: str, *, restart_sequences: bool = False) -> str:
        """Copies the tables that have rows now, and gives the script that brings every
        table back to them."""
        kept = []
        for table in self._tables:
            if await self._connection.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_quote(table)})"):
                kept.append(table)
                copy = _quote(f"{name}_{table}")
                await self._connection.execute(
                    f"DROP TABLE IF EXISTS pg_temp.{copy}; "
                    f"CREATE TEMP TABLE {copy} AS "
                    f"SELECT {self._columns[table]} FROM {_quote(table)}"
                )
        if restart_sequences:
            sequences = [f"ALTER SEQUENCE public.{seq} RESTART" for seq in self._sequences]
        else:
            sequences = []
            for seq in self._sequences:
                row = await self._connection.fetchrow(
                    f"SELECT last_value, is_called FROM public.{seq}"
                )
                sequences.append(
                    f"SELECT setval('public.{seq}', {row['last_value']}, {row['is_called']})"
                )
        statements = [
            "BEGIN",
            "SET LOCAL session_replication_role = replica",
            *(f"DELETE FROM public.{_quote(table)}" for table in self._tables),
            *(
                f"INSERT INTO public.{_quote(table)} ({self._columns[table]}) "
                f"OVERRIDING SYSTEM VALUE "
                f"SELECT {self._columns[table]} FROM pg_temp.{_quote(f'{name}_{table}')}"
                for table in kept
            ),
            *sequences,
            "COMMIT",
        ]
        return ";\n".join(statements)

    def empty(self) -> None:
        """Every table as the migrations left it."""
        self._call(self._connection.execute, self._script)

    def keep(self, name: str) -> None:
        """Keep every table's rows as they are now, for `bring_back(name)`."""
        self._kept[name] = self._call(self._keep, name)

    def bring_back(self, name: str) -> None:
        """Every table as it was when `keep(name)` was called."""
        self._call(self._connection.execute, self._kept[name])

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
