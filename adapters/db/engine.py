"""Engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite transactions: every transaction starts with a deferred `BEGIN`, so readers take
no lock and, under WAL, never wait for a writer. A transaction that writes takes the
write lock one of two ways, both under `busy_timeout` (so writers queue instead of
failing with "database is locked"):

- at BEGIN, when its connection carries the execution option `SQLITE_BEGIN: "IMMEDIATE"`
  (see `for_writing`), for plain read-then-write transactions such as a relay's batch;
- at its first write, through `begin_write` (what the unit of work does): the read
  snapshot is ended and `BEGIN IMMEDIATE` starts a fresh one. Reads made before the
  write are then as in PostgreSQL's READ COMMITTED, which is why aggregates carry a
  version checked by their UPDATE.

Upgrading a deferred read transaction in place is what SQLite refuses (SQLITE_BUSY,
without waiting) whenever another writer committed since the read began.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

import aiosqlite
import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

SQLITE_BEGIN: Final = "ordergraph_sqlite_begin"
"""Execution option read when a SQLite transaction begins: "DEFERRED" (default) or "IMMEDIATE"."""

_BEGIN_STATEMENTS: Final = {"DEFERRED": "BEGIN", "IMMEDIATE": "BEGIN IMMEDIATE"}

_JSON: Final[dict[str, Any]] = {"json_deserializer": orjson.loads}
"""JSON columns read with orjson (a page of orders reads one lines document per order): about 4x json.loads."""


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    pool_timeout: float = 30.0,
    sqlite_foreign_keys: bool = True,
    pooled: bool = True,
) -> AsyncEngine:
    """An async engine tuned for the backend: WAL and foreign keys on SQLite, a pool on PostgreSQL.

    `pool_timeout`: seconds a checkout waits for a pooled connection before it fails.

    `pooled=False`: a connection per use, closed after it (for code that runs on an event loop of its
    own, such as async Dramatiq actors, where pooled connections would outlive their loop).
    """
    parsed = make_url(url)
    if not pooled:
        engine = create_async_engine(url, echo=echo, poolclass=NullPool, connect_args=_connect_args(parsed), **_JSON)
        if parsed.get_backend_name() == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas(foreign_keys=sqlite_foreign_keys))
            event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, pool_timeout=pool_timeout, **_JSON)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(foreign_keys=sqlite_foreign_keys))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_timeout=pool_timeout, **_JSON
    )
    _ping_when_idle(engine.sync_engine.pool, engine.dialect)
    return engine


T = TypeVar("T")


class _InlineSqlite(aiosqlite.Connection):
    """aiosqlite whose calls run on the caller's thread, not on its worker thread (see create_bulk_engine).

    The worker still opens and closes the connection (aiosqlite and SQLAlchemy send those through its
    queue); each query, fetch and commit is a plain call, which blocks the event loop meanwhile.
    """

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def create_bulk_engine(url: str, *, sqlite_foreign_keys: bool = True) -> AsyncEngine:
    """An engine for a process that writes in bulk and does nothing else meanwhile (loading the demo).

    On a SQLite file, SQLite runs on the event loop's thread: aiosqlite otherwise hands every call
    to its worker thread and waits to be woken, about four hops per statement, which cost more than
    the statements themselves when loading the demo (measured: a third of its time, far more on a
    busy machine). The loop blocks while SQLite works, which harms nobody when nothing else runs on
    it. The pragmas and BEGIN handling are those of `create_engine`. Any other URL (PostgreSQL, an
    in-memory or URI SQLite database): `create_engine(url)`.
    """
    parsed = make_url(url)
    database = parsed.database
    plain_file = parsed.get_backend_name() == "sqlite" and not parsed.query and database not in (None, "", ":memory:")
    if not plain_file or database is None or database.startswith("file:"):
        return create_engine(url, sqlite_foreign_keys=sqlite_foreign_keys)
    path = database

    async def connect() -> aiosqlite.Connection:
        # Used from the loop's thread although opened on the worker's: hence check_same_thread=False.
        connection = _InlineSqlite(lambda: sqlite3.connect(path, timeout=30, check_same_thread=False), 64)
        return await connection

    engine = create_async_engine(url, async_creator=connect)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas(foreign_keys=sqlite_foreign_keys))
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


PING_AFTER_IDLE: Final = 1.0
"""Seconds a pooled connection may rest before it is pinged at checkout."""
_RESTED_SINCE: Final = "ordergraph_rested_since"


def _ping_when_idle(pool: Any, dialect: Dialect) -> None:
    """Pessimistic disconnect handling, paid only where it can matter.

    A connection is pinged at checkout when it has rested for PING_AFTER_IDLE or more (a dead one is
    replaced, up to three times, before anyone uses it). A connection handed back less than a second
    ago skips the ping: the server cannot have gone down and come back in between, and under load this
    saves the three round trips of pool_pre_ping on asyncpg (BEGIN, ping, ROLLBACK) on every checkout.
    """

    def rested(_dbapi_connection: Any, record: ConnectionPoolEntry, *_: Any) -> None:
        record.info[_RESTED_SINCE] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        since = record.info.get(_RESTED_SINCE)
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection did not answer its ping: {exc}") from exc

    event.listen(pool, "connect", rested)
    event.listen(pool, "checkin", rested)
    event.listen(pool, "checkout", on_checkout)


def _connect_args(parsed: URL) -> dict[str, Any]:
    return {"timeout": 30} if parsed.get_backend_name() == "sqlite" else {}


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (we map rows to domain objects ourselves)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def for_reading(engine: AsyncEngine) -> AsyncEngine:
    """The engine the read side uses: on PostgreSQL its statements run in autocommit, without BEGIN/ROLLBACK.

    Each read of the API is one statement (a page and its relations, one batch of a loader), so a
    transaction around it bought nothing but two round trips per checkout; the rare second statement
    of a read (a comment's files, an empty page's totals) sees its own snapshot. SQLite is unchanged.
    """
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def for_writing(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool), whose SQLite transactions take the write lock at BEGIN."""
    return engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


async def begin_write(connection: AsyncConnection) -> None:
    """Make the connection's open transaction a write transaction (SQLite: the write lock; else nothing).

    Call it before the first write of a transaction that may already have read, and at
    most once per transaction: on SQLite it ends the current read snapshot.
    """
    if connection.dialect.name != "sqlite":
        return
    # Ending a transaction that has only read loses nothing; the new one waits for the lock.
    await connection.exec_driver_sql("COMMIT")
    await connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(*, foreign_keys: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # pysqlite's own transaction handling would defeat our BEGINs; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return on_connect


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    statement = _BEGIN_STATEMENTS.get(mode)
    if statement is None:
        raise ValueError(f"{SQLITE_BEGIN} must be DEFERRED or IMMEDIATE, not {mode!r}")
    connection.exec_driver_sql(statement)
