"""Live subscriptions end to end: uvicorn on a real socket, a graphql-transport-ws client over `websockets`.

The server runs in-process (uvicorn.Server on a free port, lifespan on, so the event bus is the real
BroadcastEventBus on memory://); the client speaks the protocol by hand: connection_init, subscribe,
next, error, complete. Mutations go over HTTP to the same server.

"Never receives" is checked with a barrier: the subscriber's own later event must be the next thing
it receives, so everything published before it was skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
import websockets
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection

import schema.orders.live
from adapters.security import Argon2PasswordHasher
from ordergraph.app import Runtime, create_app
from ordergraph.fanout import FanOut, FellBehind, Member, Shared
from schema.common import parse_global_id, to_global_id
from tests.api.conftest import counting, settings_for
from tests.api.world import PASSWORD, World, add_colleague, build_world
from tests.conftest import REDIS_URL, REQUIRE_SERVICES

PROTOCOL = "graphql-transport-ws"
ALLOWED_ORIGIN = "https://app.example"
MAX_SUBSCRIPTIONS = 3
WITHIN = 1.0  # seconds: the acceptance bar for an event to arrive

LATENCIES: list[tuple[float, float]] = []  # (mutation answered, event received), from the request


# ---- documents -----------------------------------------------------------------------------

ORDER_UPDATED = """
subscription($id: ID) {
  orderUpdated(id: $id) {
    change occurredAt
    order { id name status version providerNotes partner { name } provider { name } latestComment { body } }
    activity { id kind before after actor { name } }
    actor { name }
    comment { id body visibility author { name } }
  }
}"""

LEFT_VIEW_FEED = """
subscription($id: ID) {
  orderUpdated(id: $id, leftView: true) {
    change orderId occurredAt
    order { id status }
    activity { id kind before after }
    actor { name }
    comment { id }
    quote { id }
  }
}"""
"""orderUpdated asking for LEFT_VIEW updates too."""

COMMENT_ADDED = """
subscription($orderId: ID!) {
  commentAdded(orderId: $orderId) { id body visibility author { name } }
}"""

ORDER_CREATE = """
mutation($input: OrderCreateInput!) {
  orderCreate(input: $input) { order { id version } userErrors { message } }
}"""

STEP = """
mutation($id: ID!) {
  %s(input: {id: $id}) { order { status version } userErrors { message } }
}"""

STATUS_CHANGE = """
mutation($id: ID!, $status: OrderStatus!) {
  orderStatusChange(input: {id: $id, status: $status}) { order { status version } userErrors { message } }
}"""

NOTES = """
mutation($id: ID!, $notes: String!) {
  orderUpdate(input: {id: $id, providerNotes: $notes}) { order { providerNotes } userErrors { message } }
}"""

NOTES_AND_ESTIMATE = """
mutation($id: ID!, $notes: String!, $estimate: Date!) {
  orderUpdate(input: {id: $id, providerNotes: $notes, estimatedCompletion: $estimate}) {
    order { providerNotes } userErrors { message }
  }
}"""

RENAME = """
mutation($id: ID!, $name: String!) {
  orderUpdate(input: {id: $id, name: $name}) { order { name } userErrors { message } }
}"""

QUOTE_SUBMIT = """
mutation($orderId: ID!) {
  quoteSubmit(input: {orderId: $orderId, lineItems: [{description: "Webinar", unitPrice: "900"}]}) {
    quote { id } userErrors { message }
  }
}"""

QUOTE_ACCEPT = """
mutation($id: ID!) { quoteAccept(input: {id: $id}) { order { status } userErrors { message } } }"""

CANCEL = """
mutation($id: ID!, $reason: String!) {
  orderCancel(input: {id: $id, reason: $reason}) { order { status } userErrors { message } }
}"""

ACTIVITY = """
query($id: ID!) { order(id: $id) { activity { id kind occurredAt } } }"""

COMMENT = """
mutation($orderId: ID!, $body: String!, $visibility: CommentVisibility!) {
  commentCreate(input: {orderId: $orderId, body: $body, visibility: $visibility}) {
    comment { id } userErrors { message }
  }
}"""


# ---- the server and the client -------------------------------------------------------------


@dataclasses.dataclass
class Live:
    """A served application, its world, and an HTTP client for mutations."""

    runtime: Runtime
    world: World
    http: httpx.AsyncClient
    ws_url: str
    fan_out: FanOut
    clients: list[GraphQLWS] = dataclasses.field(default_factory=list)

    async def gql(self, member: str, query: str, **variables: Any) -> dict[str, Any]:
        """Run a query or mutation over HTTP as `member`; fails on errors of any kind."""
        headers = {"Authorization": f"Bearer {self.world[member].token}"}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        body = response.json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        for payload in data.values():
            assert not (payload or {}).get("userErrors"), payload
        return data

    async def client(self, member: str | None, **kwargs: Any) -> GraphQLWS:
        """A connected, acknowledged client authenticated as `member`."""
        token = self.world[member].token if member else None
        client = await GraphQLWS.connect(self.ws_url, {"authorization": f"Bearer {token}"} if token else {}, **kwargs)
        self.clients.append(client)  # closed by the fixture even when a test fails half-way
        return client


class GraphQLWS:
    """A minimal graphql-transport-ws client: one connection, several subscriptions, routed by id."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> ClientConnection:
        return await websockets.connect(url, subprotocols=[websockets.Subprotocol(PROTOCOL)], **kwargs)

    @classmethod
    async def connect(cls, url: str, payload: dict[str, Any], **kwargs: Any) -> GraphQLWS:
        ws = await cls.open(url, **kwargs)
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack == {"type": "connection_ack"}, ack
        return cls(ws)

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                elif "id" in message:
                    self.inbox.setdefault(message["id"], asyncio.Queue()).put_nowait(message)

    async def subscribe(self, query: str, **variables: Any) -> str:
        """Start a subscription; its id."""
        op = str(next(self.ids))
        self.inbox.setdefault(op, asyncio.Queue())
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
        return op

    async def receive(self, op: str, within: float = 5.0) -> dict[str, Any]:
        """The next protocol message (next, error or complete) of subscription `op`."""
        return await asyncio.wait_for(self.inbox[op].get(), within)

    async def next(self, op: str, within: float = 5.0) -> dict[str, Any]:
        """The data of the next `next` message of `op` (fails on anything else)."""
        message = await self.receive(op, within)
        assert message["type"] == "next" and "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def nothing(self, op: str, wait: float = 0.3) -> None:
        """Assert that `op` receives nothing for `wait` seconds."""
        await asyncio.sleep(wait)
        assert self.inbox[op].empty(), self.inbox[op].get_nowait()

    async def complete(self, op: str) -> None:
        await self.ws.send(json.dumps({"id": op, "type": "complete"}))

    async def close(self) -> None:
        await self.ws.close()
        await self.reader  # idempotent: closing twice is fine


def app_for(database_url: str, files: Path, **overrides: str) -> Starlette:
    """The application with test settings and a fast password hasher."""
    app = create_app(settings_for(database_url, files, **overrides))
    runtime: Runtime = app.state.runtime
    runtime.ports = dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast())
    return app


@contextlib.asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[int]:
    """Serve `app` with uvicorn on a free port of 127.0.0.1 (lifespan on: the event bus connects); the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", ws="websockets-sansio", ws_per_message_deflate=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not serving.done(), serving.exception()
            await asyncio.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await serving
        sock.close()


@contextlib.asynccontextmanager
async def live_on(app: Starlette, world: World) -> AsyncIterator[Live]:
    """A served app and its world, with an HTTP client; every WebSocket client is closed at the end."""
    async with served(app) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        live = Live(app.state.runtime, world, http, f"ws://127.0.0.1:{port}/graphql", app.state.fan_out)
        try:
            yield live
        finally:
            for client in live.clients:
                await client.close()


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


# ---- order helpers ---------------------------------------------------------------------------


async def flat_fee_order(live: Live, name: str = "Webinar launch", *, partner: str = "partner") -> str:
    """A flat-fee order of `partner` for the provider's webinar, approved (so the provider sees it)."""
    service = to_global_id("Service", live.world.services["webinar"].id)
    created = await live.gql(partner, ORDER_CREATE, input={"kind": "FLAT_FEE", "name": name, "serviceId": service})
    order_id: str = created["orderCreate"]["order"]["id"]
    await live.gql(partner, STEP % "orderSubmit", id=order_id)
    await live.gql("vendor", STEP % "orderApprove", id=order_id)
    return order_id


async def timed(live: Live, client: GraphQLWS, op: str, member: str, query: str, **variables: Any) -> dict[str, Any]:
    """Run a mutation and return the next event of `op`, asserting it arrives within WITHIN seconds."""
    start = time.perf_counter()
    await live.gql(member, query, **variables)
    answered = time.perf_counter()
    data = await client.next(op, within=WITHIN)
    LATENCIES.append((answered - start, time.perf_counter() - start))
    return data


def uuid_of(global_id: str) -> UUID:
    return parse_global_id(global_id)[1]


# ---- acceptance ------------------------------------------------------------------------------


async def test_status_and_comment_events_arrive_within_a_second(live: Live) -> None:
    # given the partner following one order and the vendor watching its dashboard feed
    order_id = await flat_fee_order(live)
    partner = await live.client("partner")
    vendor = await live.client("vendor")
    one = await partner.subscribe(ORDER_UPDATED, id=order_id)
    comments = await partner.subscribe(COMMENT_ADDED, orderId=order_id)
    feed = await vendor.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)  # let the subscriptions reach the bus

    # when the provider changes the status: then both receive it, within a second
    event = await timed(live, partner, one, "provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
    update = event["orderUpdated"]
    assert update["change"] == "STATUS"
    assert update["order"]["id"] == order_id
    assert update["order"]["status"] == "NOT_STARTED"
    assert update["activity"]["before"] == {"status": "APPROVED"}
    assert update["activity"]["after"]["status"] == "NOT_STARTED"
    assert update["actor"] == {"name": "Provider"} == update["activity"]["actor"]
    assert update["order"]["partner"] == {"name": "Partner Ltd"}
    assert (await vendor.next(feed, within=WITHIN))["orderUpdated"]["order"]["status"] == "NOT_STARTED"

    # when the provider comments (shared): then the comment arrives on both subscriptions
    event = await timed(
        live, partner, comments, "provider", COMMENT, orderId=order_id, body="Kick-off Monday", visibility="SHARED"
    )
    assert event["commentAdded"]["body"] == "Kick-off Monday"
    assert event["commentAdded"]["author"] == {"name": "Provider"}
    update = (await partner.next(one, within=WITHIN))["orderUpdated"]
    assert update["change"] == "COMMENT"
    assert update["comment"]["id"] == event["commentAdded"]["id"]
    assert update["comment"]["body"] == "Kick-off Monday"
    assert update["comment"]["author"] == {"name": "Provider"}
    assert update["order"]["latestComment"] == {"body": "Kick-off Monday"}
    await partner.close()
    await vendor.close()


async def test_without_a_valid_token_in_connection_init_the_connection_is_refused(live: Live) -> None:
    for payload, expected in (
        ({}, "connection_init"),
        ({"authorization": "Bearer not-a-token"}, "expired"),
        ({"token": ""}, "connection_init"),
    ):
        ws = await GraphQLWS.open(live.ws_url)
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403
        assert closed.value.rcvd.reason.startswith("Unauthenticated: ")
        assert expected in closed.value.rcvd.reason

    # a token sent on the handshake instead of in connection_init does not count
    headers = {"Authorization": f"Bearer {live.world['partner'].token}"}
    ws = await GraphQLWS.open(live.ws_url, additional_headers=headers)
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)

    # subscribing before connection_init is refused too (the protocol's 4401)
    ws = await GraphQLWS.open(live.ws_url)
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ORDER_UPDATED}}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    # and the token may also come as {"token": ...}
    client = await GraphQLWS.connect(live.ws_url, {"token": live.world["partner"].token})
    await client.close()


async def test_a_partner_never_receives_another_partners_orders(live: Live) -> None:
    # given partner2 watching its dashboard feed
    partner2 = await live.client("partner2")
    feed = await partner2.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)
    # when the partner's order is created, submitted, approved, worked and commented on
    theirs = await flat_fee_order(live, "Theirs")
    await live.gql("provider", STATUS_CHANGE, id=theirs, status="NOT_STARTED")
    await live.gql("partner", COMMENT, orderId=theirs, body="for the provider", visibility="SHARED")
    await live.gql("partner", RENAME, id=theirs, name="Theirs, renamed")
    # and then partner2 creates an order of its own
    service = to_global_id("Service", live.world.services["webinar"].id)
    mine = await live.gql("partner2", ORDER_CREATE, input={"kind": "FLAT_FEE", "name": "Mine", "serviceId": service})
    # then the first event partner2 receives is its own order's creation: the others were never sent
    update = (await partner2.next(feed, within=WITHIN))["orderUpdated"]
    assert update["change"] == "CREATED"
    assert update["order"]["id"] == mine["orderCreate"]["order"]["id"]
    assert update["order"]["partner"] == {"name": "Partner2 Ltd"}
    await partner2.nothing(feed)
    await partner2.close()


async def test_internal_comments_and_provider_notes_never_reach_the_wrong_side(live: Live) -> None:
    # given an order the provider works, followed by the partner (order and comments), the vendor and the provider
    order_id = await flat_fee_order(live)
    partner, vendor, provider = [await live.client(m) for m in ("partner", "vendor", "provider_colleague")]
    partner_feed = await partner.subscribe(ORDER_UPDATED)
    partner_one = await partner.subscribe(ORDER_UPDATED, id=order_id)
    partner_comments = await partner.subscribe(COMMENT_ADDED, orderId=order_id)
    vendor_feed = await vendor.subscribe(ORDER_UPDATED)
    provider_feed = await provider.subscribe(ORDER_UPDATED)
    await asyncio.sleep(0.1)

    # when the provider writes notes and comments internally
    await live.gql("provider", NOTES, id=order_id, notes="Partner is slow to pay")
    await live.gql("provider", COMMENT, orderId=order_id, body="internal: chase payment", visibility="INTERNAL")
    # then its own users see both, notes included
    private = [(await provider.next(provider_feed, within=WITHIN))["orderUpdated"] for _ in range(2)]
    assert [u["change"] for u in private] == ["FIELDS", "COMMENT"]
    assert private[0]["activity"]["after"] == {"provider_notes": "Partner is slow to pay"}
    assert private[1]["comment"]["visibility"] == "INTERNAL"
    assert all(u["order"]["providerNotes"] == "Partner is slow to pay" for u in private)

    # and even when those events' hints reach the other side's channels (a misrouted or forged hint),
    for update in private:
        hint = {
            "order_id": str(uuid_of(order_id)),
            "event_id": str(uuid_of(update["activity"]["id"])),
            "kind": update["activity"]["kind"],
            "subject_id": str(uuid_of(update["comment"]["id"])) if update["comment"] else None,
            "actor_user_id": None,
            "occurred_at": update["occurredAt"],
        }
        for channel in (f"org:{live.world.org_id('partner')}", f"vendor:{live.world.programme.id}"):
            await live.runtime.bus.publish(channel, hint)

    # and the provider then moves the order on and comments for everyone
    await live.gql("provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
    await live.gql("provider", COMMENT, orderId=order_id, body="Scheduled", visibility="SHARED")

    # then the partner's and the vendor's feeds receive those two first: notes and internal comment were skipped
    for client, op in ((partner, partner_feed), (partner, partner_one), (vendor, vendor_feed)):
        status = (await client.next(op, within=WITHIN))["orderUpdated"]
        assert status["change"] == "STATUS"
        assert status["order"]["providerNotes"] is None
        # the internal comment is never "latest" for them; events re-read the database when they are
        # processed, so under load the shared comment sent right after may already be the latest
        assert status["order"]["latestComment"] in (None, {"body": "Scheduled"})
        shared = (await client.next(op, within=WITHIN))["orderUpdated"]
        assert shared["change"] == "COMMENT"
        assert shared["comment"]["body"] == "Scheduled"
        assert shared["order"]["providerNotes"] is None
        await client.nothing(op)
    # and the partner's commentAdded receives only the shared comment
    assert (await partner.next(partner_comments, within=WITHIN))["commentAdded"]["body"] == "Scheduled"
    await partner.nothing(partner_comments)
    # while the provider's users receive both too, with the notes
    public = [(await provider.next(provider_feed, within=WITHIN))["orderUpdated"] for _ in range(2)]
    assert [u["change"] for u in public] == ["STATUS", "COMMENT"]
    assert all(u["order"]["providerNotes"] == "Partner is slow to pay" for u in public)
    for client in (partner, vendor, provider):
        await client.close()


async def test_one_edit_of_notes_and_estimate_is_one_live_update_for_each_side(live: Live) -> None:
    # given an order the provider works, followed by the provider's users, the partner and the vendor
    order_id = await flat_fee_order(live)
    clients = [await live.client(m) for m in ("provider", "provider_colleague", "partner", "vendor")]
    feeds = [(client, await client.subscribe(ORDER_UPDATED)) for client in clients]
    await asyncio.sleep(0.1)
    # when the provider edits its notes and the estimated completion in one orderUpdate, then moves the order on
    await live.gql("provider", NOTES_AND_ESTIMATE, id=order_id, notes="Chase the venue", estimate="2031-01-31")
    await live.gql("provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
    # then each subscriber receives one FIELDS update, with the notes for the provider's users only,
    # and the status change next (nothing else came in between)
    for index, (client, op) in enumerate(feeds):
        fields = (await client.next(op, within=WITHIN))["orderUpdated"]
        assert fields["change"] == "FIELDS"
        if index < 2:
            assert fields["activity"]["after"] == {
                "provider_notes": "Chase the venue",
                "estimated_completion": "2031-01-31",
            }
        else:
            assert fields["activity"]["after"] == {"estimated_completion": "2031-01-31"}
            assert fields["order"]["providerNotes"] is None
        assert (await client.next(op, within=WITHIN))["orderUpdated"]["change"] == "STATUS"
        await client.nothing(op)
    for client in clients:
        await client.close()


async def test_open_quote_requests_reach_every_provider_but_quotes_only_the_buyer_side(live: Live) -> None:
    # given both providers and the partner watching their feeds, and a quoted order open to every provider
    provider, provider2, partner = [await live.client(m) for m in ("provider", "provider2", "partner")]
    feeds = {c: await c.subscribe(ORDER_UPDATED) for c in (provider, provider2, partner)}
    await asyncio.sleep(0.1)
    created = await live.gql("partner", ORDER_CREATE, input={"kind": "QUOTED", "name": "Open request"})
    order_id = created["orderCreate"]["order"]["id"]
    assert (await partner.next(feeds[partner]))["orderUpdated"]["change"] == "CREATED"
    # when the partner submits it: then every provider learns of the request
    await live.gql("partner", STEP % "orderSubmit", id=order_id)
    for client in (provider, provider2, partner):
        update = (await client.next(feeds[client], within=WITHIN))["orderUpdated"]
        assert (update["change"], update["order"]["status"]) == ("STATUS", "PENDING_QUOTES")
    # when provider2 quotes: then the partner sees the quote, the competing provider nothing
    quote = await live.gql("provider2", QUOTE_SUBMIT, orderId=order_id)
    update = (await partner.next(feeds[partner], within=WITHIN))["orderUpdated"]
    assert update["change"] == "QUOTE"
    assert update["activity"]["kind"] == "QUOTE_SUBMITTED"
    assert (await provider2.next(feeds[provider2], within=WITHIN))["orderUpdated"]["change"] == "QUOTE"
    await provider.nothing(feeds[provider])
    assert quote["quoteSubmit"]["quote"]["id"]


# ---- leaving the view ------------------------------------------------------------------------


async def open_request(live: Live, name: str = "Open request", *, provider: str | None = None) -> str:
    """A submitted QUOTED order of the partner: open to every provider, or addressed to `provider`."""
    input: dict[str, Any] = {"kind": "QUOTED", "name": name}
    if provider is not None:
        input["providerId"] = to_global_id("Organisation", live.world.org_id(provider))
    created = await live.gql("partner", ORDER_CREATE, input=input)
    order_id: str = created["orderCreate"]["order"]["id"]
    await live.gql("partner", STEP % "orderSubmit", id=order_id)
    return order_id


def left_view_of(order_id: str) -> dict[str, Any]:
    """A LEFT_VIEW update as it must arrive: the order's ID and nothing else of it."""
    return {
        "change": "LEFT_VIEW",
        "orderId": order_id,
        "order": None,
        "activity": None,
        "actor": None,
        "comment": None,
        "quote": None,
    }


def without_time(update: dict[str, Any]) -> dict[str, Any]:
    assert update["occurredAt"]
    return {k: v for k, v in update.items() if k != "occurredAt"}


async def test_providers_that_lose_an_open_request_to_another_quote_are_told_it_left_their_view(live: Live) -> None:
    # given an open request both providers quoted on, and their feeds (one of them not asking for LEFT_VIEW)
    order_id = await open_request(live)
    quotes = {
        m: (await live.gql(m, QUOTE_SUBMIT, orderId=order_id))["quoteSubmit"]["quote"]["id"]
        for m in ("provider", "provider2")
    }
    loser, loser_plain, loser_one, winner, partner = [
        await live.client(m) for m in ("provider2", "provider2", "provider2", "provider", "partner")
    ]
    feeds = {
        loser: await loser.subscribe(LEFT_VIEW_FEED),
        loser_plain: await loser_plain.subscribe(ORDER_UPDATED),
        loser_one: await loser_one.subscribe(LEFT_VIEW_FEED, id=order_id),
        winner: await winner.subscribe(LEFT_VIEW_FEED),
        partner: await partner.subscribe(LEFT_VIEW_FEED),
    }
    await asyncio.sleep(0.1)
    # when the partner accepts the provider's quote (provider2's is closed), then opens another request
    await live.gql("partner", QUOTE_ACCEPT, id=quotes["provider"])
    other = await open_request(live, "Next request")
    # then provider2, asking for it, is told the order left its view: its ID, nothing else of it
    assert without_time((await loser.next(feeds[loser], within=WITHIN))["orderUpdated"]) == left_view_of(order_id)
    assert without_time((await loser_one.next(feeds[loser_one], within=WITHIN))["orderUpdated"]) == left_view_of(
        order_id
    )
    # and then only of the next request (nothing else of the order came in between)
    for client in (loser, loser_plain):
        update = (await client.next(feeds[client], within=WITHIN))["orderUpdated"]
        assert (update["change"], update["order"]["id"]) == ("STATUS", other)
    await loser_one.nothing(feeds[loser_one])
    # while the winner and the partner see the acceptance as before, with the order
    for client in (winner, partner):
        changes = [(await client.next(feeds[client], within=WITHIN))["orderUpdated"] for _ in range(2)]
        assert [(u["change"], u["order"]["id"], u["orderId"]) for u in changes] == [
            ("QUOTE", order_id, order_id),
            ("STATUS", order_id, order_id),
        ]
    # (the partner then sees its next request created and submitted, the winner that request submitted)
    assert (await winner.next(feeds[winner], within=WITHIN))["orderUpdated"]["order"]["id"] == other


async def test_an_open_request_cancelled_leaves_every_providers_view(live: Live) -> None:
    # given an open request nobody quoted on yet, followed by both providers
    order_id = await open_request(live)
    clients = [await live.client(m) for m in ("provider", "provider2")]
    feeds = [(client, await client.subscribe(LEFT_VIEW_FEED)) for client in clients]
    await asyncio.sleep(0.1)
    # when the partner cancels it
    await live.gql("partner", CANCEL, id=order_id, reason="Budget cut")
    # then each provider is told it left its view
    for client, op in feeds:
        assert without_time((await client.next(op, within=WITHIN))["orderUpdated"]) == left_view_of(order_id)
        await client.nothing(op)


async def test_only_who_could_see_the_order_is_told_it_left_even_on_forged_hints(live: Live) -> None:
    # given a request addressed to the provider only, followed by both providers
    order_id = await open_request(live, provider="provider")
    provider, provider2 = [await live.client(m) for m in ("provider", "provider2")]
    feeds = {provider: await provider.subscribe(LEFT_VIEW_FEED), provider2: await provider2.subscribe(LEFT_VIEW_FEED)}
    await asyncio.sleep(0.1)
    # when the partner cancels it, and the vendor then comments internally on it
    await live.gql("partner", CANCEL, id=order_id, reason="Budget cut")
    await live.gql("vendor", COMMENT, orderId=order_id, body="internal: the partner overspent", visibility="INTERNAL")
    # then the provider is told it left its view
    update = (await provider.next(feeds[provider], within=WITHIN))["orderUpdated"]
    assert without_time(update) == left_view_of(order_id)
    # and when the hints of the cancellation and of the internal comment reach the channels of both providers
    # (misrouted or forged), then neither says more: provider2 never saw the order, the comment is no departure
    activity = await live.gql("vendor", ACTIVITY, id=order_id)
    entries = {e["kind"]: e for e in activity["order"]["activity"]}
    for kind in ("STATUS_CHANGED", "COMMENT_ADDED"):
        hint = {
            "order_id": str(uuid_of(order_id)),
            "event_id": str(uuid_of(entries[kind]["id"])),
            "kind": kind,
            "subject_id": None,
            "actor_user_id": None,
            "occurred_at": entries[kind]["occurredAt"],
        }
        channels = [f"org:{live.world.org_id('provider2')}", f"providers:{live.world.programme.id}"]
        if kind == "COMMENT_ADDED":
            channels.append(f"org:{live.world.org_id('provider')}")
        for channel in channels:
            await live.runtime.bus.publish(channel, hint)
    # and the next thing either receives is the next request (the barrier)
    other = await open_request(live, "Next request")
    for client, op in feeds.items():
        update = (await client.next(op, within=WITHIN))["orderUpdated"]
        assert (update["change"], update["order"]["id"]) == ("STATUS", other), update


async def test_an_archived_order_stays_in_view_and_is_a_status_change(live: Live) -> None:
    # given a flat-fee order the provider completed, followed by it with LEFT_VIEW updates asked for
    order_id = await flat_fee_order(live)
    for status in ("NOT_STARTED", "COMPLETE"):
        await live.gql("provider", STATUS_CHANGE, id=order_id, status=status)
    client = await live.client("provider")
    op = await client.subscribe(LEFT_VIEW_FEED)
    await asyncio.sleep(0.1)
    # when it archives it, then that is a STATUS update with the order: archived orders stay visible
    await live.gql("provider", STEP % "orderArchive", id=order_id)
    update = (await client.next(op, within=WITHIN))["orderUpdated"]
    assert (update["change"], update["order"]) == ("STATUS", {"id": order_id, "status": "ARCHIVED"})


async def test_telling_a_group_the_order_left_is_one_statement_for_one_subscriber_or_three(live: Live) -> None:
    async def losing(subscribers: int) -> list[str]:
        """The statements of an acceptance provider2 loses, followed by `subscribers` of its users."""
        order_id = await open_request(live, f"Lost to {subscribers}")
        quote = await live.gql("provider", QUOTE_SUBMIT, orderId=order_id)
        clients = [await live.client("provider2") for _ in range(subscribers)]
        feeds = [(client, await client.subscribe(LEFT_VIEW_FEED)) for client in clients]
        await asyncio.sleep(0.1)
        with counting(live.runtime) as statements:
            await live.gql("partner", QUOTE_ACCEPT, id=quote["quoteSubmit"]["quote"]["id"])
            for client, op in feeds:
                assert (await client.next(op, within=WITHIN))["orderUpdated"]["change"] == "LEFT_VIEW"
        for client, op in feeds:
            await client.complete(op)
        await asyncio.sleep(0.1)
        return statements

    # given provider2's users following their feeds: one of them, then three (one group)
    alone, together = await losing(1), await losing(3)
    # then the departure is read once for the group, in one statement, however many follow it (the other
    # statements in the window are the mutation's and the in-process email relay's, which vary with timing)
    departures = [[s for s in run if "order_activity.id AS a_id" in s] for run in (alone, together)]
    assert [len(d) for d in departures] == [1, 1], departures


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


async def test_the_legacy_graphql_ws_protocol_authenticates_the_same_way(live: Live) -> None:
    subprotocols = [websockets.Subprotocol("graphql-ws")]
    # refused without a token: connection_error with the reason
    async with websockets.connect(live.ws_url, subprotocols=subprotocols) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        refused = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert refused["type"] == "connection_error"
        assert refused["payload"]["code"] == "UNAUTHENTICATED"
    # accepted with one, and events arrive
    order_id = await flat_fee_order(live)
    async with websockets.connect(live.ws_url, subprotocols=subprotocols) as ws:
        token = live.world["partner"].token
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        start = {"query": COMMENT_ADDED, "variables": {"orderId": order_id}}
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": start}))
        await asyncio.sleep(0.1)
        await live.gql("vendor", COMMENT, orderId=order_id, body="Approved, go ahead", visibility="SHARED")
        data = json.loads(await asyncio.wait_for(ws.recv(), WITHIN))
        assert data["type"] == "data"
        assert data["payload"]["data"]["commentAdded"]["body"] == "Approved, go ahead"


async def test_queries_over_the_websocket_see_fresh_data_each_time(live: Live) -> None:
    # given one connection that reads an order, then the order is renamed over HTTP
    order_id = await flat_fee_order(live, "Before")
    client = await live.client("partner")
    query = "query($id: ID!) { order(id: $id) { name } }"
    assert (await client.next(await client.subscribe(query, id=order_id)))["order"]["name"] == "Before"
    await live.gql("partner", RENAME, id=order_id, name="After")
    # when it reads the order again on the same connection: then no DataLoader cache outlived the first read
    assert (await client.next(await client.subscribe(query, id=order_id)))["order"]["name"] == "After"


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


@pytest.mark.redis
async def test_events_reach_subscribers_of_another_process_over_redis(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    # given two API servers on one database and one Redis (the scaled-out shape)
    if not REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("ORDERGRAPH_REQUIRE_SERVICES=1 but ORDERGRAPH_TEST_REDIS_URL is not set")
        pytest.skip("needs ORDERGRAPH_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/0 (bash .ci/run sets it)")
    first, second = (app_for(database_url, tmp_path / "files", ORDERGRAPH_BROADCAST_URL=REDIS_URL) for _ in "12")
    # Dramatiq's broker is process-global: one in-process notification worker per process, as in production.
    second.state.runtime.notifier = None
    world = await build_world(first.state.runtime.ports)
    async with live_on(first, world) as one, live_on(second, world) as other:
        order_id = await flat_fee_order(other)
        partner = await one.client("partner")
        partner2 = await one.client("partner2")
        feed, feed2 = await partner.subscribe(ORDER_UPDATED), await partner2.subscribe(ORDER_UPDATED)
        await asyncio.sleep(0.2)
        # when the provider works the order through the other server: then the subscriber gets it
        update = await timed(other, partner, feed, "provider", STATUS_CHANGE, id=order_id, status="NOT_STARTED")
        assert update["orderUpdated"]["order"]["status"] == "NOT_STARTED"
        # and the other partner still nothing
        await partner2.nothing(feed2)


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


def test_latencies_are_reported() -> None:
    """Not a check: prints the latencies measured so far (run with -s)."""
    if LATENCIES:
        answered, received = (sorted(1000 * t[i] for t in LATENCIES) for i in (0, 1))
        middle = len(received) // 2
        print(
            f"\nmutation sent -> answered: median {answered[middle]:.1f} ms, max {answered[-1]:.1f} ms; "
            f"mutation sent -> event received: median {received[middle]:.1f} ms, max {received[-1]:.1f} ms "
            f"(n={len(received)})"
        )
