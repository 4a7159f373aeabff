"""The fan-out benchmark's client side, in processes of their own (bench/fanout.py starts and drives them).

    python bench/fanout_fleet.py fleet HOST:PORT CPU       # a share of the subscriber fleet
    python bench/fanout_fleet.py publisher HOST:PORT CPU   # the fake publisher of the fleet's ceiling

Each process pins itself to CPU, runs on uvloop, reads the authkey (hex) as one line on stdin, and
connects back to the coordinator's multiprocessing.connection.Listener at HOST:PORT; then it serves
the coordinator's commands until told to exit or the connection ends. This module imports only the
WebSocket client (tests/live_client.py), not the application, so that a fleet process starts in
about a second.

- fleet: `connect` (url, tokens, first, n, concurrency) opens n graphql-transport-ws connections
  with one dashboard subscription each; `arm` (name) starts collecting the next event's copies;
  `collect` (until) answers with their receive times (time.perf_counter, CLOCK_MONOTONIC: one
  clock for every process) once all are in or at `until`; `close` closes the connections.
- publisher: a bare graphql-transport-ws server (acks, records subscriptions, answers pings) on a
  free port, which it sends first; each `publish` (name) broadcasts one ready-made `next` message
  of the dashboard selection's shape to every subscriber (no database, no GraphQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
import time
from multiprocessing.connection import Client, Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop
import websockets
from websockets.asyncio.server import ServerConnection, broadcast, serve

from tests.live_client import PROTOCOL, LiveClient

DASHBOARD = """
subscription Dashboard {
  orderUpdated {
    change
    occurredAt
    actor { name }
    order { id number name status lastActivityAt latestComment { body } }
    activity { kind before after }
    comment { body author { name } }
  }
}"""


# ---- one fleet process -----------------------------------------------------------------------


async def receive(pipe: Connection) -> Any:
    """The next object on a multiprocessing pipe, without blocking the event loop."""
    loop = asyncio.get_running_loop()
    while not pipe.poll():
        readable: asyncio.Future[None] = loop.create_future()

        def wake(future: asyncio.Future[None] = readable) -> None:
            if not future.done():
                future.set_result(None)

        loop.add_reader(pipe.fileno(), wake)
        try:
            await readable
        finally:
            loop.remove_reader(pipe.fileno())
    return pipe.recv()


@dataclasses.dataclass
class Share:
    """What one fleet process has of the event in flight: the name to look for, and when each copy came."""

    name: str = ""
    expected: int = 0
    arrivals: list[float] = dataclasses.field(default_factory=list)
    others: int = 0
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    complete: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


class Fleet:
    """A fleet process's connections, one dashboard subscription each; routes every `next` to the share."""

    def __init__(self) -> None:
        self.clients: list[LiveClient] = []
        self.share = Share()

    def on_message(self, _op: str, message: dict[str, Any], at: float) -> None:
        current = self.share
        if message.get("type") != "next" or message.get("payload", {}).get("errors"):
            current.errors.append(message)
            return
        order = ((message["payload"].get("data") or {}).get("orderUpdated") or {}).get("order") or {}
        if order.get("name") != current.name:
            current.others += 1  # a late warm-up event
            return
        current.arrivals.append(at)
        if len(current.arrivals) == current.expected:
            current.complete.set()

    async def connect(self, url: str, tokens: list[str], first: int, n: int, concurrency: int) -> float:
        gate = asyncio.Semaphore(concurrency)
        started = time.perf_counter()

        async def one(i: int) -> None:
            async with gate:
                token = tokens[i % len(tokens)] if tokens else None
                client = await LiveClient.connect(url, token, within=60, on_message=self.on_message)
                self.clients.append(client)
                await client.subscribe(DASHBOARD)

        await asyncio.gather(*(one(first + i) for i in range(n)))
        return time.perf_counter() - started

    async def close(self, concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(client: LiveClient) -> None:
            async with gate:
                await client.close()

        await asyncio.gather(*(one(c) for c in self.clients))
        self.clients.clear()

    async def collect(self, until: float) -> tuple[list[float], int, list[dict[str, Any]]]:
        """This process's arrivals of the current event, once all are in or at `until` (perf_counter)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.share.complete.wait(), max(0.0, until - time.perf_counter()))
        errors = self.share.errors  # the first few in full; the rest only counted (pipes carry them)
        return self.share.arrivals, self.share.others, errors[:5] + [{}] * max(0, len(errors) - 5)


async def fleet_main(pipe: Connection) -> None:
    """Serve the coordinator's commands: connect, arm, collect, close, exit."""
    fleet = Fleet()
    while True:
        command, *rest = await receive(pipe)
        if command == "connect":
            pipe.send(await fleet.connect(*rest))
        elif command == "arm":  # the next event's name and how many copies this process should see
            fleet.share = Share(name=rest[0], expected=len(fleet.clients))
            if not fleet.clients:
                fleet.share.complete.set()
            pipe.send(len(fleet.clients))
        elif command == "collect":
            pipe.send(await fleet.collect(rest[0]))
        elif command == "close":
            await fleet.close(rest[0])
            pipe.send(True)
        else:
            return


# ---- the fleet's ceiling: a fake publisher ----------------------------------------------------


def sample_event(name: str) -> dict[str, Any]:
    """An orderUpdated payload of the dashboard selection's shape and size."""
    return {
        "orderUpdated": {
            "change": "FIELDS",
            "occurredAt": "2026-12-02T10:00:00.000000+00:00",
            "actor": {"name": "Daniel Okafor"},
            "order": {
                "id": "T3JkZXI6YWE3YTEwZjktOTU2OC00ZDJhLTkzMGEtZWIwZTY2NGMwZTlh",
                "number": 185,
                "name": name,
                "status": "PENDING_APPROVAL",
                "lastActivityAt": "2026-12-02T10:00:00.000000+00:00",
                "latestComment": {"body": "Please use our logo and the co-branded landing page."},
            },
            "activity": {"kind": "FIELDS_CHANGED", "before": '{"name": "before"}', "after": f'{{"name": "{name}"}}'},
            "comment": None,
        }
    }


async def fake_publisher_main(pipe: Connection) -> None:
    subscriptions: dict[ServerConnection, str] = {}

    async def handler(ws: ServerConnection) -> None:
        try:
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "connection_init":
                    await ws.send('{"type": "connection_ack"}')
                elif kind == "subscribe":
                    subscriptions[ws] = message["id"]
                elif kind == "ping":
                    await ws.send('{"type": "pong"}')
        except websockets.ConnectionClosed:
            pass
        finally:
            subscriptions.pop(ws, None)

    protocols = [websockets.Subprotocol(PROTOCOL)]
    async with serve(handler, "127.0.0.1", 0, subprotocols=protocols, compression=None, max_queue=None) as server:
        pipe.send(next(iter(server.sockets)).getsockname()[1])
        while True:
            command, *rest = await receive(pipe)
            if command != "publish":
                return
            by_op: dict[str, list[ServerConnection]] = {}
            for ws, op in subscriptions.items():
                by_op.setdefault(op, []).append(ws)
            data = sample_event(rest[0])
            for op, sockets in by_op.items():
                broadcast(sockets, json.dumps({"id": op, "type": "next", "payload": {"data": data}}))
            pipe.send(len(subscriptions))


def main() -> int:
    role, address, cpu = sys.argv[1:4]
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {int(cpu)})
    host, port = address.rsplit(":", 1)
    pipe = Client((host, int(port)), authkey=bytes.fromhex(sys.stdin.readline().strip()))
    with contextlib.suppress(KeyboardInterrupt, EOFError, ConnectionError):
        uvloop.run(fleet_main(pipe) if role == "fleet" else fake_publisher_main(pipe))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
