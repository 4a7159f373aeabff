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
