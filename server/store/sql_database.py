"""`SqlDatabase`: one SQL database (SQLAlchemy 2 async Core; SQLite via aiosqlite, PostgreSQL via
asyncpg) shared by the repositories of a `SqlStore` (sql.py).

Transactions, and why:
- Writes go through `write()`. On SQLite that is `BEGIN IMMEDIATE`: the write lock is taken up
  front, so a read-then-write transaction (a vote) cannot interleave with another writer, and waits
  go through `busy_timeout` instead of failing with SQLITE_BUSY when a deferred transaction tries to
  upgrade. Writers of one process also queue on an asyncio lock first: SQLite serializes them
  anyway, and queueing on the event loop avoids the busy handler's sleep-and-retry (1-100 ms steps).
- Reads (`read()`) use a plain deferred transaction: in WAL mode readers and the writer never block
  each other.
- What PostgreSQL needs beyond that is said where it is done: the per-board append lock
  (sql_log.py), the participant row lock of a vote (sql_ballots.py), the erasure's locks
  (sql_privacy.py).

The schema is created by Alembic (server/migrations), run from `open()`; the tables are defined
once, in server/store/tables.py (a test compares them with the migrations).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from server.store.base import (
    StoreError,
)
from server.store.pg_log import PgLogAppender
from server.store.sqlite_log import SqliteLogAppender
from server.store.sqlite_replay import SqliteReplayReader

DEFAULT_URL = "sqlite+aiosqlite:///./cobord.db"


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


SQLITE_BUSY_TIMEOUT_MS = 10_000


# Execution option read by the SQLite "begin" hook: which BEGIN to emit.
_BEGIN_OPTION = "cobord_sqlite_begin"


def normalize_url(url: str) -> URL:
    """Pick the async driver: `postgres(ql)://` -> asyncpg, `sqlite://` -> aiosqlite."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def _on_sqlite_connect(
    dbapi_connection: Any, _record: ConnectionPoolEntry, synchronous: str = "FULL"
) -> None:
    # Take BEGIN away from the sqlite3 driver (it skips it before SELECTs, breaking read-then-write
    # transactions); `_on_sqlite_begin` emits it instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",  # readers and the writer do not block each other
        # FULL: each commit is synced to disk; NORMAL: only at checkpoints (see README: Durability)
        f"PRAGMA synchronous={synchronous}",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA foreign_keys=ON",
    ):
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(
    url: URL, sqlite_synchronous: str = "FULL", max_connections: int | None = None
) -> AsyncEngine:
    """`max_connections`: at most that many open connections (None: SQLAlchemy's pool, 5 kept and 10
    more in a burst); a PostgreSQL server refuses connections past its own `max_connections`."""
    if max_connections is None or url.get_backend_name() == "sqlite":
        engine = create_async_engine(url)
    else:
        engine = create_async_engine(url, pool_size=max_connections, max_overflow=0)
    if engine.dialect.name == "sqlite":

        def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
            _on_sqlite_connect(dbapi_connection, record, sqlite_synchronous)

        sa.event.listen(engine.sync_engine, "connect", on_connect)
        sa.event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _alembic_config(url: URL) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def _upgrade_sync(connection: Connection, cfg: Config) -> None:
    # env.py uses this connection (and its open transaction) instead of making its own engine.
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def _upgrade_engine(engine: AsyncEngine) -> None:
    writer = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    async with writer.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Several processes starting together must not run the migrations twice.
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('cobord:migrate'))"))
        await conn.run_sync(_upgrade_sync, _alembic_config(engine.url))


async def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema (`cobord db upgrade`)."""
    engine = make_engine(normalize_url(url))
    try:
        await _upgrade_engine(engine)
    finally:
        await engine.dispose()


class SqlDatabase:
    """One SQL database: its engine, how a read and a write transaction are opened, and the
    SQLite fast paths. Every SQL repository of a store shares one."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        sqlite_synchronous: str = "FULL",
        max_connections: int | None = None,
    ) -> None:
        if sqlite_synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"sqlite_synchronous: FULL or NORMAL, not {sqlite_synchronous!r}")
        self.sqlite_synchronous = sqlite_synchronous
        self.max_connections = max_connections
        self._url = normalize_url(url)
        self._engine: AsyncEngine | None = None
        self._writer: AsyncEngine | None = None
        self.write_lock: asyncio.Lock | None = None
        # One-round-trip group commits: SQLite files (a thread of its own), PostgreSQL (connections
        # of its own, taken out of `max_connections`; none when that budget is a single one).
        self.appender: SqliteLogAppender | PgLogAppender | None = None
        self._append_connections = 0
        if self.dialect == "postgresql" and (max_connections is None or max_connections > 1):
            self._append_connections = 2 if max_connections is None else 1
        self.replay: SqliteReplayReader | None = None  # SQLite files: one-hop replay seeks

    @property
    def dialect(self) -> str:
        return self._url.get_backend_name()

    @property
    def engine(self) -> AsyncEngine | None:
        """The open engine (None while closed): for diagnostics and tests."""
        return self._engine

    async def open(self) -> None:
        budget = self.max_connections
        if budget is not None:
            budget -= self._append_connections
        engine = make_engine(self._url, self.sqlite_synchronous, budget)
        try:
            await _upgrade_engine(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        # Same pool; only the BEGIN emitted on SQLite differs.
        self._writer = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self.write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        database = engine.url.database
        if self.dialect == "sqlite" and database and database != ":memory:":
            self.appender = SqliteLogAppender(database, self.sqlite_synchronous)
            self.replay = SqliteReplayReader(database)
        if self._append_connections:
            dsn = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.appender = PgLogAppender(dsn, self._append_connections)

    async def close(self) -> None:
        if self.appender is not None:
            await self.appender.close()
            self.appender = None
        if self.replay is not None:
            await self.replay.close()
            self.replay = None
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = self._writer = None

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        if self._engine is None:
            raise StoreError("store is not open")
        async with self._engine.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on exit (rolled back on error)."""
        if self._writer is None:
            raise StoreError("store is not open")
        async with self.write_lock or contextlib.nullcontext(), self._writer.begin() as conn:
            yield conn

    def insert(self, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
        # Both dialects' INSERT have the same ON CONFLICT API.
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
