"""Shared fixtures: a fresh database per test on SQLite and, when configured, PostgreSQL.

PostgreSQL tests run when ORDERGRAPH_TEST_POSTGRES_URL is set (CI sets it, see .ci/run);
without it they skip with a message saying how to run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import create_engine
from adapters.tables import metadata

POSTGRES_URL = os.environ.get("ORDERGRAPH_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("ORDERGRAPH_TEST_REDIS_URL", "")
SKIP_POSTGRES = (
    "PostgreSQL tests need ORDERGRAPH_TEST_POSTGRES_URL, e.g. "
    "ORDERGRAPH_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test (bash .ci/run sets it)"
)

REQUIRE_SERVICES = os.environ.get("ORDERGRAPH_REQUIRE_SERVICES") == "1"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each database test runs once per backend."""
    name: str = request.param
    if name == "postgres" and not POSTGRES_URL:
        if REQUIRE_SERVICES:
            pytest.fail("ORDERGRAPH_REQUIRE_SERVICES=1 but ORDERGRAPH_TEST_POSTGRES_URL is not set")
        pytest.skip(SKIP_POSTGRES)
    return name


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to an empty database of its own: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    name = f"og_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield str(make_url(POSTGRES_URL).set(database=name))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with every table created."""
    eng = create_engine(database_url)
    async with eng.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield eng
    await eng.dispose()
