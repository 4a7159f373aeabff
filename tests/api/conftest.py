"""API fixtures: the real application over HTTP (httpx + ASGI), or served by uvicorn, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from adapters.security import Argon2PasswordHasher
from adapters.settings import Settings
from ordergraph.app import Runtime, create_app
from tests.api.live import ALLOWED_ORIGIN, MAX_SUBSCRIPTIONS, Live, live_on
from tests.api.world import World, build_world


class GraphQLClient:
    """Posts GraphQL documents as a given member (or anonymously)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        payload = {"query": query, "variables": variables or {}}
        response = await self.http.post("/graphql", json=payload, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
        """The data of a successful operation (fails the test on top-level errors)."""
        body = await self.raw(query, variables, token)
        assert "errors" not in body, body["errors"]
        return body["data"]


@dataclasses.dataclass
class Api:
    """The application under test and a world to act in."""

    client: GraphQLClient
    http: httpx.AsyncClient
    runtime: Runtime
    world: World
    app: Starlette | None = None
    """The application itself, for clients of a test's own (from another address, say)."""


@contextmanager
def counting(runtime: Runtime) -> Iterator[list[str]]:
    """Every SQL statement the application runs within the block (its engine and its live engine)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engines = [runtime.engine.sync_engine]
    if runtime.live_engine is not None:  # live events are read through a pool of their own
        engines.append(runtime.live_engine.sync_engine)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


TEST_COST_BUDGET = "1000000"
"""Query-cost budgets of test applications: tests fire requests at machine speed, far faster than people page
through Manage Orders; those about budgets set their own (tests/api/test_query_cost.py). The per-request
maximum stays the default."""


def settings_for(database_url: str, files: Path, **overrides: str) -> Settings:
    """Settings for a test application."""
    return Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "ORDERGRAPH_FILES_DIR": str(files),
            "ORDERGRAPH_COST_BUDGET": TEST_COST_BUDGET,
            **overrides,
        }
    )


def app_for(database_url: str, files: Path, **overrides: str) -> Starlette:
    """The application with test settings and a fast password hasher."""
    app = create_app(settings_for(database_url, files, **overrides))
    runtime: Runtime = app.state.runtime
    runtime.ports = dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast())
    return app


@pytest.fixture
async def api(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The real app on a fresh database (either backend) with a world in it."""
    app = create_app(settings_for(database_url, tmp_path / "files"))
    runtime: Runtime = app.state.runtime
    runtime.ports = dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast())
    world = await build_world(runtime.ports)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield Api(GraphQLClient(http), http, runtime, world, app)
    await runtime.engine.dispose()


@pytest.fixture
async def live(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """The real application served by uvicorn on a free port, on SQLite or PostgreSQL and memory://."""
    app = app_for(
        database_url,
        tmp_path / "files",
        ORDERGRAPH_ALLOWED_ORIGINS=ALLOWED_ORIGIN,
        ORDERGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION=str(MAX_SUBSCRIPTIONS),
        ORDERGRAPH_SUBSCRIBER_QUEUE="4",
    )
    world = await build_world(app.state.runtime.ports)
    async with live_on(app, world) as served_live:
        yield served_live


@pytest.fixture
async def server(api: Api, database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The same API answering as a real server does: an unhandled exception becomes a 500 response."""
    app = create_app(settings_for(database_url, tmp_path / "server-files"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http
    finally:
        await app.state.runtime.engine.dispose()
