"""Query cost over HTTP: the per-request maximum, each organisation's budget, `extensions.cost`, the time limit."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ordergraph.app import Runtime
from tests.api.conftest import Api, GraphQLClient, app_for, counting
from tests.api.flows import comment, create
from tests.api.test_sql_count import MANAGE_ORDERS, seed_worked_orders
from tests.api.world import World, build_world

ALIASES = 30
NODE = "id number partner { name } provider { name } assignee { name } latestComment { body author { name } }"
NODE_COST = 6  # the order, its partner, provider, assignee, latest comment and that comment's author
GREEDY = "{ " + " ".join(f"a{i}: orders(first: 100) {{ nodes {{ {NODE} }} }}" for i in range(ALIASES)) + " }"
"""The hostile request of issue 8: 30 aliases, each a page of 100 orders with their relations."""

PAGE_OF = "query($first: Int!) { orders(first: $first) { nodes { id } } }"
NOTHING = "{ __typename }"


def costing(points: int) -> str:
    """A query that costs `points`: pages of order IDs (at most 100 to a page), one alias each."""
    sizes = [100] * (points // 100) + ([points % 100] if points % 100 else [])
    return "{ " + " ".join(f"p{i}: orders(first: {size}) {{ nodes {{ id }} }}" for i, size in enumerate(sizes)) + " }"


async def post(http: httpx.AsyncClient, query: str, token: str, **variables: Any) -> httpx.Response:
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response


@dataclasses.dataclass
class Served:
    """An application with settings of the test's own, its world, and a client."""

    runtime: Runtime
    world: World
    http: httpx.AsyncClient

    async def ask(self, query: str, member: str, **variables: Any) -> Any:
        return (await post(self.http, query, self.world[member].token, **variables)).json()


@contextlib.asynccontextmanager
async def served(database_url: str, files: Path, world: World | None = None, **settings: str) -> AsyncIterator[Served]:
    """The real application with `settings`, on the test's database (with `world`, else a new one)."""
    app = app_for(database_url, files, **settings)
    runtime: Runtime = app.state.runtime
    world = world or await build_world(runtime.ports)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            yield Served(runtime, world, http)
    finally:
        if runtime.budgets is not None:
            await runtime.budgets.close()
        await runtime.engine.dispose()


def error_of(body: Any) -> dict[str, Any]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def test_the_30_alias_request_is_refused_before_execution_with_its_cost_and_the_limit(api: Api) -> None:
    # given orders with every relation, and the statements a request that reads nothing runs (its token)
    await seed_worked_orders(api, api.world, 3)
    token = api.world["vendor"].token
    with counting(api.runtime) as baseline:
        await api.client(NOTHING, token=token)
    # when the vendor asks for 30 aliases of 100 orders with their relations
    with counting(api.runtime) as statements:
        body = (await post(api.http, GREEDY, token)).json()
    # then it is refused with what it would cost and the limit, and nothing of it ran
    assert error_of(body) == {"code": "QUERY_TOO_COSTLY", "cost": ALIASES * 100 * NODE_COST, "limit": 1000}
    assert "1000" in body["errors"][0]["message"]
    assert len(statements) == len(baseline), statements
    assert not [s for s in statements if "orders" in s.lower()], statements


async def test_one_page_of_100_orders_with_relations_is_allowed_and_reports_its_cost(api: Api) -> None:
    # given worked orders
    await seed_worked_orders(api, api.world, 3)
    # when the vendor asks for a page of 100 with their relations (costly, yet under the limit)
    body = (
        await post(api.http, f"{{ orders(first: 100) {{ nodes {{ {NODE} }} }} }}", api.world["vendor"].token)
    ).json()
    # then it is answered, and extensions.cost says what it cost and what the budget holds now
    budget, rate = api.runtime.settings.cost_budget, float(api.runtime.settings.cost_restore_rate)
    assert "errors" not in body, body
    assert len(body["data"]["orders"]["nodes"]) == 3
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 100 * NODE_COST,
        "throttleStatus": {"maximumAvailable": budget, "currentlyAvailable": budget - 600, "restoreRate": rate},
    }


async def test_the_manage_orders_page_costs_a_third_of_the_limit(api: Api) -> None:
    # when Manage Orders asks for its page of 50 orders with every relation it shows (the README's figure)
    body = (await post(api.http, MANAGE_ORDERS, api.world["provider"].token, first=50)).json()
    # then it costs 350 of the 1000 points one request may cost
    assert "errors" not in body, body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 350


async def test_a_mutation_costs_10_and_its_payload(api: Api) -> None:
    body = (
        await post(
            api.http,
            'mutation { orderCreate(input: {kind: QUOTED, name: "Costed"}) { order { id partner { id } } userErrors '
            "{ code } } }",
            api.world["partner"].token,
        )
    ).json()
    assert "errors" not in body, body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 12  # the mutation, the order, its partner


async def test_an_organisation_that_spends_its_budget_is_throttled_and_another_is_not(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    # given budgets of 1000 points restoring 1 a second, and orders to read
    async with served(
        database_url, tmp_path / "files", ORDERGRAPH_COST_BUDGET="1000", ORDERGRAPH_COST_RESTORE_RATE="1"
    ) as app:
        # when a partner user asks for pages of 400 points: two are served
        for left in (600, 200):
            body = await app.ask(costing(400), "partner")
            assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == left, body
        # then the third is refused before it runs, with when to retry, and a Retry-After header
        with counting(app.runtime) as statements:
            response = await post(app.http, costing(400), app.world["partner"].token)
        refusal = error_of(response.json())
        assert refusal["code"] == "THROTTLED"
        assert refusal["cost"] == 400
        # 800 points spent in this window of 1000 s: the rest of it, then a quarter of the next as they fade
        assert 250 <= refusal["retryAfter"] <= 1251, refusal
        assert response.headers["retry-after"] == str(refusal["retryAfter"])
        assert response.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 200
        assert not [s for s in statements if "orders" in s.lower()], statements
        # and a colleague of the same organisation shares the empty budget
        assert error_of(await app.ask(costing(400), "partner_colleague"))["code"] == "THROTTLED"
        # while a user of another organisation is served from a budget of its own
        body = await app.ask(costing(400), "provider")
        assert "errors" not in body, body
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 600


async def test_a_budget_restores_over_time(engine: AsyncEngine, database_url: str, tmp_path: Path) -> None:
    # given budgets of 10 points restoring 10 a second (a window of one second)
    async with served(
        database_url,
        tmp_path / "files",
        ORDERGRAPH_MAX_QUERY_COST="10",
        ORDERGRAPH_COST_BUDGET="10",
        ORDERGRAPH_COST_RESTORE_RATE="10",
    ) as app:
        # when a partner spends them all
        assert "errors" not in await app.ask(PAGE_OF, "partner", first=10)
        refused = time.monotonic()
        refusal = error_of(await app.ask(PAGE_OF, "partner", first=10))
        # then it is told to retry within two seconds (the rest of this window, then the next as they fade)
        assert refusal["code"] == "THROTTLED"
        assert 1 <= refusal["retryAfter"] <= 2, refusal
        # and when that time has passed, the budget holds them again
        await asyncio.sleep(max(0.0, refused + refusal["retryAfter"] - time.monotonic()))
        body = await app.ask(PAGE_OF, "partner", first=10)
        assert "errors" not in body, body


@pytest.mark.redis
async def test_two_api_processes_share_the_budgets_in_redis(
    engine: AsyncEngine, database_url: str, tmp_path: Path, redis_url: str
) -> None:
    # given two API processes on one database and one Redis (the broadcast's, which budgets use by default)
    settings = {
        "ORDERGRAPH_BROADCAST_URL": redis_url,
        "ORDERGRAPH_COST_BUDGET": "2000",
        "ORDERGRAPH_COST_RESTORE_RATE": "1",
    }
    async with (
        served(database_url, tmp_path / "one", **settings) as one,
        served(database_url, tmp_path / "two", one.world, **settings) as two,
    ):
        # when a partner spends 1000 points on one and 800 on the other
        assert "errors" not in await one.ask(costing(1000), "partner")
        body = await two.ask(costing(800), "partner")
        # then the second process charged the same budget, and the next request on the first is refused
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 200, body
        assert error_of(await one.ask(costing(800), "partner"))["code"] == "THROTTLED"
        # while another organisation's budget is untouched on either
        body = await two.ask(costing(100), "provider")
        assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 1900, body


@contextlib.contextmanager
def stalled(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, read: str) -> Iterator[list[str]]:
    """The query function `read` holding a database connection for 30 s (on PostgreSQL in a running statement)."""
    states: list[str] = []

    async def stall(*_args: Any, **_kwargs: Any) -> Any:
        async with runtime.engine.connect() as connection:
            states.append("started")
            if runtime.engine.dialect.name == "postgresql":
                await connection.execute(text("SELECT pg_sleep(30)"))
            else:
                await connection.execute(text("SELECT 1"))
                await asyncio.sleep(30)
        raise AssertionError("the time limit did not stop the query")

    with monkeypatch.context() as patched:
        patched.setattr(runtime.queries, read, stall)
        yield states


COMMENTS_OF = "query($id: ID!) { order(id: $id) { comments { id } } }"


@pytest.mark.parametrize(
    "read",
    [
        "order_page",  # awaited by the resolver itself
        "comments_by_order",  # awaited in a DataLoader's batch, a task of its own
    ],
)
async def test_a_query_over_the_time_limit_is_stopped_and_leaves_no_connection_behind(
    engine: AsyncEngine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    # given a time limit of half a second, an order, and a read that would take 30 s
    async with served(database_url, tmp_path / "files", ORDERGRAPH_QUERY_TIMEOUT_SECONDS="0.5") as app:
        ref = await create(Api(GraphQLClient(app.http), app.http, app.runtime, app.world), "QUOTED")
        document, variables = (PAGE_OF, {"first": 10}) if read == "order_page" else (COMMENTS_OF, {"id": ref.id})
        with stalled(app.runtime, monkeypatch, read) as started:
            # when the partner asks for it
            began = time.monotonic()
            body = await app.ask(document, "partner", **variables)
            took = time.monotonic() - began
        # then it is stopped at the limit with a typed error, and its connection is back in the pool
        assert started == ["started"]
        assert error_of(body) == {"code": "OPERATION_TIMEOUT", "limit": 0.5}
        assert took < 5, took
        assert body["extensions"]["cost"]["requestedQueryCost"] > 0
        await asyncio.sleep(0.1)  # the pool's return of a cancelled connection completes on the loop
        assert app.runtime.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        if app.runtime.engine.dialect.name == "postgresql":
            async with app.runtime.engine.connect() as connection:
                busy = await connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND (state LIKE 'idle in transaction%' OR query LIKE '%pg_sleep%')"
                        " AND state <> 'idle'"
                    )
                )
            assert busy == 0
        # and the next request is served
        body = await app.ask(document, "partner", **variables)
        assert "errors" not in body, body


THREAD = """
query($id: ID!, $first: Int!, $after: ID) {
  order(id: $id) { comments(first: $first, after: $after) { id body } }
}"""


async def test_an_orders_comments_come_a_capped_page_at_a_time(api: Api) -> None:
    # given an order with three comments
    ref = await create(api, "QUOTED")
    for body in ("one", "two", "three"):
        await comment(api, ref, "partner", body)
    token = api.world["partner"].token
    # when the partner reads two, then the rest after the second
    first = await api.client(THREAD, {"id": ref.id, "first": 2}, token=token)
    [_, second] = first["order"]["comments"]
    rest = await api.client(THREAD, {"id": ref.id, "first": 2, "after": second["id"]}, token=token)
    # then each read holds at most `first`, oldest first, and together they hold every comment once
    assert [c["body"] for c in first["order"]["comments"]] == ["one", "two"]
    assert [c["body"] for c in rest["order"]["comments"]] == ["three"]
    # and more than the cap at once is refused with a typed error, as is an `after` of no comment of the order
    too_many = await api.client.raw(THREAD, {"id": ref.id, "first": 101}, token=token)
    assert too_many["errors"][0]["extensions"]["code"] == "INVALID_INPUT", too_many
    stranger = await api.client.raw(THREAD, {"id": ref.id, "first": 2, "after": ref.id}, token=token)
    assert stranger["errors"][0]["extensions"]["code"] == "INVALID_INPUT", stranger


async def test_the_directory_returns_its_first_100_unless_asked_for_more(api: Api) -> None:
    token = api.world["vendor"].token
    everyone = await api.client("{ users(first: 500) { id } }", token=token)
    some = await api.client("{ users(first: 2) { id } }", token=token)
    assert some["users"] == everyone["users"][:2]
    assert len(everyone["users"]) == len(api.world.members) - 1  # all but the outsider, fewer than 100
    body = await api.client.raw("{ users(first: 501) { id } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT", body


async def test_without_its_redis_the_api_serves_without_budgets(
    engine: AsyncEngine, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given budgets kept in a Redis that is not there (nothing listens on port 1)
    async with served(database_url, tmp_path / "files", ORDERGRAPH_RATE_LIMIT_URL="redis://127.0.0.1:1/0") as app:
        # when a partner asks twice
        bodies = [await app.ask(PAGE_OF, "partner", first=10) for _ in range(2)]
    # then both are served, their cost reported without a budget, and the outage logged once
    for body in bodies:
        assert body["data"] == {"orders": {"nodes": []}}, body
        assert body["extensions"]["cost"] == {"requestedQueryCost": 10, "throttleStatus": None}
    warnings = [r for r in caplog.records if r.name == "ordergraph.cost_budget"]
    assert len(warnings) == 1, warnings
