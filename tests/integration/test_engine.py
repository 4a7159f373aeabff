import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import create_engine
from adapters.db import engine as db
from adapters.identity.tables import programmes


async def test_a_fresh_database_has_every_table_and_no_rows(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(programmes))).scalar_one()
    assert count == 0


# ---- PostgreSQL: a dead pooled connection is replaced before anyone uses it -------------------


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        pid: int = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


@pytest.fixture
def postgres_only(backend: str) -> None:
    if backend != "postgres":
        pytest.skip("pooled connections that can die are PostgreSQL's (SQLite has no server)")


@pytest.mark.usefixtures("postgres_only")
async def test_a_pooled_connection_killed_while_resting_is_replaced_unnoticed(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a pool of one connection, which the server then terminates while it rests in the pool
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.2)
    engine, admin = create_engine(database_url, pool_size=1), create_engine(database_url)
    try:
        first = await backend_pid(engine)
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(0.3)
        # when it is checked out again: then the ping finds it dead and a new one serves the read
        assert await backend_pid(engine) != first
    finally:
        await engine.dispose()
        await admin.dispose()


@pytest.mark.usefixtures("postgres_only")
async def test_a_connection_handed_back_a_moment_ago_is_not_pinged(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url, pool_size=1)
    pings: list[Any] = []
    real_ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        pids = {await backend_pid(engine) for _ in range(5)}
        assert len(pids) == 1  # one pooled connection, reused
        assert pings == []  # fresh, then back within PING_AFTER_IDLE each time: never pinged
        monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)
        await backend_pid(engine)
        assert len(pings) == 1  # once it has rested long enough, it is
    finally:
        await engine.dispose()


# ---- the bulk engine: SQLite on the loop's thread -------------------------------------------------


async def test_the_bulk_engine_runs_sqlite_on_the_loops_thread_with_the_usual_pragmas(tmp_path: Any) -> None:
    import threading

    # given the bulk engine on a SQLite file, and a function that says which thread SQLite calls it on
    from adapters.db import create_bulk_engine

    engine = create_bulk_engine(f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}")
    threads: list[int] = []

    def thread_of_call() -> int:
        threads.append(threading.get_ident())
        return 1

    try:
        async with engine.begin() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.create_function("thread_of_call", 0, thread_of_call)  # type: ignore[union-attr]
            # when it runs statements
            assert (await conn.execute(text("SELECT thread_of_call()"))).scalar_one() == 1
            journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
    finally:
        await engine.dispose()
    # then SQLite ran them on this thread (no hop to aiosqlite's worker and back), set up as usual
    assert threads == [threading.get_ident()]
    assert (journal, foreign_keys) == ("wal", 1)
