"""A graphql-transport-ws client over a real WebSocket (`websockets`), and a GraphQL-over-HTTP client.

Shared by the scaled-out tests (tests/scaled/) and the fan-out benchmark (bench/fanout.py); it
speaks the protocol the way the API tests' client (tests/api/live.py) does (connection_init with the bearer
token, subscribe, next / error / complete, pong to ping), and adds what those two need:

- every message is stamped with `time.perf_counter()` the moment it is read off the socket, so a
  latency is "received" minus "sent" with no queueing in the test in between;
- the end of the connection is recorded (close code and reason), so "the server closed it" and
  "nothing happened" can be told apart within a timeout;
- an optional `on_message` callback instead of queues, for a fleet of a thousand clients.

Every wait takes a timeout; nothing here blocks forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

PROTOCOL = "graphql-transport-ws"

OnMessage = Callable[[str, dict[str, Any], float], None]
"""(operation id, protocol message, perf_counter when it was read) for every message that has an id."""


@dataclass(frozen=True, slots=True)
class Received:
    """One protocol message of a subscription and when it was read off the socket."""

    message: dict[str, Any]
    at: float

    @property
    def type(self) -> str:
        return str(self.message["type"])

    @property
    def errors(self) -> list[dict[str, Any]]:
        payload = self.message.get("payload")
        if self.type == "error":  # graphql-transport-ws: the payload of "error" is the list of errors
            return list(payload or [])
        return list((payload or {}).get("errors") or []) if isinstance(payload, dict) else []

    @property
    def codes(self) -> list[str | None]:
        return [(error.get("extensions") or {}).get("code") for error in self.errors]


@dataclass
class Closed:
    """How the connection ended."""

    at: float
    code: int | None
    reason: str


@dataclass
class LiveClient:
    """One graphql-transport-ws connection; several subscriptions routed by id."""

    ws: ClientConnection
    on_message: OnMessage | None = None
    inbox: dict[str, asyncio.Queue[Received]] = field(default_factory=dict)
    closed: asyncio.Future[Closed] = field(init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _reader: asyncio.Task[None] = field(init=False)

    def __post_init__(self) -> None:
        self.closed = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        url: str,
        token: str | None,
        *,
        within: float = 10.0,
        on_message: OnMessage | None = None,
        **kwargs: Any,
    ) -> LiveClient:
        """Open, send connection_init with `token`, and wait for connection_ack (each within `within` seconds)."""
        ws = await asyncio.wait_for(
            websockets.connect(
                url,
                subprotocols=[websockets.Subprotocol(PROTOCOL)],
                compression=None,
                open_timeout=within,
                close_timeout=2,
                max_queue=None,
                **kwargs,
            ),
            within,
        )
        try:
            payload = {"authorization": f"Bearer {token}"} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), within))
        except BaseException:
            await ws.close()
            raise
        if ack.get("type") != "connection_ack":
            await ws.close()
            raise AssertionError(f"expected connection_ack, got {ack}")
        return cls(ws, on_message)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                at = time.perf_counter()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                    continue
                op = message.get("id")
                if op is None:
                    continue
                if self.on_message is not None:
                    self.on_message(op, message, at)
                else:
                    self.inbox.setdefault(op, asyncio.Queue()).put_nowait(Received(message, at))
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self.closed.done():  # close_code: the code received, 1006 when the connection just dropped
                self.closed.set_result(Closed(time.perf_counter(), self.ws.close_code, self.ws.close_reason or ""))

    async def subscribe(self, query: str, **variables: Any) -> str:
        """Start an operation; its id."""
        op = str(next(self._ids))
        self.inbox.setdefault(op, asyncio.Queue())
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))
        return op

    async def receive(self, op: str, within: float = 5.0) -> Received:
        """The next message (next, error or complete) of `op`; TimeoutError after `within` seconds."""
        return await asyncio.wait_for(self.inbox[op].get(), within)

    async def next(self, op: str, within: float = 5.0) -> dict[str, Any]:
        """The data of the next `next` message of `op` (fails on errors or anything else)."""
        received = await self.receive(op, within)
        assert received.type == "next" and not received.errors, received.message
        data: dict[str, Any] = received.message["payload"]["data"]
        return data

    async def nothing(self, op: str, wait: float) -> None:
        """Assert that `op` receives nothing for `wait` seconds."""
        await asyncio.sleep(wait)
        assert self.inbox[op].empty(), self.inbox[op].get_nowait().message

    async def complete(self, op: str) -> None:
        await self.ws.send(json.dumps({"id": op, "type": "complete"}))

    async def close(self) -> None:
        """Close (idempotent); waits for the reader, at most a few seconds."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        if not self._reader.done():
            self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader


class GraphQLHttp:
    """GraphQL over HTTP with a bearer token: `await gql(token, query, **variables)`."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def raw(self, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def __call__(self, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
        """The data of an operation that succeeded: fails on errors and on userErrors."""
        body = await self.raw(token, query, **variables)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        for payload in data.values():
            assert not (payload or {}).get("userErrors"), payload
        return data

    async def aclose(self) -> None:
        await self.http.aclose()
