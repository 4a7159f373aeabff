"""A revoked or expired token ends its WebSocket connections at once, not at the next periodic re-check.

The periodic re-check (LiveOptions.reauthenticate_every, 60 s) stays as it is in these tests: what
ends the connections within a second is the revocation itself (published after its commit) and a
timer at the token's expiry. No event is published on the subscriptions' channels meanwhile, so
nothing but the revocation or the expiry can end them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import timedelta
from pathlib import Path

import websockets
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.identity.model import AccessToken, new_token_secret, token_digest
from ordergraph.revocations import CHANNEL
from tests.api.conftest import app_for
from tests.api.live import COMMENT_ADDED, ORDER_UPDATED, RENAME, WITHIN, GraphQLWS, Live, flat_fee_order, live_on
from tests.api.world import build_world

TOKEN_REVOKE = "mutation { tokenRevoke { revoked } }"
VIEWER = "query { viewer { user { name } } }"


async def _ended_unauthenticated(client: GraphQLWS, op: str, within: float) -> str:
    """The subscription's last `next` carries UNAUTHENTICATED and nothing else, then `complete`; the message."""
    ended = await client.receive(op, within=within)
    assert ended["type"] == "next", ended
    assert ended["payload"]["data"] is None, ended
    [error] = ended["payload"]["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED", ended
    assert (await client.receive(op, within=1.0))["type"] == "complete"
    message: str = error["message"]
    return message


async def _refused(client: GraphQLWS, query: str) -> None:
    """A query on `client`'s socket is answered with UNAUTHENTICATED and no data."""
    op = await client.subscribe(query)
    answer = await client.receive(op, within=5.0)
    assert answer["type"] == "next", answer
    assert answer["payload"]["data"] is None, answer
    assert [e["extensions"]["code"] for e in answer["payload"]["errors"]] == ["UNAUTHENTICATED"], answer
    assert (await client.receive(op))["type"] == "complete"


async def test_a_revoked_token_ends_its_connections_within_a_second(live: Live) -> None:
    # given two connections of the partner colleague's token (one with a subscription that also runs
    # queries) and a connection of another user's token
    order_id = await flat_fee_order(live)
    client = await live.client("partner_colleague")
    other_socket = await live.client("partner_colleague")
    partner = await live.client("partner")
    op = await client.subscribe(ORDER_UPDATED)
    other_op = await other_socket.subscribe(ORDER_UPDATED, id=order_id)
    partners = await partner.subscribe(ORDER_UPDATED, id=order_id)
    ask = await client.subscribe(VIEWER)
    assert (await client.next(ask))["viewer"]["user"]["name"]
    await asyncio.sleep(0.1)  # let the subscriptions reach the bus

    # when the token is revoked over HTTP
    await live.gql("partner_colleague", TOKEN_REVOKE)
    revoked = time.monotonic()

    # then both of its connections' subscriptions end with UNAUTHENTICATED within a second (no event needed)
    message = await _ended_unauthenticated(client, op, within=WITHIN)
    assert "revoked" in message, message
    await _ended_unauthenticated(other_socket, other_op, within=WITHIN - (time.monotonic() - revoked))
    # and the next query on the socket is refused, as is a new subscription (with the protocol's `error`)
    await _refused(client, VIEWER)
    again = await client.subscribe(ORDER_UPDATED)
    refused = await client.receive(again)
    assert refused["type"] == "error", refused
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["UNAUTHENTICATED"], refused
    # while the other user's connection goes on as before
    await live.gql("partner", RENAME, id=order_id, name="Still live")
    assert (await partner.next(partners, within=WITHIN))["orderUpdated"]["order"]["name"] == "Still live"
    # and once the sockets close, nothing of them is left watched
    for each in (client, other_socket, partner):
        await each.close()
    for _ in range(100):
        if live.runtime.revocations.connections == 0:
            break
        await asyncio.sleep(0.01)
    assert live.runtime.revocations.connections == 0


async def test_revoking_over_the_socket_itself_ends_that_socket(live: Live) -> None:
    # given a subscription, and tokenRevoke sent on the same connection
    client = await live.client("partner_colleague")
    op = await client.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    revoke = await client.subscribe(TOKEN_REVOKE)
    # then the mutation answers, and the subscription ends within a second
    assert (await client.next(revoke))["tokenRevoke"] == {"revoked": True}
    await _ended_unauthenticated(client, op, within=WITHIN)
    await _refused(client, VIEWER)


async def test_an_expiring_token_ends_its_connection_at_its_expiry(live: Live) -> None:
    # given a connection whose token expires in two seconds (stored as tokenCreate stores tokens)
    ports, member = live.runtime.ports, live.world["partner_colleague"]
    secret, now = new_token_secret(), ports.clock.now()
    async with ports.uow() as uow:
        token = AccessToken(token_digest(secret), member.user.id, now, now + timedelta(seconds=2))
        await uow.directory.add_token(token)
        await uow.commit()
    client = await GraphQLWS.connect(live.ws_url, {"authorization": f"Bearer {secret}"})
    live.clients.append(client)
    op = await client.subscribe(ORDER_UPDATED)
    ask = await client.subscribe(VIEWER)
    assert (await client.next(ask))["viewer"]["user"]["name"]

    # then the subscription ends with UNAUTHENTICATED within a second of the expiry, not before it
    started, remaining = time.monotonic(), (token.expires_at - ports.clock.now()).total_seconds()
    message = await _ended_unauthenticated(client, op, within=remaining + WITHIN)
    assert time.monotonic() - started >= remaining - 0.05  # at the expiry: not before it
    assert "expired" in message, message
    # and the socket's next query is refused
    await _refused(client, VIEWER)


async def test_a_legacy_graphql_ws_connection_of_a_revoked_token_is_closed_with_4403(live: Live) -> None:
    # given a subscription over the legacy graphql-ws protocol
    order_id = await flat_fee_order(live)
    async with websockets.connect(live.ws_url, subprotocols=[websockets.Subprotocol("graphql-ws")]) as ws:
        token = live.world["partner_colleague"].token
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        start = {"query": COMMENT_ADDED, "variables": {"orderId": order_id}}
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": start}))
        await asyncio.sleep(0.1)
        # when its token is revoked: then the socket is closed with 4403 within a second, saying why
        await live.gql("partner_colleague", TOKEN_REVOKE)
        await asyncio.wait_for(ws.wait_closed(), WITHIN)
        assert ws.close_code == 4403
        assert "revoked" in (ws.close_reason or ""), ws.close_reason


async def test_a_revocation_the_bus_cannot_carry_still_takes_effect_at_the_periodic_recheck(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    # given two servers on one database, each on a memory:// bus of its own (no bus between them),
    # the second re-checking tokens before every operation
    first, second = (app_for(database_url, tmp_path / "files") for _ in "12")
    second.state.runtime.notifier = None  # Dramatiq's broker is process-global: one in-process worker
    world = await build_world(first.state.runtime.ports)
    async with live_on(first, world) as one, live_on(second, world) as other:
        other.runtime.live = dataclasses.replace(other.runtime.live, reauthenticate_every=0)
        client = await other.client("partner_colleague")
        ask = await client.subscribe(VIEWER)
        assert (await client.next(ask))["viewer"]["user"]["name"]
        # when the token is revoked on the first server: then the second refuses the socket's next query
        await one.gql("partner_colleague", TOKEN_REVOKE)
        await _refused(client, VIEWER)


async def test_a_revocation_published_by_another_process_ends_the_connection(live: Live) -> None:
    # given a subscription of the partner colleague's token
    client = await live.client("partner_colleague")
    op = await client.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    # when the bus carries a malformed message, then what another process publishes after a revocation
    await live.runtime.bus.publish(CHANNEL, {"digests": "not a list"})
    await live.runtime.bus.publish(CHANNEL, {"digests": ["0" * 64]})  # a token nobody here holds
    await client.nothing(op, wait=0.2)
    await live.runtime.bus.publish(CHANNEL, {"digests": [token_digest(live.world["partner_colleague"].token)]})
    # then the subscription ends with UNAUTHENTICATED within a second (the listener survived the bad message)
    assert "revoked" in await _ended_unauthenticated(client, op, within=WITHIN)
    await _refused(client, VIEWER)
