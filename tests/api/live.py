"""Live subscriptions for the tests: uvicorn on a real socket, a graphql-transport-ws client over `websockets`.

The server runs in-process (uvicorn.Server on a free port, lifespan on, so the event bus is the real
BroadcastEventBus on memory://); the client speaks the protocol by hand: connection_init, subscribe,
next, error, complete. Mutations go over HTTP to the same server. The `live` fixture (tests/api/conftest.py)
serves the application this way.

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
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection

from ordergraph.app import Runtime
from ordergraph.fanout import FanOut
from schema.common import parse_global_id, to_global_id
from tests.api.world import World

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


async def until(condition: Callable[[], bool], seconds: float) -> float:
    """Wait until condition() is true; how long it took (fails the test after `seconds`)."""
    start = time.monotonic()
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110  # polls a property; no event to wait on
            await asyncio.sleep(0.01)
    return time.monotonic() - start


def uuid_of(global_id: str) -> UUID:
    return parse_global_id(global_id)[1]
