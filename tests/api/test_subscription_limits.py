"""What ends or refuses a live subscription: a revoked token, a lost bus, a masked error, caps, origins, lag."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

import schema.orders.live
from tests.api.conftest import app_for
from tests.api.live import (
    ALLOWED_ORIGIN,
    COMMENT_ADDED,
    MAX_SUBSCRIPTIONS,
    ORDER_UPDATED,
    RENAME,
    WITHIN,
    GraphQLWS,
    Live,
    flat_fee_order,
    served,
    uuid_of,
)


async def test_a_revoked_token_ends_its_subscriptions(live: Live) -> None:
    # given a subscriber whose token is checked again at every event
    live.runtime.live = dataclasses.replace(live.runtime.live, reauthenticate_every=0)
    order_id = await flat_fee_order(live)
    client = await live.client("partner_colleague")
    op = await client.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    await live.gql("partner", RENAME, id=order_id, name="Still allowed")
    assert (await client.next(op, within=WITHIN))["orderUpdated"]["order"]["name"] == "Still allowed"
    # when the token is revoked: then the next event ends the subscription with UNAUTHENTICATED
    await live.gql("partner_colleague", "mutation { tokenRevoke { revoked } }")
    await live.gql("partner", RENAME, id=order_id, name="Not for you any more")
    ended = await client.receive(op, within=WITHIN)
    assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", ended
    assert ended["payload"]["data"] is None
    assert (await client.receive(op))["type"] == "complete"


async def test_losing_the_event_bus_ends_subscriptions_with_an_error(live: Live) -> None:
    client = await live.client("partner")
    op = await client.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    assert (await live.http.get("/healthz")).json() == {"status": "ok", "liveUpdates": "ok"}
    await live.runtime.bus.disconnect()
    ended = await client.receive(op, within=WITHIN)
    assert ended["payload"]["errors"][0]["extensions"]["code"] == "LIVE_UPDATES_INTERRUPTED", ended
    assert (await client.receive(op))["type"] == "complete"
    # and the health check says so, without failing the process
    health = await live.http.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok", "liveUpdates": "interrupted"})


async def test_unexpected_errors_in_live_events_are_masked(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(schema.orders.live, "order_update", broken)
    order_id = await flat_fee_order(live)
    client = await live.client("partner")
    op = await client.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    await live.gql("partner", RENAME, id=order_id, name="Boom")
    ended = await client.receive(op, within=WITHIN)
    [error] = ended["payload"]["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "internal detail" not in json.dumps(ended)


# ---- defences ------------------------------------------------------------------------------


async def test_subscriptions_per_connection_are_capped(live: Live) -> None:
    client = await live.client("partner")
    ops = [await client.subscribe(ORDER_UPDATED) for _ in range(MAX_SUBSCRIPTIONS)]
    over = await client.subscribe(ORDER_UPDATED)
    refused = await client.receive(over)
    assert refused["type"] == "error"
    assert "limit" in refused["payload"][0]["message"]
    # completing one frees a place
    await client.complete(ops[0])
    await asyncio.sleep(0.1)
    again = await client.subscribe(ORDER_UPDATED)
    await client.nothing(again)
    await client.close()


async def test_a_browser_on_a_disallowed_origin_is_refused(live: Live) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await GraphQLWS.open(live.ws_url, origin=websockets.Origin("https://evil.example"))
    assert refused.value.response.status_code == 403
    client = await GraphQLWS.connect(
        live.ws_url,
        {"authorization": f"Bearer {live.world['partner'].token}"},
        origin=websockets.Origin(ALLOWED_ORIGIN),
    )
    await client.close()


async def test_an_order_one_may_not_see_cannot_be_followed(live: Live) -> None:
    order_id = await flat_fee_order(live)
    client = await live.client("partner2")
    for query, variables in ((ORDER_UPDATED, {"id": order_id}), (COMMENT_ADDED, {"orderId": order_id})):
        op = await client.subscribe(query, **variables)
        refused = await client.receive(op)
        assert refused["type"] == "error", refused
        assert refused["payload"][0]["extensions"]["code"] == "NOT_FOUND"
    await client.close()


async def test_a_subscriber_that_falls_behind_is_ended_with_an_error(live: Live) -> None:
    # given a subscriber with a queue of 4 hints
    order_id = await flat_fee_order(live)
    client = await live.client("partner")
    op = await client.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    # when hints arrive in a burst, faster than it re-reads each from the database
    hint = {"order_id": str(uuid_of(order_id)), "kind": "FIELDS_UPDATED", "subject_id": None, "actor_user_id": None}
    channel = f"org:{live.world.org_id('partner')}"
    for _ in range(40):
        await live.runtime.bus.publish(
            channel, {**hint, "event_id": str(uuid4()), "occurred_at": "2026-01-01T00:00:00"}
        )
    # then its subscription ends with an error it can act on (subscribe again, refetch), then completes
    messages = [await client.receive(op)]
    while messages[-1]["type"] != "complete":
        messages.append(await client.receive(op))
    assert [m["type"] for m in messages] == ["next", "complete"], messages
    [error] = messages[0]["payload"]["errors"]
    assert error["extensions"]["code"] == "LIVE_UPDATES_INTERRUPTED"
    assert "subscribe again" in error["message"]
    # and the connection stays usable
    again = await client.subscribe(ORDER_UPDATED)
    await client.nothing(again)
    await client.close()


@pytest.mark.parametrize("protocol", ["graphql-ws", "graphql-transport-ws"])
async def test_a_socket_that_never_sends_connection_init_is_closed(
    engine: AsyncEngine, database_url: str, tmp_path: Path, protocol: str
) -> None:
    # given the API with a wait for connection_init of one second (a minute by default)
    app = app_for(database_url, tmp_path / "files", ORDERGRAPH_WS_INIT_TIMEOUT_SECONDS="1")
    async with served(app) as port:
        # when a client opens a socket with either protocol and says nothing
        url = f"ws://127.0.0.1:{port}/graphql"
        async with websockets.connect(url, subprotocols=[websockets.Subprotocol(protocol)]) as ws:
            # then the server closes it with 4408 (the legacy protocol once kept it open for ever)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), timeout=10)
            assert ws.close_code == 4408, (ws.close_code, ws.close_reason)
