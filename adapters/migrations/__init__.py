"""Database migrations, run programmatically (no alembic.ini needed).

`upgrade(url)` from sync code (a CLI command), `await upgrade_async(url)` from async code
(an app's lifespan); `upgrade` also works when an event loop is running in the thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from adapters.db import create_engine, for_writing

T = TypeVar("T")

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent
# Any constant: concurrent upgrades of one PostgreSQL database queue on this advisory lock.
_PG_LOCK_KEY: Final = 7_206_111_901


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url` with the migrations shipped in this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates "%": escape it (URL-encoded passwords contain it).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision`; a blocking call, with or without a running event loop."""
    _run_blocking(upgrade_async(url, revision))


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (concurrent callers queue; the later ones find nothing to do)."""
    # Foreign keys off on SQLite: batch mode drops and recreates referenced tables.
    # BEGIN IMMEDIATE there, an advisory lock on PostgreSQL: concurrent upgrades run one after another.
    engine = for_writing(create_engine(url, sqlite_foreign_keys=False))
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            await connection.run_sync(_upgrade_on, alembic_config(url), revision)
            await connection.commit()
    finally:
        await engine.dispose()


def current(url: str) -> str | None:
    """The revision the database at `url` is at, or None when it has never been migrated."""
    return _run_blocking(current_async(url))


async def current_async(url: str) -> str | None:
    """The revision the database at `url` is at, or None."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_current_on)
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _current_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from async code: this thread's loop is busy, so run on a loop of our own elsewhere.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ordergraph-migrate") as pool:
        return pool.submit(asyncio.run, coroutine).result()
