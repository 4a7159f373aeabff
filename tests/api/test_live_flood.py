"""One user's flood of live subscriptions fails nobody else, and ends when its clients go (issue 8, item 1).

The flood of the hostile review: one partner user opens 20 WebSocket connections with 20 distinct
subscriptions each on one order (400 groups, since no two documents are alike) and posts a comment,
while a user of another partner runs plain queries. Before live readings had a bound and a pool of
their own, the groups' readings took every connection of the pool and the other user's queries
failed (`QueuePool limit ... reached`, inside `authenticate` too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.identity.model import AccessToken, new_token_secret, token_digest
from tests.api.conftest import app_for
from tests.api.live import COMMENT, ORDER_UPDATED, GraphQLWS, Live, flat_fee_order, live_on, until
from tests.api.world import build_world

CONNECTIONS = 20
SUBSCRIPTIONS = 20
QUERIES = 40

READINGS = 3

PLAIN_QUERY = "{ orders(first: 20) { edges { node { id name status partner { name } } } } }"


def distinct(connection: int, subscription: int) -> str:
    """ORDER_UPDATED under an alias of its own: a document (and so a group) like no other."""
    return ORDER_UPDATED.replace("orderUpdated(", f"c{connection}s{subscription}: orderUpdated(", 1)


@pytest.fixture
async def flooded(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """The served application with quotas that admit the whole flood, and a short wait for a pooled connection."""
    app = app_for(
        database_url,
        tmp_path / "files",
        ORDERGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION=str(SUBSCRIPTIONS),
        ORDERGRAPH_LIVE_CONNECTIONS_PER_USER=str(CONNECTIONS + 1),  # and a probe's (subscribed_flood)
        ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_USER=str(CONNECTIONS * SUBSCRIPTIONS + 1),
        ORDERGRAPH_DB_POOL_TIMEOUT_SECONDS="3",
        ORDERGRAPH_LIVE_READINGS=str(READINGS),
    )
    world = await build_world(app.state.runtime.ports)
    async with live_on(app, world) as served_live:
        yield served_live


@contextlib.contextmanager
def pool_use(engine: AsyncEngine) -> Iterator[dict[str, int]]:
    """Checkouts of `engine`'s pool within the block, and the most connections out at once."""
    use = {"checkouts": 0, "out": 0, "most": 0}

    def checkout(*_: Any) -> None:
        use["checkouts"] += 1
        use["out"] += 1
        use["most"] = max(use["most"], use["out"])

    def checkin(*_: Any) -> None:
        use["out"] -= 1

    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    try:
        yield use
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(pool, "checkin", checkin)


async def subscribed_flood(live: Live, order_id: str, connections: int) -> list[tuple[GraphQLWS, list[str]]]:
    """`connections` clients of the partner with SUBSCRIPTIONS distinct subscriptions each, all listening."""

    async def flood(connection: int, client: GraphQLWS) -> tuple[GraphQLWS, list[str]]:
        ops = [await client.subscribe(distinct(connection, s), id=order_id) for s in range(SUBSCRIPTIONS)]
        return client, ops

    # each group listens on as many bus channels as a first one does
    bus, unrelated = live.runtime.bus, live.runtime.bus.subscribers
    probe = await live.client("partner")
    await probe.subscribe(distinct(CONNECTIONS, 0), id=order_id)
    await until(lambda: bus.subscribers > unrelated, 5)
    await asyncio.sleep(0.1)
    channels = bus.subscribers - unrelated
    clients = [await live.client("partner") for _ in range(connections)]  # connected first, then subscribing
    floods = await asyncio.gather(*(flood(c, client) for c, client in enumerate(clients)))
    await until(lambda: bus.subscribers >= unrelated + channels * (1 + connections * SUBSCRIPTIONS), 60)
    await probe.close()
    return floods


async def test_a_flood_of_subscriptions_fails_no_request_of_another_organisation(flooded: Live) -> None:
    live = flooded
    order_id = await flat_fee_order(live)
    token = live.world["partner2"].token

    async def query() -> str | None:
        """What went wrong with one plain query of partner2 (None: nothing)."""
        response = await live.http.post(
            "/graphql", json={"query": PLAIN_QUERY}, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        return str(response.json()["errors"]) if "errors" in response.json() else None

    # given the flood: 400 groups on one order
    floods = await subscribed_flood(live, order_id, CONNECTIONS)
    # and a comment that gives each of them an event
    await live.gql("partner", COMMENT, orderId=order_id, body="Flood", visibility="SHARED")

    # when another organisation's user queries meanwhile, four at a time: then none of its requests fails
    failures: list[str] = []
    for _ in range(QUERIES // 4):
        failures += [f for f in await asyncio.gather(*(query() for _ in range(4))) if f is not None]
    assert failures == [], failures

    # and every subscription of the flood receives its event
    await every_one_received(floods)

    # when every client of the flood goes: then every group stops within 2 s, none left working
    for client, _ in floods:
        await client.close()
    await until(lambda: not (live.fan_out.groups or live.fan_out.tasks), 2)


async def every_one_received(floods: list[tuple[GraphQLWS, list[str]]]) -> None:
    for c, (client, ops) in enumerate(floods):
        for s, op in enumerate(ops):
            assert (await client.next(op, within=60))[f"c{c}s{s}"]["change"] == "COMMENT"


async def test_live_readings_take_turns_on_a_pool_of_their_own(flooded: Live) -> None:
    live = flooded
    order_id = await flat_fee_order(live)
    floods = await subscribed_flood(live, order_id, 5)
    assert live.runtime.live_engine is not None
    # when 100 groups read the same event
    with pool_use(live.runtime.engine) as requests, pool_use(live.runtime.live_engine) as readings:
        await live.gql("partner", COMMENT, orderId=order_id, body="Flood", visibility="SHARED")
        await every_one_received(floods)
    # then they read through the live pool, READINGS events at a time (each reads with two loaders at once)
    assert readings["checkouts"] >= 5 * SUBSCRIPTIONS
    assert readings["most"] <= 2 * READINGS
    # and the requests' pool served the mutation (and the email relay's after it), none of the readings
    assert requests["checkouts"] < 20, requests


async def test_groups_whose_subscribers_left_stop_even_in_the_middle_of_their_events(flooded: Live) -> None:
    live = flooded
    order_id = await flat_fee_order(live)
    floods = await subscribed_flood(live, order_id, 5)
    assert live.runtime.live_engine is not None
    with pool_use(live.runtime.live_engine) as one:  # what reading one event costs the 100 groups
        await live.gql("partner", COMMENT, orderId=order_id, body="Flood", visibility="SHARED")
        await every_one_received(floods)
    per_event = one["checkouts"] / (5 * SUBSCRIPTIONS)
    # given 100 groups with five more events each to read
    for n in range(5):
        await live.gql("partner", COMMENT, orderId=order_id, body=f"Flood {n}", visibility="SHARED")
    # when every subscriber leaves in the middle of it
    for client, _ in floods:
        await client.ws.close()
    # then the groups stop within 2 s, having read hardly anything more: the events in hand, and those
    # of the turns that began before the server saw the last of the disconnections (not 500 events)
    with pool_use(live.runtime.live_engine) as after:
        await until(lambda: not (live.fan_out.groups or live.fan_out.tasks), 2)
    assert after["checkouts"] <= 2 * READINGS * per_event, (after, per_event)


@pytest.fixture
async def quoted(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    """The served application with small live quotas."""
    app = app_for(
        database_url,
        tmp_path / "files",
        ORDERGRAPH_LIVE_CONNECTIONS_PER_USER="2",
        ORDERGRAPH_LIVE_CONNECTIONS_PER_ORGANISATION="3",
        ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_USER="3",
        ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_ORGANISATION="4",
    )
    world = await build_world(app.state.runtime.ports)
    async with live_on(app, world) as served_live:
        yield served_live


async def refused_connection(live: Live, member: str) -> str:
    """The close reason of a connection_init by `member` that is refused."""
    ws = await GraphQLWS.open(live.ws_url)
    token = live.world[member].token
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    return closed.value.rcvd.reason


async def test_connections_past_a_users_or_organisations_quota_are_refused_saying_so(quoted: Live) -> None:
    live = quoted
    # given the partner's user with two connections, its quota
    first, _second = await live.client("partner"), await live.client("partner")
    # then a third is refused, saying why
    assert "the most one user may" in await refused_connection(live, "partner")
    # and a colleague may open the organisation's third, not a fourth
    await live.client("partner_colleague")
    assert "the most one organisation may" in await refused_connection(live, "partner_colleague")
    # while another organisation's user is not affected
    await live.client("partner2")
    # when a connection closes, its place is free again
    await first.close()
    await until(lambda: live.fan_out.quotas.held_by_user("connections", live.world["partner"].user.id) < 2, 5)
    await live.client("partner")


async def test_subscriptions_past_a_quota_are_refused_with_a_typed_error(quoted: Live) -> None:
    live = quoted
    order_id = await flat_fee_order(live)
    client = await live.client("partner")
    # given the user's three subscriptions, its quota
    ops = [await client.subscribe(ORDER_UPDATED, id=order_id) for _ in range(3)]
    await until(lambda: live.fan_out.members == 3, 5)
    # then a fourth is refused with TOO_MANY_SUBSCRIPTIONS
    refused = await client.receive(await client.subscribe(ORDER_UPDATED, id=order_id))
    assert refused["type"] == "error", refused
    assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS", refused
    assert "the most one user may" in refused["payload"][0]["message"]
    # and a colleague's second one passes the organisation's quota of four
    colleague = await live.client("partner_colleague")
    await colleague.subscribe(ORDER_UPDATED, id=order_id)
    await until(lambda: live.fan_out.members == 4, 5)
    refused = await colleague.receive(await colleague.subscribe(ORDER_UPDATED, id=order_id))
    assert "the most one organisation may" in refused["payload"][0]["message"], refused
    # when one completes, another may start, and the ones running still receive
    await client.complete(ops[0])
    await until(lambda: live.fan_out.members == 3, 5)
    again = await client.subscribe(ORDER_UPDATED, id=order_id)
    await until(lambda: live.fan_out.members == 4, 5)
    await asyncio.sleep(0.1)
    await live.gql("partner", COMMENT, orderId=order_id, body="Still live", visibility="SHARED")
    for op in (ops[1], again):
        assert (await client.next(op))["orderUpdated"]["change"] == "COMMENT"


async def test_a_connection_whose_token_was_revoked_no_longer_counts_against_the_quota(quoted: Live) -> None:
    live = quoted
    ports, member = live.runtime.ports, live.world["partner"]
    secret, now = new_token_secret(), ports.clock.now()
    async with ports.uow() as uow:  # a second token of the partner's user, stored as tokenCreate stores it
        await uow.directory.add_token(AccessToken(token_digest(secret), member.user.id, now, now + timedelta(hours=1)))
        await uow.commit()
    # given the user's two connections, one of them with the token about to be revoked
    doomed = await GraphQLWS.connect(live.ws_url, {"authorization": f"Bearer {secret}"})
    live.clients.append(doomed)
    await live.client("partner")
    assert "the most one user may" in await refused_connection(live, "partner")
    # when that token is revoked (its socket left open by its client)
    response = await live.http.post(
        "/graphql",
        json={"query": "mutation { tokenRevoke { revoked } }"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.json()["data"]["tokenRevoke"]["revoked"] is True
    # then the user may open another connection
    await until(lambda: live.fan_out.quotas.held_by_user("connections", member.user.id) < 2, 1)
    await live.client("partner")
