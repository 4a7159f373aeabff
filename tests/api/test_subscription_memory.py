"""graphql-core 3.3.2 leaks about 1 KB per subscription event; schema.graphql_core_patch keeps memory flat.

The schema here is shaped like orderUpdated (nested objects and lists) and runs through Strawberry with
the project's execution context, so it takes the same per-event path as the real subscriptions. One
test fails when an upgrade of graphql-core fixes the leak (then delete the patch and these tests);
the others fail when the growth comes back.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

import pytest
import strawberry
from graphql.execution.executor import Executor

from ordergraph.app import create_app
from schema.common import FastPlainFieldExecutionContext, graphql_core_patch
from tests.api.conftest import settings_for

EVENTS = 10_000
WARM_UP = 1_000


@strawberry.type
class Party:
    name: str


@strawberry.type
class Line:
    id: int
    party: Party


@strawberry.type
class Update:
    n: int
    party: Party
    lines: list[Line]


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def updates(self, count: int) -> AsyncGenerator[Update, None]:
        for n in range(count):
            party = Party(name=f"party {n % 7}")
            yield Update(n=n, party=party, lines=[Line(id=i, party=party) for i in range(3)])


SCHEMA = strawberry.Schema(
    query=Query, subscription=Subscription, execution_context_class=FastPlainFieldExecutionContext
)
STANDARD = strawberry.Schema(query=Query, subscription=Subscription)
"""Strawberry's own execution context: graphql-core's per-event path as it is, for the two memo tests below
(the project's context projects plain selections with compiled code shared across events, which never fill
the memo; a selection it cannot project still does, so the patch stays)."""
DOCUMENT = "subscription($count: Int!) { updates(count: $count) { n party { name } lines { id party { name } } } }"


async def deliver(count: int, schema: strawberry.Schema = SCHEMA) -> int:
    """Run one subscription of `count` events to the end; how many arrived."""
    stream = await schema.subscribe(DOCUMENT, variable_values={"count": count})
    assert not isinstance(stream, strawberry.types.ExecutionResult), stream
    received = 0
    async for result in stream:
        assert not result.errors, result.errors
        received += 1
    return received


@pytest.fixture
def memos(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[..., Executor[Any]]], list[dict[Any, Any]]]:
    """Install a build_per_event_executor and record the memo of the subscription's own executor."""

    def install(build: Callable[..., Executor[Any]]) -> list[dict[Any, Any]]:
        seen: list[dict[Any, Any]] = []

        def recording(self: Executor[Any], payload: Any) -> Executor[Any]:
            if not seen:
                seen.append(self._relevant_sub_fields)
            return build(self, payload)

        monkeypatch.setattr(Executor, "build_per_event_executor", recording)
        return seen

    return install


async def test_graphql_core_still_leaks_without_the_patch(
    memos: Callable[[Callable[..., Executor[Any]]], list[dict[Any, Any]]],
) -> None:
    # given graphql-core's own per-event executor
    seen = memos(graphql_core_patch.original_build_per_event_executor())
    # when one subscription delivers 200 events through graphql-core's standard execution
    assert await deliver(200, STANDARD) == 200
    # then the subscription's memo keeps entries of every event. When this fails, graphql-core fixed
    # the leak: delete schema/graphql_core_patch.py, its call in ordergraph/app.py, and this file.
    assert seen and len(seen[0]) >= 200, "graphql-core no longer leaks per event: remove the patch"


async def test_with_the_patch_the_subscription_memo_stays_empty(
    memos: Callable[[Callable[..., Executor[Any]]], list[dict[Any, Any]]],
) -> None:
    seen = memos(graphql_core_patch._build_per_event_executor)
    assert await deliver(200, STANDARD) == 200
    assert seen and len(seen[0]) == 0


async def test_memory_stays_flat_over_ten_thousand_events_on_one_subscription() -> None:
    # given the patch as the application applies it
    graphql_core_patch.apply()
    assert graphql_core_patch.applied()
    stream = await SCHEMA.subscribe(DOCUMENT, variable_values={"count": WARM_UP + EVENTS})
    assert not isinstance(stream, strawberry.types.ExecutionResult)
    tracemalloc.start()
    try:
        received = 0
        async for result in stream:
            assert not result.errors
            received += 1
            # Measured while the subscription is alive: what a leak keeps is freed when it ends.
            if received == WARM_UP:
                gc.collect()
                before = tracemalloc.get_traced_memory()[0]
            elif received == WARM_UP + EVENTS:
                gc.collect()
                after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert received == WARM_UP + EVENTS
    # then 10,000 more events leave (next to) nothing behind; unpatched they keep about 35 MB
    growth = after - before
    assert growth < 200_000, f"{growth} bytes kept over {EVENTS} events ({growth / EVENTS:.0f} B/event)"


def test_the_application_applies_the_patch_at_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Executor, "build_per_event_executor", graphql_core_patch.original_build_per_event_executor())
    assert not graphql_core_patch.applied()
    create_app(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'og.db'}", tmp_path / "files"))
    assert graphql_core_patch.applied()
