"""Shared subscriptions: one reading of each event per audience group, fanned out to its members; never a query."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import schema.orders.live
from ordergraph.fanout import FellBehind, Member, Shared
from tests.api.conftest import app_for, counting
from tests.api.live import (
    COMMENT_ADDED,
    ORDER_UPDATED,
    RENAME,
    WITHIN,
    Live,
    flat_fee_order,
    live_on,
    timed,
)
from tests.api.world import PASSWORD, add_colleague, build_world

# ---- one reading per audience ------------------------------------------------------------


WATCHING = """
subscription { orderUpdated { order { id name watching } } }"""

WATCH = """
mutation($id: ID!) { orderWatch(input: {orderId: $id}) { order { watching } userErrors { message } } }"""


@pytest.fixture
async def quiet(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """`live` without the notification relay and workers: the only SQL after a change is its live reading."""
    app = app_for(database_url, tmp_path / "files")
    app.state.runtime.notifier = None
    world = await build_world(app.state.runtime.ports)
    async with live_on(app, world) as served_live:
        yield served_live


async def test_subscribers_of_one_audience_share_one_reading_of_each_event(quiet: Live) -> None:
    # given the partner on two connections and a colleague of another role, on one feed each
    live = quiet
    order_id = await flat_fee_order(live)
    first = await live.client("partner")
    feeds = {first: await first.subscribe(ORDER_UPDATED)}
    await asyncio.sleep(0.1)
    assert (live.fan_out.groups, live.fan_out.members) == (1, 1)
    with counting(live.runtime) as alone:
        await timed(live, first, feeds[first], "partner", RENAME, id=order_id, name="One subscriber")
    for member in ("partner", "partner_colleague"):
        client = await live.client(member)
        feeds[client] = await client.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    # then they are one group: the event is read and executed once, whoever and however many follow it
    assert (live.fan_out.groups, live.fan_out.members) == (1, 3)
    with counting(live.runtime) as together:
        await live.gql("partner", RENAME, id=order_id, name="Three subscribers")
        for client, op in feeds.items():
            assert (await client.next(op, within=WITHIN))["orderUpdated"]["order"]["name"] == "Three subscribers"
    assert len(together) == len(alone), (alone, together)
    # and the group outlives its first member
    await first.complete(feeds.pop(first))
    await asyncio.sleep(0.1)
    assert (live.fan_out.groups, live.fan_out.members) == (1, 2)
    await live.gql("partner", RENAME, id=order_id, name="Two subscribers")
    for client, op in feeds.items():
        assert (await client.next(op, within=WITHIN))["orderUpdated"]["order"]["name"] == "Two subscribers"
    # and ends with its last one
    for client, op in feeds.items():
        await client.complete(op)
    await asyncio.sleep(0.1)
    assert (live.fan_out.groups, live.fan_out.members) == (0, 0)


async def test_other_organisations_documents_and_variables_are_other_groups_roles_are_not(live: Live) -> None:
    order_id = await flat_fee_order(live)
    subscriptions = [
        ("partner", ORDER_UPDATED, {}),
        ("partner_colleague", ORDER_UPDATED, {}),  # another role, the same organisation: the same group
        ("partner", ORDER_UPDATED, {"id": order_id}),
        ("partner", COMMENT_ADDED, {"orderId": order_id}),
        ("partner2", ORDER_UPDATED, {}),
        ("provider", ORDER_UPDATED, {}),
        ("vendor", ORDER_UPDATED, {}),
    ]
    for member, query, variables in subscriptions:
        await (await live.client(member)).subscribe(query, **variables)
    await asyncio.sleep(0.1)
    assert (live.fan_out.groups, live.fan_out.members) == (len(subscriptions) - 1, len(subscriptions))


async def test_a_personal_field_is_read_for_each_user(live: Live) -> None:
    # given two partner users of the same role, one of whom watches the order
    order_id = await flat_fee_order(live)
    await add_colleague(live.runtime.ports, live.world, "partner_admin2", like="partner")
    await live.gql("partner", WATCH, id=order_id)
    watcher, other = await live.client("partner"), await live.client("partner_admin2")
    feeds = {watcher: await watcher.subscribe(WATCHING), other: await other.subscribe(WATCHING)}
    await asyncio.sleep(0.1)
    # when the order changes: then each learns whether it watches, not whether the other does
    await live.gql("partner", RENAME, id=order_id, name="Watched")
    seen = {c: (await c.next(op, within=WITHIN))["orderUpdated"]["order"]["watching"] for c, op in feeds.items()}
    assert seen == {watcher: True, other: False}
    assert live.fan_out.groups == 2


async def test_a_group_whose_last_member_leaves_mid_event_ends_after_it_not_in_it(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a group whose reading of an event takes a while
    reading = asyncio.Event()
    real_update = schema.orders.live.order_update

    async def slow(*args: Any) -> Any:
        reading.set()
        await asyncio.sleep(0.3)
        return await real_update(*args)

    monkeypatch.setattr(schema.orders.live, "order_update", slow)
    order_id = await flat_fee_order(live)
    client = await live.client("partner")
    op = await client.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    [task] = live.fan_out.tasks
    # when its only member leaves while the event is being read
    await live.gql("partner", RENAME, id=order_id, name="Read slowly")
    await asyncio.wait_for(reading.wait(), WITHIN)
    await client.complete(op)
    # then the group finishes that event and ends by itself (a cancel half-way through an event would leave
    # graphql-core's coroutines for it unawaited), and nothing reaches the member that left
    await asyncio.wait_for(asyncio.shield(task), 2 * WITHIN)
    assert not task.cancelled()
    assert (live.fan_out.groups, live.fan_out.tasks) == (0, ())
    await client.nothing(op)


async def test_queries_and_mutations_over_the_websocket_are_never_shared(live: Live) -> None:
    order_id = await flat_fee_order(live)
    client = await live.client("partner")
    op = await client.subscribe(RENAME.replace("mutation(", "mutation Rename("), id=order_id, name="Over the socket")
    data = await client.next(op)
    assert data["orderUpdate"]["order"]["name"] == "Over the socket"
    assert (await client.receive(op))["type"] == "complete"
    assert live.fan_out.groups == 0


async def test_queries_over_the_websocket_see_fresh_data_each_time(live: Live) -> None:
    # given one connection that reads an order, then the order is renamed over HTTP
    order_id = await flat_fee_order(live, "Before")
    client = await live.client("partner")
    query = "query($id: ID!) { order(id: $id) { name } }"
    assert (await client.next(await client.subscribe(query, id=order_id)))["order"]["name"] == "Before"
    await live.gql("partner", RENAME, id=order_id, name="After")
    # when it reads the order again on the same connection: then no DataLoader cache outlived the first read
    assert (await client.next(await client.subscribe(query, id=order_id)))["order"]["name"] == "After"


async def test_a_sign_in_over_the_websocket_acts_for_its_operation_not_the_connection(live: Live) -> None:
    # given a connection of the vendor of another programme
    client = await live.client("outsider")
    sign_in = """
    mutation($email: String!, $password: String!) {
      tokenCreate(input: {email: $email, password: $password}) { user { email organisation { name } } }
    }"""
    # when it signs in as the partner over the socket
    op = await client.subscribe(sign_in, email="partner@example.com", password=PASSWORD)
    # then that operation's payload reads as the partner
    data = await client.next(op)
    assert data["tokenCreate"]["user"] == {"email": "partner@example.com", "organisation": {"name": "Partner Ltd"}}
    # and the connection is still the outsider's for its next operation
    me = await client.next(await client.subscribe("{ viewer { user { email } } }"))
    assert me["viewer"]["user"]["email"] == "outsider@example.com"


async def test_a_member_that_falls_behind_ends_alone() -> None:
    # given two members of one group, the first never reading
    slow, fast = Member(limit=2), Member(limit=2)
    shared = Shared(payload="{}", errors=[], initial=False, final=False)
    for _ in range(3):
        for member in (slow, fast):
            member.offer(shared)
        assert await anext(fast) is shared
    # then the first ends with FellBehind, the second reads on
    with pytest.raises(FellBehind):
        await anext(slow)
    fast.offer(shared)
    fast.end()
    assert [item async for item in fast] == [shared]


class Socket:
    """A member's way out for the Member tests: records what was sent; can refuse, or stall."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.ready_now = True
        self.stalled = False

    def ready(self) -> bool:
        return self.ready_now

    async def send(self, payload: str) -> None:
        if self.stalled:
            await asyncio.Event().wait()  # a client that does not read: the send never finishes
        self.sent.append(payload)


def shared(payload: str) -> Shared:
    return Shared(payload=payload, errors=[], initial=False, final=False)


async def test_an_idle_member_is_sent_to_by_the_group_and_a_busy_one_by_its_own_task() -> None:
    socket = Socket()
    member = Member(limit=4, direct=socket)
    await member.deliver(shared("1"))
    assert socket.sent == ["1"]  # idle: straight out
    socket.ready_now = False  # e.g. its token is due for a check
    await member.deliver(shared("2"))
    socket.ready_now = True
    await member.deliver(shared("3"))  # "2" waits in the queue: "3" must not overtake it
    assert socket.sent == ["1"]
    assert (await anext(member)).payload == "2"
    await member.deliver(shared("4"))  # its task holds "2" (busy): queued behind it
    assert [(await anext(member)).payload for _ in range(2)] == ["3", "4"]
    member.end()
    assert [s async for s in member] == []
    await member.deliver(shared("5"))  # ended: nothing more
    assert socket.sent == ["1"]


async def test_a_member_whose_client_does_not_read_is_left_to_its_own_task() -> None:
    # given a member whose sends stall, and another that reads
    stalled, reading = Socket(), Socket()
    stalled.stalled = True
    slow, fast = Member(limit=4, direct=stalled), Member(limit=4, direct=reading)
    # when the group delivers to both: then the stalled one costs a few milliseconds, not the others' events
    started = time.perf_counter()
    for member in (slow, fast):
        await member.deliver(shared("1"))
    assert time.perf_counter() - started < 1.0
    assert reading.sent == ["1"]
    # and the stalled member's result waits, unsent, for its own task
    assert stalled.sent == []
    assert (await anext(slow)).payload == "1"
