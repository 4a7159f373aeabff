"""Benchmark: live fan-out through the real servers, measured at real WebSocket clients.

    uv run python bench/fanout.py [--subscribers 100,1000] [--modes memory,redis] [--events 20]
    uv run --with pyinstrument python bench/fanout.py --modes memory --subscribers 1000 --profile var/profile

For each configuration, `ordergraph serve --no-migrate` processes are started on a fresh
PostgreSQL database (ORDERGRAPH_TEST_POSTGRES_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/test;
created and dropped here) with the API tests' small world:

- memory: one process (ORDERGRAPH_BROADCAST_URL=memory://); mutations and subscribers on it;
- redis:  two processes on a throwaway redis-server (never the shared 6379); mutations on A,
          every subscriber on B.

Servers are pinned to CPU 0, this process (the client fleet) to CPU 1; PostgreSQL and Redis are
not pinned. The fleet is N graphql-transport-ws connections (`websockets`, opened at most
--connect-concurrency at a time), one subscription each: partner users following their dashboard
feed with the README's selection (orderUpdated: the order, the activity, the actor, the comment).

One event = the partner renames an order (one HTTP mutation, a FIELDS change: no email). Each
delivery's latency is measured, with one clock (CLOCK_MONOTONIC is shared by the processes), to the
moment its `next` message is read off that subscriber's socket from two starts:

- "from the mutation": just before the mutation is sent, so the write and its commit are included;
- "from publish": the moment the server that ran the mutation publishes the event's hint, as
  bench/fanout_server.py (the real server, its hint publisher wrapped) prints it in its log.

The subscribers are two partner users (of different roles): one live audience, so every event is
read and executed once, then sent to every socket (ordergraph/fanout.py). Warm-up events run until
one reaches every subscriber (the subscriptions are then in place), at least --warm-up of them; the
measured events follow, one at a time, each waiting for all N deliveries (or --event-timeout).
Prints p50/p99/max per configuration.

With --profile DIR, the subscribers' server (memory: the one; redis: B) runs under pyinstrument;
its text report (whole process life, the measured events dominate) is written to DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from tests.api.world import World  # noqa: E402
from tests.live_client import LiveClient  # noqa: E402
from tests.scaled.cluster import (  # noqa: E402
    RENAME,
    SECRET_KEY,
    Api,
    ThrowawayRedis,
    flat_fee_order,
    fresh_postgres,
    seed,
)

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

SERVER_CPU, CLIENT_CPU = 0, 1
SUBSCRIBERS = ("partner", "partner_colleague")  # one organisation: every subscriber sees every rename


@dataclasses.dataclass
class Round:
    """One event in flight: which name to look for, when it was sent, and who has it."""

    name: str = ""
    sent: float = 0.0
    answered: float = 0.0
    published: float | None = None
    latencies: list[float] = dataclasses.field(default_factory=list)
    others: int = 0
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    expected: int = 0
    complete: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


class Fleet:
    """N connections with one dashboard subscription each; routes every `next` to the current round."""

    def __init__(self) -> None:
        self.clients: list[LiveClient] = []
        self.round = Round()

    def on_message(self, _op: str, message: dict[str, Any], at: float) -> None:
        current = self.round
        if message.get("type") != "next" or message.get("payload", {}).get("errors"):
            current.errors.append(message)
            return
        order = ((message["payload"].get("data") or {}).get("orderUpdated") or {}).get("order") or {}
        if order.get("name") != current.name:
            current.others += 1  # a late warm-up event
            return
        current.latencies.append(at - current.sent)
        if len(current.latencies) == current.expected:
            current.complete.set()

    async def connect(self, url: str, tokens: list[str], n: int, concurrency: int) -> float:
        gate = asyncio.Semaphore(concurrency)
        started = time.perf_counter()

        async def one(i: int) -> None:
            async with gate:
                client = await LiveClient.connect(url, tokens[i % len(tokens)], within=60, on_message=self.on_message)
                self.clients.append(client)
                await client.subscribe(DASHBOARD)

        await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - started

    async def close(self, concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(client: LiveClient) -> None:
            async with gate:
                await client.close()

        await asyncio.gather(*(one(c) for c in self.clients))
        self.clients.clear()

    async def event(self, api: Api, token: str, order_id: str, name: str, within: float) -> Round:
        """Rename the order through `api` and wait for every subscriber's `next` (at most `within` seconds)."""
        current = Round(name=name, expected=len(self.clients))
        self.round = current
        current.sent = time.perf_counter()
        await api.gql(token, RENAME, id=order_id, name=name)
        current.answered = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(current.complete.wait(), within)
        stamps = [at for at in published_at(api) if at >= current.sent]
        current.published = min(stamps) if stamps else None
        return current


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclasses.dataclass
class Result:
    label: str
    subscribers: int
    events: int
    latencies: list[float]
    missing: int
    spread: list[float]  # per event: first to last delivery (s)
    connect_s: float
    warmups: int
    errors: int
    event_p50: list[float]  # per event, in order (ms): does it drift as the order's timeline grows?
    after_publish: list[float]  # redis mode: each delivery's latency from the observed publish
    mutation: list[float]  # per event: the mutation's own round trip (s)
    publish_p99: list[float]  # per event: p99 from publish (ms)

    def row(self) -> str:
        rate = statistics.mean(self.subscribers / s for s in self.spread if s > 0) if self.spread else 0.0
        published = (
            f"{pct(self.after_publish, 0.5):.1f} | {pct(self.after_publish, 0.99):.1f}"
            if self.after_publish
            else "- | -"
        )
        return (
            f"| {self.label} | {self.subscribers:,} | {self.events} | {pct(self.latencies, 0.5):.1f} "
            f"| {pct(self.latencies, 0.99):.1f} | {1000 * max(self.latencies or [float('nan')]):.1f} "
            f"| {published} | {pct(self.mutation, 0.5):.1f} "
            f"| {self.missing} | {self.errors} | {rate:,.0f} | {self.connect_s:.1f} "
            f"| {self.event_p50[0]:.0f} -> {self.event_p50[-1]:.0f} |"
        )


HEADER = (
    "| configuration | subscribers | events | p50 ms | p99 ms | max ms | p50 from publish | p99 from publish "
    "| mutation p50 ms | missing | errors | deliveries/s | connect s | p50 first -> last event |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


_READ: dict[Path, int] = {}


def published_at(api: Api) -> list[float]:
    """The publish times the server printed (bench/fanout_server.py) since the previous call."""
    with api.log_path.open("rb") as log:
        log.seek(_READ.get(api.log_path, 0))
        data = log.read()
    whole = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next call
    _READ[api.log_path] = _READ.get(api.log_path, 0) + len(whole)
    return [float(line.split()[2]) for line in whole.splitlines() if line.startswith(b"PUBLISHED ")]


def server(name: str, env: dict[str, str], logs: Path, profile: Path | None) -> Api:
    api = Api(name, env, logs)
    # the real server, printing when it publishes each hint: `python -m ordergraph.cli ...` -> fanout_server.py
    assert api.argv[1:3] == ["-m", "ordergraph.cli"], api.argv
    argv = [api.argv[0], str(Path(__file__).with_name("fanout_server.py")), *api.argv[3:]]
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        session = profile / f"{name}.pyisession"
        # the script and its arguments follow pyinstrument's own options
        argv = [argv[0], "-m", "pyinstrument", "--renderer", "session", "-o", str(session), *argv[1:]]
    if shutil.which("taskset"):
        argv = ["taskset", "-c", str(SERVER_CPU), *argv]
    api.argv = argv
    return api


async def run_config(
    label: str,
    mutations: Api,
    subscribers: Api,
    world: World,
    n: int,
    args: argparse.Namespace,
) -> Result:
    # a new order each time: every event re-reads the order's whole timeline, which grows by one per event
    order_id = await flat_fee_order(mutations, world, f"Fan-out {label} {n}")
    fleet = Fleet()
    tokens = [world[m].token for m in SUBSCRIBERS]
    try:
        connect_s = await fleet.connect(subscribers.ws_url, tokens, n, args.connect_concurrency)
        # warm up until an event reaches every subscriber (their bus subscriptions are in place), and for
        # at least --warm-up events (the first readings fill the statement and plan caches)
        warmups = 0
        deadline = time.monotonic() + 60
        while True:
            warmups += 1
            got = await fleet.event(mutations, world["partner"].token, order_id, f"warm-up {n}-{warmups}", 10)
            if (len(got.latencies) == n and warmups >= args.warm_up) or time.monotonic() > deadline:
                break
        await asyncio.sleep(1.0)
        latencies: list[float] = []
        spread: list[float] = []
        event_p50: list[float] = []
        after_publish: list[float] = []
        mutation: list[float] = []
        publish_p99: list[float] = []
        missing = errors = 0
        for k in range(args.events):
            name = f"{label} {n} #{k}"
            got = await fleet.event(mutations, world["partner"].token, order_id, name, args.event_timeout)
            latencies += got.latencies
            mutation.append(got.answered - got.sent)
            if got.published is not None:
                these = [latency - (got.published - got.sent) for latency in got.latencies]
                after_publish += these
                publish_p99.append(pct(these, 0.99))
            missing += n - len(got.latencies)
            errors += len(got.errors)
            if got.latencies:
                spread.append(max(got.latencies) - min(got.latencies))
                event_p50.append(pct(got.latencies, 0.5))
            await asyncio.sleep(args.pause)
        return Result(
            label,
            n,
            args.events,
            latencies,
            missing,
            spread,
            connect_s,
            warmups,
            errors,
            event_p50,
            after_publish,
            mutation,
            publish_p99,
        )
    finally:
        await fleet.close(args.connect_concurrency)


async def run_mode(mode: str, database_url: str, world: World, tmp: Path, args: argparse.Namespace) -> list[Result]:
    redis = ThrowawayRedis() if mode == "redis" else None
    servers: list[Api] = []
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ORDERGRAPH_") and k != "DATABASE_URL"},
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url,
            "ORDERGRAPH_FILES_DIR": str(tmp / "files"),
            "ORDERGRAPH_SECRET_KEY": SECRET_KEY,
            "ORDERGRAPH_GRAPHIQL": "false",
            "ORDERGRAPH_BROADCAST_URL": "memory://",
        }
        if redis is not None:
            redis.start()
            env |= {"ORDERGRAPH_BROADCAST_URL": redis.url, "ORDERGRAPH_BROKER_URL": redis.url}
            a = server(f"{mode}-a", env, tmp, None)
            b = server(f"{mode}-b", env, tmp, args.profile)
            servers += [a, b]
        else:
            a = b = server(f"{mode}-one", env, tmp, args.profile)
            servers.append(a)
        for s in servers:
            s.start()
        await asyncio.gather(*(s.ready(60) for s in servers))
        label = "memory://, one process" if mode == "memory" else "redis://, A -> B"
        results = []
        for n in args.subscribers:
            result = await run_config(label, a, b, world, n, args)
            print(f"{result.row()}  (warm-up events: {result.warmups})", flush=True)
            if args.per_event:
                print("    p50 per event (ms): " + " ".join(f"{v:.0f}" for v in result.event_p50), flush=True)
                print(
                    "    mutation per event (ms): " + " ".join(f"{1000 * v:.0f}" for v in result.mutation), flush=True
                )
            results.append(result)
        return results
    finally:
        for s in servers:
            # uvicorn re-raises SIGTERM once shut down, which would kill pyinstrument before it writes
            # its report; SIGINT ends in a KeyboardInterrupt it survives.
            if s.alive and args.profile is not None and s.process is not None:
                s.process.send_signal(signal.SIGINT)
                deadline = time.monotonic() + 120
                while s.alive and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a child process
                    await asyncio.sleep(0.1)
            await s.stop(grace=30)
            await s.gql.aclose()
        if redis is not None:
            redis.kill()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", default="100,1000", help="comma-separated fleet sizes (default 100,1000)")
    parser.add_argument("--modes", default="memory,redis", help="memory, redis or both (default)")
    parser.add_argument("--events", type=int, default=20, help="measured events per configuration (default 20)")
    parser.add_argument("--warm-up", type=int, default=3, help="events before measuring, at least (default 3)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between events (default 0.2)")
    parser.add_argument("--event-timeout", type=float, default=20.0, help="seconds to wait for every delivery")
    parser.add_argument("--connect-concurrency", type=int, default=50, help="WebSocket handshakes at once")
    parser.add_argument("--postgres", default=os.environ.get("ORDERGRAPH_TEST_POSTGRES_URL", ""))
    parser.add_argument("--profile", type=Path, help="run the subscribers' server under pyinstrument, reports here")
    parser.add_argument("--per-event", action="store_true", help="also print each event's p50")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs (their folder is printed)")
    args = parser.parse_args()
    args.subscribers = [int(n) for n in args.subscribers.split(",")]
    args.postgres = args.postgres or "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    if args.profile is not None:
        args.profile = args.profile.resolve()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {CLIENT_CPU})
    tmp = Path(tempfile.mkdtemp(prefix="og-fanout-"))
    print(
        f"fan-out bench: servers on CPU {SERVER_CPU}, client fleet on CPU {CLIENT_CPU}; "
        f"{args.events} events per configuration; logs in {tmp}",
        flush=True,
    )
    print(HEADER, flush=True)
    results: list[Result] = []
    try:
        async with fresh_postgres(args.postgres) as database_url:
            world = await seed(database_url, tmp / "files")
            for mode in args.modes.split(","):
                results += await run_mode(mode.strip(), database_url, world, tmp, args)
    finally:
        if not args.keep_logs and args.profile is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n" + HEADER)
    for result in results:
        print(result.row())
    if args.profile is not None:
        render(args.profile)


def render(folder: Path) -> None:
    """Each saved pyinstrument session as a call tree and as a flat list of where the time is spent."""
    for session in sorted(folder.glob("*.pyisession")):
        for view, options in (("tree", []), ("flat", ["-p", "flat=true", "-p", "flat_time=self"])):
            out = session.with_suffix(f".{view}.txt")
            command = [sys.executable, "-m", "pyinstrument", "--load", str(session), "-r", "text", *options]
            subprocess.run([*command, "-o", str(out)], check=False)
        print(f"pyinstrument: {session.with_suffix('.tree.txt')}, {session.with_suffix('.flat.txt')}")


if __name__ == "__main__":
    # The fleet on uvloop, as the servers (uvicorn picks it): the instrument should not be the bottleneck.
    uvloop.run(main())
