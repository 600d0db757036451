"""The database engine and the per-request session, shared by the app and the CLI."""

from __future__ import annotations

import contextlib
import datetime
import os
import stat
import threading
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import msgspec
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.extensions.litestar._utils import delete_aa_scope_state, get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import (
    SESSION_TERMINUS_ASGI_EVENTS,
)
from advanced_alchemy.types import GUID, DateTimeUTC
from litestar.types import Message, Scope
from sqlalchemy import JSON, CompoundSelect, Engine, Select, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from exchange.config import Settings

SESSION_DEPENDENCY_KEY = "db_session"
# Every session carries the settings it was made under, so that work done after its
# commit (sending mail) knows where to go without threading settings through hooks.
SETTINGS_INFO_KEY = "exchange.settings"
# ... and the subscriptions of its unit of work (`exchange.unit_of_work`): what each
# domain event causes, decided once by `exchange.consequences`.
CONSEQUENCES_INFO_KEY = "exchange.consequences"

# The SQLite file holds password hashes and e-mail addresses: readable by the service's
# user only, as the file store is. SQLite gives its WAL and shared-memory files the mode
# of the database file, so they follow.
SQLITE_FILE_MODE: Final = 0o600
DATA_FOLDER_MODE: Final = 0o700
_SQLITE_COMPANIONS: Final = ("-wal", "-shm", "-journal")


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        protect_sqlite_file(settings)
        engine = create_async_engine(
            settings.database_url, connect_args={"timeout": 30}, pool_pre_ping=False
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        settings.database_url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=10,
    )


def protect_sqlite_file(settings: Settings) -> None:
    """Create the SQLite file 0600 before SQLite does (it would make it 0644 under the
    usual umask), tighten one an older version left readable, and keep the data folder
    to the service's user. Folders the exchange does not own (an explicit
    `EXCHANGE_DATABASE_URL` elsewhere) are created 0700 if missing, never changed."""
    database = make_url(settings.database_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser().resolve()
    _private_folder(settings.data_dir, tighten=True)
    _private_folder(path.parent, tighten=path.parent == settings.data_dir)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE))
    for name in (path.name, *(path.name + suffix for suffix in _SQLITE_COMPANIONS)):
        _tighten(path.with_name(name), SQLITE_FILE_MODE)


def _private_folder(folder: Path, *, tighten: bool) -> None:
    try:
        folder.mkdir(mode=DATA_FOLDER_MODE, parents=True)
    except FileExistsError:
        if tighten:
            _tighten(folder, DATA_FOLDER_MODE)


def _tighten(path: Path, mode: int) -> None:
    """Take away what others and the group may do with `path`, if it is ours."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_uid == os.getuid() and stat.S_IMODE(status.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(status.st_mode) & mode)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets downloads read while an upload commits; foreign keys are off by default
    # in SQLite and the schema relies on their cascades.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Reads (searches above all) far outnumber writes: mapping the file and a larger page
    # cache keep index and row lookups in memory instead of a read() call each.
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


# The readers of SQLite databases, one per engine of the app's, closed with it.
_SQLITE_READERS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def sqlite_reader(bind: Any) -> Engine:
    """A synchronous engine over the same SQLite file as `bind` (the app's engine, or a
    connection of it), for reads that run many statements in a row: run in one worker
    thread, they cost one hand-off, where the async driver hands every step of every
    statement (cursor, execute, fetch, close) to its thread and back. It reads only what
    is committed: use it for work that writes nothing first."""
    engine: Engine = bind.engine
    reader = _SQLITE_READERS.get(engine)
    if reader is None:
        reader = create_sync_engine(
            engine.url.set(drivername="sqlite"),
            connect_args={"timeout": 30, "check_same_thread": False},
            # A connection for every thread that asks, kept for reuse up to the pool's
            # size: no thread waits for another's connection (a search holds one while
            # its count, in another thread, holds a second).
            max_overflow=-1,
        )
        event.listen(reader, "connect", _sqlite_pragmas)
        _SQLITE_READERS[engine] = reader
    return reader


class _ThreadConnections(threading.local):
    def __init__(self) -> None:
        self.by_reader: weakref.WeakKeyDictionary[Engine, Any] = weakref.WeakKeyDictionary()


_THREAD_CONNECTIONS = _ThreadConnections()


def _thread_connection(reader: Engine) -> Any:
    """The calling thread's own DBAPI connection of `reader`, opened once and kept.

    A SELECT outside a transaction reads the latest committed state, so a kept
    connection sees every commit; it never writes."""
    kept = _THREAD_CONNECTIONS.by_reader.get(reader)
    if kept is None:
        kept = reader.raw_connection()
        _THREAD_CONNECTIONS.by_reader[reader] = kept
    return kept.dbapi_connection


def _uuid_of_bytes(value: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=value)


def _utc_datetime_of_text(value: str) -> datetime.datetime:
    # SQLAlchemy writes the time in UTC without an offset, and reads any offset as UTC.
    return datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.UTC)


def _read_as_stored_on_sqlite(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """What SQLite's values of the commonest column types become, read with less than
    SQLAlchemy's conversions take (each made for every dialect and every case): a UUID
    from its 16 bytes, a UTC time from the text SQLAlchemy writes, a JSON document with
    msgspec. The same values come out; None for any other type (SQLAlchemy's own)."""
    if dialect.name != "sqlite":
        return None
    if isinstance(column_type, GUID) and column_type.binary:
        return _uuid_of_bytes
    if isinstance(column_type, DateTimeUTC):
        return _utc_datetime_of_text
    if isinstance(column_type, JSON):
        return msgspec.json.decode
    return None


# What the direct conversions below are checked against, once per statement.
_SAMPLE_UUID = uuid.UUID("0190f7a4-8a00-7000-8000-00000000beef")
_SAMPLE_TIME = datetime.datetime(2026, 9, 1, 8, 30, 5, 123456, tzinfo=datetime.UTC)


def _sqlite_time_text(value: datetime.datetime) -> str:
    """A UTC time as SQLite's `DATETIME` stores it (SQLAlchemy's default storage
    format)."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _direct_bind(type_: Any, process: Any) -> Any:
    """A parameter's conversion for SQLite, straight for the values every request binds.

    A UUID (advanced-alchemy's `GUID`) and a UTC time (`DateTimeUTC`) go through three
    to six Python layers each (the type decorator, its own conversion, the dialect's),
    and a statement behind the read rule binds several: here they become one step each.
    The direct step is used only if it gives what the layers give for a sample; any
    other value still goes through the layers."""
    if process is None:
        return None
    if isinstance(type_, GUID) and process(_SAMPLE_UUID) == _SAMPLE_UUID.bytes:

        def uuid_bytes(value: Any) -> Any:
            return value.bytes if value.__class__ is uuid.UUID else process(value)

        return uuid_bytes
    if isinstance(type_, DateTimeUTC) and process(_SAMPLE_TIME) == _sqlite_time_text(_SAMPLE_TIME):

        def utc_text(value: Any) -> Any:
            if value.__class__ is datetime.datetime and value.tzinfo is datetime.UTC:
                return _sqlite_time_text(value)
            return process(value)

        return utc_text
    return process


class PreparedRead:
    """A SELECT run on every request (the sign-in lookup, one's own account), compiled
    once per database and run with no more than the database needs.

    On SQLite it runs in the calling thread on that thread's kept reader connection
    (`sqlite_reader`), straight through the DBAPI cursor with the statement's SQL and
    the column types' own conversions: no pool checkout, no compiled-cache lookup, no
    result object, which together cost many times the lookup itself. On PostgreSQL it
    runs on the request's session like any statement.
    """

    def __init__(
        self, statement: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]
    ) -> None:
        self.statement = statement
        self._compiled: dict[
            str, tuple[str, list[tuple[str, Any, Any]], list[tuple[int, Any]]]
        ] = {}

    def _for(self, dialect: Any) -> tuple[str, list[tuple[str, Any, Any]], list[tuple[int, Any]]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled: Any = self.statement.compile(dialect=dialect)
            bind_processors = compiled._bind_processors
            names = list(compiled.positiontup or ())
            # Values written into the statement (a rule's constants) are bound too.
            binds = [
                (
                    name,
                    _direct_bind(compiled.binds[name].type, bind_processors.get(name)),
                    compiled.binds[name].effective_value,
                )
                for name in names
            ]
            processors = [
                _read_as_stored_on_sqlite(column.type, dialect)
                or column.type._cached_result_processor(dialect, None)
                for column in compiled._result_columns
            ]
            # Only the columns whose type converts what the driver gives (UUIDs, enums,
            # JSON, times), by position.
            results = [(index, process) for index, process in enumerate(processors) if process]
            found = (compiled.string, binds, results)
            self._compiled[dialect.name] = found
        return found

    def bound(self, dialect: Any, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and the values the driver is given for `params`."""
        sql, binds, _results = self._for(dialect)
        return sql, [
            value if process is None else process(value)
            for name, process, fixed in binds
            for value in (params.get(name, fixed),)
        ]

    def runs_as_compiled(self, dialect: Any) -> bool:
        """Whether the statement's SQL is fixed once compiled: not when it takes lists
        (`IN` with an expanding parameter), whose SQL depends on their length."""
        return "__[POSTCOMPILE_" not in self._for(dialect)[0]

    def rows_on(
        self, dialect: Any, connection: Any, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """Every row, on a DBAPI connection of SQLite's (see `runs_as_compiled`)."""
        return self._rows(dialect, connection, params, many=True)

    def _rows_on_reader(
        self, reader: Engine, params: Mapping[str, Any], many: bool
    ) -> list[tuple[Any, ...]]:
        return self._rows(reader.dialect, _thread_connection(reader), params, many)

    def _rows(
        self,
        dialect: Any,
        connection: Any,
        params: Mapping[str, Any],
        many: bool,
        *,
        as_stored: bool = False,
    ) -> list[tuple[Any, ...]]:
        sql, values = self.bound(dialect, params)
        results = self._for(dialect)[2]
        cursor = connection.execute(sql, values)
        rows: list[tuple[Any, ...]]
        try:
            if many:
                rows = cursor.fetchall()
            else:
                row = cursor.fetchone()
                rows = [] if row is None else [row]
        finally:
            cursor.close()  # ends the statement, and with it the read
        if not results or as_stored:
            return rows
        converted = []
        for row in rows:
            fields = list(row)
            for index, process in results:
                value = fields[index]
                if value is not None:
                    fields[index] = process(value)
            converted.append(tuple(fields))
        return converted

    def all_on_reader(
        self, reader: Engine, params: Mapping[str, Any], *, as_stored: bool = False
    ) -> list[tuple[Any, ...]]:
        """Every row, read on SQLite's reader in the calling thread; its values `as_stored`
        (no column type's conversion: a UUID as its 16 bytes) when only compared."""
        return self._rows(
            reader.dialect, _thread_connection(reader), params, many=True, as_stored=as_stored
        )

    def first_on_reader(self, reader: Engine, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, read on SQLite's reader in the calling thread."""
        rows = self._rows_on_reader(reader, params, many=False)
        return rows[0] if rows else None

    async def first(
        self, session: AsyncSession, params: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """The first row: on SQLite from the reader (what is committed), elsewhere on
        `session`."""
        bind = session.get_bind()
        if bind.dialect.name == "sqlite":
            return self.first_on_reader(sqlite_reader(bind), params)
        row = (await session.execute(self.statement, dict(params))).first()
        return None if row is None else tuple(row)

    async def first_in_request(
        self, scope: Scope, params: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """The first row, for a request that reads and writes nothing: on SQLite from the
        reader without giving the request a session at all (making one, and letting it
        go when the response starts, costs more than the read); elsewhere on the
        request's session, made now if the request has none yet."""
        state = scope["litestar_app"].state
        alchemy = cast(SQLAlchemyAsyncConfig, state["alchemy_config"])
        engine = alchemy.get_engine()
        if engine.dialect.name == "sqlite":
            return self.first_on_reader(sqlite_reader(engine.sync_engine), params)
        return await self.first(alchemy.provide_session(state, scope), params)

    async def all(self, session: AsyncSession, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, read as `first` reads one."""
        bind = session.get_bind()
        if bind.dialect.name == "sqlite":
            return self._rows_on_reader(sqlite_reader(bind), params, many=True)
        return [tuple(row) for row in await session.execute(self.statement, dict(params))]


T = TypeVar("T")


async def run_read(session: AsyncSession, read: Callable[[Session], T]) -> T:
    """`read(db)` with a synchronous session, every statement of it in one go: for the
    short reads of an everyday request (a few lookups by key).

    On PostgreSQL it runs on the request's own session (`AsyncSession.run_sync`), in its
    transaction. On SQLite it runs right here, on a reader connection
    (`sqlite_reader`), without leaving the event loop's thread: the async driver hands
    every step of every statement (cursor, execute, fetch, close) to its own thread and
    back, four or more wake-ups of the event loop per statement, each a wait for the
    scheduler on a busy machine, while the statements themselves take microseconds (a
    WAL reader never waits for a writer, and the file is mapped in memory). Reads of
    many rows (searches) keep their worker thread. The reader sees what is committed, so
    `read` must come before anything the request writes; objects it returns are
    detached, with what it loaded (relationships loaded eagerly).
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return await session.run_sync(read)
    with Session(sqlite_reader(bind), expire_on_commit=False, info=dict(session.info)) as db:
        return read(db)


def session_info(settings: Settings | None, consequences: object | None) -> dict[str, Any]:
    """What every session of the app carries: its settings and its consequences."""
    info: dict[str, Any] = {}
    if settings is not None:
        info[SETTINGS_INFO_KEY] = settings
    if consequences is not None:
        info[CONSEQUENCES_INFO_KEY] = consequences
    return info


def create_alchemy_config(
    settings: Settings, engine: AsyncEngine, consequences: object | None = None
) -> SQLAlchemyAsyncConfig:
    """One session per request, closed (and so rolled back) when the response starts.

    Services commit explicitly before they answer: a commit that fails must turn into an
    error response, never into a 2xx for something that was not stored.
    """
    config = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_dependency_key=SESSION_DEPENDENCY_KEY,
        session_config=AsyncSessionConfig(
            expire_on_commit=False, info=session_info(settings, consequences)
        ),
        create_all=False,
    )
    config.before_send_handler = _session_closer(config.session_scope_key)
    return config


def _session_closer(scope_key: str) -> Callable[[Message, Scope], Awaitable[None]]:
    """The request's session ends as its response starts. A session that never began a
    transaction and holds no object (its reads went through the SQLite reader,
    `PreparedRead`) has nothing to give back: it is let go without the close, which
    costs more than most such reads (SQLAlchemy builds the session's event dispatch
    just to detach nothing)."""

    async def close(message: Message, scope: Scope) -> None:
        if message["type"] not in SESSION_TERMINUS_ASGI_EVENTS:
            return
        session: AsyncSession | None = get_aa_scope_state(scope, scope_key)
        if session is None:
            return
        held = session.sync_session
        if held.in_transaction() or held.identity_map or held.new:
            await session.close()
        delete_aa_scope_state(scope, scope_key)

    return close


def create_session_factory(
    engine: AsyncEngine, settings: Settings | None = None, *, consequences: object | None = None
) -> async_sessionmaker[Any]:
    """Sessions for work outside a request: the CLI and background jobs. Services that
    commit need `consequences` (`exchange.consequences.build_consequences()`)."""
    return async_sessionmaker(
        engine, expire_on_commit=False, info=session_info(settings, consequences) or None
    )
