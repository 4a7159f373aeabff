"""Shared fixtures: a fresh database per test on SQLite and, when configured, PostgreSQL.

PostgreSQL tests run when ORDERGRAPH_TEST_POSTGRES_URL is set (CI sets it, see .ci/run);
without it they skip with a message saying how to run them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
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

SKIP_REDIS = "Redis tests need ORDERGRAPH_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/0 (bash .ci/run sets it)"

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
def redis_url() -> str:
    """The shared test Redis (skips with a how-to when unset; fails when services are required)."""
    if not REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("ORDERGRAPH_REQUIRE_SERVICES=1 but ORDERGRAPH_TEST_REDIS_URL is not set")
        pytest.skip(SKIP_REDIS)
    return REDIS_URL


async def _admin(*statements: str) -> None:
    admin = create_engine(POSTGRES_URL)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """A PostgreSQL database with every table, which tests that want tables clone (much faster than DDL)."""
    if not POSTGRES_URL:
        yield None
        return
    name = f"og_template_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        await _admin(f'CREATE DATABASE "{name}"')
        template = create_engine(str(make_url(POSTGRES_URL).set(database=name)))
        async with template.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await template.dispose()  # a template must have no open connections when cloned

    asyncio.run(create())
    yield name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, postgres_template: str | None
) -> AsyncIterator[str]:
    """A URL to a database of its own: a SQLite file, or a fresh PostgreSQL database.

    Empty, unless the test also asks for `engine`: then on PostgreSQL it is cloned from a template
    that already has the tables (the `engine` fixture's create_all then finds them all).
    """
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    name = f"og_test_{uuid.uuid4().hex[:12]}"
    with_tables = "engine" in request.fixturenames and postgres_template is not None
    await _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{postgres_template}"' if with_tables else ""))
    yield str(make_url(POSTGRES_URL).set(database=name))
    await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database with every table created."""
    eng = create_engine(database_url)
    async with eng.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield eng
    await eng.dispose()
