"""Sign-in throttling through the real app over HTTP: per email and client address, typed, on an injected clock."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from ordergraph.app import Runtime
from tests.api.conftest import Api, app_for
from tests.api.world import PASSWORD, build_world
from tests.services.fakes import FakeClock

SIGN_IN = """
mutation($email: String!, $password: String!) {
  tokenCreate(input: {email: $email, password: $password}) {
    token
    userErrors { code message field ... on TooManyAttemptsError { retryAfter } }
  }
}"""

PARTNER, VENDOR = "partner@example.com", "vendor@example.com"
WRONG = {"code": "INVALID_CREDENTIALS", "message": "Email or password is wrong.", "field": "password"}


def throttled(seconds: int) -> dict[str, Any]:
    message = f"Too many failed sign-in attempts; try again in {seconds} seconds."
    return {"code": "TOO_MANY_ATTEMPTS", "message": message, "field": None, "retryAfter": seconds}


def client_at(app: Starlette, address: str) -> httpx.AsyncClient:
    """An HTTP client whose requests come from `address` (as the ASGI server would say)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50123))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await http.post("/graphql", json={"query": SIGN_IN, "variables": {"email": email, "password": password}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    payload: dict[str, Any] = body["data"]["tokenCreate"]
    assert (payload["token"] is None) == bool(payload["userErrors"]), payload
    return payload


def clocked(runtime: Runtime) -> FakeClock:
    """The app's clock replaced by one that stands still until moved."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    runtime.ports = dataclasses.replace(runtime.ports, clock=clock)
    return clock


async def test_the_eleventh_wrong_password_within_a_minute_is_throttled(api: Api) -> None:
    clock = clocked(api.runtime)
    # given ten wrong passwords for the partner from one address: each answered as wrong
    for _ in range(10):
        assert (await sign_in(api.http, PARTNER, "not it"))["userErrors"] == [WRONG]
        clock.advance(seconds=2)
    # when the eleventh attempt comes, with the right password
    payload = await sign_in(api.http, PARTNER, PASSWORD)
    # then it is refused, typed, saying when to retry (a minute after the tenth failure), and no token is made
    assert payload == {"token": None, "userErrors": [throttled(58)]}
    # and an unknown email throttled the same way gets the very same answer
    for _ in range(10):
        assert (await sign_in(api.http, "nobody@example.com", "not it"))["userErrors"] == [WRONG]
        clock.advance(seconds=2)
    assert await sign_in(api.http, "nobody@example.com", PASSWORD) == {"token": None, "userErrors": [throttled(58)]}
    # and another email from another address is unaffected, as is the partner from another address
    assert api.app is not None
    async with client_at(api.app, "203.0.113.5") as elsewhere:
        assert (await sign_in(elsewhere, VENDOR, PASSWORD))["token"]
        assert (await sign_in(elsewhere, PARTNER, PASSWORD))["token"]
    # when the lockout is over: the partner signs in from the first address again
    assert (await sign_in(api.http, PARTNER, PASSWORD))["userErrors"] == [throttled(38)]
    clock.advance(seconds=38)
    assert (await sign_in(api.http, PARTNER, PASSWORD))["userErrors"] == []


async def test_attempts_sent_at_once_are_counted_before_their_passwords_are_checked(api: Api) -> None:
    clocked(api.runtime)
    # when twenty wrong passwords for one email are sent at once
    answers = await asyncio.gather(*(sign_in(api.http, PARTNER, f"guess {n}") for n in range(20)))
    # then ten were checked (and wrong), the other ten refused unchecked
    codes = sorted(error["code"] for payload in answers for error in payload["userErrors"])
    assert codes == ["INVALID_CREDENTIALS"] * 10 + ["TOO_MANY_ATTEMPTS"] * 10


async def test_without_its_redis_the_throttle_counts_in_memory(
    engine: AsyncEngine, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given an app whose rate-limit Redis does not answer (nothing listens on port 1)
    unreachable = "redis://127.0.0.1:1/0"
    async with apps(engine, database_url, tmp_path, unreachable) as (app,), client_at(app, "192.0.2.1") as http:
        # when an email fails ten times: then the eleventh attempt is still throttled, and the fallback logged
        with caplog.at_level(logging.WARNING, logger="ordergraph.ratelimit"):
            for _ in range(10):
                assert (await sign_in(http, PARTNER, "not it"))["userErrors"] == [WRONG]
            assert (await sign_in(http, PARTNER, PASSWORD))["userErrors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    assert [r.message.split(":")[0] for r in caplog.records] == ["rate limits count in this process's memory"]


@pytest.mark.redis
@pytest.mark.parametrize("store", ["redis", "memory"])
async def test_two_api_processes_share_the_counts_over_redis(
    engine: AsyncEngine, database_url: str, tmp_path: Path, store: str, redis_url: str
) -> None:
    # given two API apps on one database counting in one Redis (or, to compare, each in its own memory),
    # and an email and an address of this run only (the Redis outlives the test)
    email, address = f"{uuid.uuid4().hex}@example.com", f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    counters = redis_url if store == "redis" else "memory://"
    async with (
        apps(engine, database_url, tmp_path, counters, 2) as (one, two),
        client_at(one, address) as first,
        client_at(two, address) as second,
    ):
        # when the email fails ten times through the first
        for _ in range(10):
            assert (await sign_in(first, email, "not it"))["userErrors"] == [WRONG]
        # then the eleventh attempt, through the second, is throttled when they share Redis
        answer = (await sign_in(second, email, "not it"))["userErrors"][0]["code"]
    assert answer == ("TOO_MANY_ATTEMPTS" if store == "redis" else "INVALID_CREDENTIALS")


@asynccontextmanager
async def apps(
    engine: AsyncEngine, database_url: str, tmp_path: Path, counters: str, count: int = 1
) -> AsyncIterator[tuple[Starlette, ...]]:
    """`count` apps on the database with the world, counting sign-ins at `counters`; their connections closed after."""
    made = tuple(app_for(database_url, tmp_path / "files", ORDERGRAPH_RATE_LIMIT_URL=counters) for _ in range(count))
    await build_world(made[0].state.runtime.ports)
    try:
        yield made
    finally:
        for app in made:
            runtime: Runtime = app.state.runtime
            assert runtime.counters is not None
            await runtime.counters.close()
            await runtime.engine.dispose()
