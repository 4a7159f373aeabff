"""Benchmark: one user's flood of live subscriptions does not slow another organisation, and ends with it.

    uv run python bench/flood.py [--connections 20] [--subscriptions 20] [--queries 200] [--comments 5]

Serves the demo (`ordergraph serve --demo`, SQLite in a temporary folder) on CPU 0, with its default
live quotas (with --admit-all: raised to admit the whole flood), and from this process on CPU 1:

1. quiet: a user of Summit Cloud Partners runs --queries plain queries (a page of orders), four at a
   time; prints p50 and p99;
2. flood: a user of Bluefin IT Solutions opens --connections WebSocket connections with
   --subscriptions distinct subscriptions each on one of its orders and posts --comments comments,
   while the other user runs the same queries again; prints p50, p99, failures, and p99 / quiet p99
   (the bar: within 3x);
3. gone: every flood client closes; prints how long the server took to be idle again (under 5 % of
   a core over 0.5 s; the bar: within 2 s of the last disconnect).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.harness import cpu_ns, pct, served_demo
from ordergraph.demo.cast import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
PORT = 8502
URL = f"http://127.0.0.1:{PORT}"
WS_URL = f"ws://127.0.0.1:{PORT}/graphql"
FLOODER, OTHER = "daniel@bluefin-it.example", "grace@summitcloud.example"
SIGN_IN = "mutation($e: String!, $p: String!) { tokenCreate(input: {email: $e, password: $p}) { token } }"
PAGE = "{ orders(first: 20) { edges { node { id name status partner { name } latestComment { body } } } } }"
FIRST_ORDER = "{ orders(first: 1) { edges { node { id } } } }"
COMMENT = """mutation($id: ID!, $body: String!) {
  commentCreate(input: {orderId: $id, body: $body, visibility: SHARED}) { comment { id } }
}"""
SUBSCRIPTION = """subscription($id: ID) {
  %s: orderUpdated(id: $id) {
    change occurredAt
    order { id name status version partner { name } provider { name } latestComment { body } }
    activity { id kind } actor { name } comment { id body author { name } }
  }
}"""
IDLE_SHARE, IDLE_WINDOW = 0.05, 0.5


async def token_of(http: httpx.AsyncClient, email: str) -> str:
    response = await http.post("/graphql", json={"query": SIGN_IN, "variables": {"e": email, "p": DEMO_PASSWORD}})
    token: str = response.json()["data"]["tokenCreate"]["token"]
    return token


async def queries(http: httpx.AsyncClient, token: str, count: int) -> tuple[list[float], list[str]]:
    """Latencies of `count` page queries, four at a time, and what went wrong."""
    latencies: list[float] = []
    failures: list[str] = []

    async def one() -> None:
        started = time.perf_counter()
        response = await http.post("/graphql", json={"query": PAGE}, headers={"Authorization": f"Bearer {token}"})
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or "errors" in response.json():
            failures.append(f"{response.status_code}: {response.text[:160]}")

    for _ in range(count // 4):
        await asyncio.gather(*(one() for _ in range(4)))
    return latencies, failures


async def flood_client(token: str, index: int, subscriptions: int, order_id: str) -> Any:
    """A connection with its subscriptions sent; None when the server refused the connection (a quota)."""
    ws = await websockets.connect(WS_URL, subprotocols=[websockets.Subprotocol("graphql-transport-ws")])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    try:
        ack = json.loads(await ws.recv())
    except websockets.ConnectionClosed:
        return None
    assert ack["type"] == "connection_ack", ack
    for s in range(subscriptions):
        payload = {"query": SUBSCRIPTION % f"c{index}s{s}", "variables": {"id": order_id}}
        await ws.send(json.dumps({"id": str(s), "type": "subscribe", "payload": payload}))
    return ws


async def drain(ws: Any, received: list[int], refused: list[int]) -> None:
    try:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "next":
                received[0] += 1
            elif message.get("type") == "error":  # past a quota
                refused[0] += 1
    except websockets.ConnectionClosed:
        return


def summary(label: str, latencies: list[float]) -> str:
    return (
        f"{label}: {len(latencies)} queries, p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {pct(latencies, 99) * 1000:.1f} ms"
    )


def idle_after(pid: int, since: float, within: float = 30) -> float:
    """Seconds from `since` to the end of the first IDLE_WINDOW in which the server used under IDLE_SHARE of a core."""
    while time.perf_counter() - since < within:
        before, started = cpu_ns(pid), time.perf_counter()
        time.sleep(IDLE_WINDOW)
        share = (cpu_ns(pid) - before) / 1e9 / (time.perf_counter() - started)
        if share < IDLE_SHARE:
            return time.perf_counter() - since
    raise SystemExit(f"the server was still busy {within} s after the last disconnect")


async def run(args: argparse.Namespace, pid: int) -> None:
    async with httpx.AsyncClient(base_url=URL, timeout=120) as http:
        flooder, other = await token_of(http, FLOODER), await token_of(http, OTHER)
        first = await http.post("/graphql", json={"query": FIRST_ORDER}, headers={"Authorization": f"Bearer {flooder}"})
        order_id = first.json()["data"]["orders"]["edges"][0]["node"]["id"]
        await queries(http, other, 40)  # warm
        quiet, quiet_failures = await queries(http, other, args.queries)
        print(summary("quiet", quiet), f"failures {len(quiet_failures)}")

        opened = await asyncio.gather(
            *(flood_client(flooder, c, args.subscriptions, order_id) for c in range(args.connections))
        )
        clients = [ws for ws in opened if ws is not None]
        received, refused = [0], [0]
        drains = [asyncio.create_task(drain(ws, received, refused)) for ws in clients]
        await asyncio.sleep(2)  # every subscription listening
        admitted = len(clients) * args.subscriptions - refused[0]
        print(
            f"flood: {len(clients)} of {args.connections} connections and {admitted} of "
            f"{args.connections * args.subscriptions} subscriptions admitted"
            + ("" if args.admit_all else " (the default quotas)")
        )

        async def comments() -> None:
            for n in range(args.comments):
                headers = {"Authorization": f"Bearer {flooder}"}
                variables = {"id": order_id, "body": f"Flood {n}"}
                await http.post("/graphql", json={"query": COMMENT, "variables": variables}, headers=headers)
                await asyncio.sleep(0.5)

        flood_started = time.perf_counter()
        commenting = asyncio.create_task(comments())
        flooded, failures = await queries(http, other, args.queries)
        await commenting
        print(summary("during the flood", flooded), f"failures {len(failures)}", *failures[:3])
        print(f"  p99 during / quiet: {pct(flooded, 99) / pct(quiet, 99):.2f} (bar: within 3x)")
        expected = admitted * args.comments
        print(f"  flood events received by then: {received[0]} of {expected}")
        while received[0] < expected and time.perf_counter() - flood_started < 120:  # noqa: ASYNC110 (a count)
            await asyncio.sleep(0.05)
        took = time.perf_counter() - flood_started
        print(f"  all {received[0]} flood events received {took:.1f} s after the first comment")

        for ws in clients:
            await ws.close()
        gone = time.perf_counter()
        await asyncio.gather(*drains)
        print(f"idle by {idle_after(pid, gone):.2f} s after the last disconnect (bar: within 2 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--subscriptions", type=int, default=20, help="per connection (default 20)")
    parser.add_argument("--queries", type=int, default=200, help="of the other user, per phase (default 200)")
    parser.add_argument("--comments", type=int, default=5)
    parser.add_argument(
        "--admit-all", action="store_true", help="raise the live quotas so that the whole flood is admitted"
    )
    args = parser.parse_args()
    settings = {
        # the other user's client asks as fast as it is answered: far beyond what people spend
        "ORDERGRAPH_COST_BUDGET": str(10**9),
        "ORDERGRAPH_COST_RESTORE_RATE": str(10**9),
    }
    if args.admit_all:
        settings["ORDERGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION"] = str(max(1, args.subscriptions))
        settings["ORDERGRAPH_LIVE_CONNECTIONS_PER_USER"] = str(max(1, args.connections))
        settings["ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_USER"] = str(max(1, args.connections * args.subscriptions))
    with served_demo(PORT, settings) as pid:
        asyncio.run(run(args, pid))


if __name__ == "__main__":
    main()
