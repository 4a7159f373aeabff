"""Benchmark: live fan-out through the real servers, measured at real WebSocket clients.

    uv run python bench/fanout.py [--subscribers 100,1000] [--modes memory,redis] [--events 20]
                                  [--fleet-processes 4] [--fleet-cpus 1] [--no-ceiling]
    uv run --with pyinstrument python bench/fanout.py --modes memory --subscribers 1000 --profile var/profile

For each configuration, `ordergraph serve --no-migrate` processes are started on a fresh
PostgreSQL database (ORDERGRAPH_TEST_POSTGRES_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/test;
created and dropped here) with the API tests' small world:

- memory: one process (ORDERGRAPH_BROADCAST_URL=memory://); mutations and subscribers on it;
- redis:  two processes on a throwaway redis-server (never the shared 6379); mutations on A,
          every subscriber on B.

Servers are pinned to CPU 0, this process and the client fleet to CPU 1 (--fleet-cpus); PostgreSQL
and Redis are not pinned. The fleet is N graphql-transport-ws connections (`websockets`, opened at
most --connect-concurrency at a time), one subscription each: partner users following their
dashboard feed with the README's selection (orderUpdated: the order, the activity, the actor, the
comment). The connections are spread over --fleet-processes processes (bench/fanout_fleet.py,
driven over multiprocessing.connection, each on its own uvloop, round-robin over --fleet-cpus),
so that one Python process reading a thousand sockets is not itself the ceiling; this process only
sends the mutations and gathers the processes' receive times. On a 2-core machine every fleet
process shares CPU 1: the split removes the one event loop's queue, not the core's limit; give
more CPUs (--fleet-cpus 1,2,3) where there are more.

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

The fleet's own ceiling is measured first for each N (unless --no-ceiling), with the same processes
on the same CPUs against a fake publisher on CPU 0: a bare graphql-transport-ws server that acks,
records each subscription and, on each event, broadcasts one ready-made `next` message of the real
one's shape to every socket (no database, no GraphQL). Its p50/p99 from the moment it is told to
publish is the best this fleet can report at that N, and is printed beside each real figure.

With --profile DIR, the subscribers' server (memory: the one; redis: B) runs under pyinstrument;
its text report (whole process life, the measured events dominate) is written to DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection, Listener
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from bench.fanout_fleet import receive  # noqa: E402
from tests.api.world import World  # noqa: E402
from tests.scaled.cluster import (  # noqa: E402
    RENAME,
    SECRET_KEY,
    Api,
    ThrowawayRedis,
    flat_fee_order,
    fresh_postgres,
    seed,
)

SERVER_CPU, CLIENT_CPU = 0, 1
SUBSCRIBERS = ("partner", "partner_colleague")  # one organisation: every subscriber sees every rename


@dataclasses.dataclass
class Round:
    """One event, gathered from every fleet process: when it was sent, and who has it."""

    name: str = ""
    sent: float = 0.0
    answered: float = 0.0
    published: float | None = None
    latencies: list[float] = dataclasses.field(default_factory=list)
    others: int = 0
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    expected: int = 0


# ---- the coordinator's view of the fleet --------------------------------------------------------


FLEET_SCRIPT = Path(__file__).with_name("fanout_fleet.py")


def launch(role: str, address: str, cpu: int, key: bytes) -> subprocess.Popen[bytes]:
    """`python bench/fanout_fleet.py ROLE ADDRESS CPU`, the authkey on its stdin."""
    process = subprocess.Popen([sys.executable, str(FLEET_SCRIPT), role, address, str(cpu)], stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(key.hex().encode() + b"\n")
    process.stdin.close()
    return process


@dataclasses.dataclass
class Helper:
    """A bench/fanout_fleet.py process and the connection this process drives it by."""

    process: subprocess.Popen[bytes]
    pipe: Connection

    @classmethod
    async def start(cls, role: str, cpu: int, within: float = 180) -> Helper:
        key = secrets.token_bytes(16)
        with Listener(("127.0.0.1", 0), authkey=key) as listener:
            host, port = listener.address
            process = launch(role, f"{host}:{port}", cpu, key)
            try:
                pipe = await asyncio.wait_for(asyncio.to_thread(listener.accept), within)
            except TimeoutError:
                process.kill()
                raise
        return cls(process, pipe)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send(("exit",))
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.pipe.close()


class FleetPool:
    """The fleet processes (bench/fanout_fleet.py), driven as one fleet: connect N, one event at a time, close."""

    def __init__(self, helpers: list[Helper]) -> None:
        self.helpers = helpers
        self.pipes = [h.pipe for h in helpers]
        self.size = 0

    @classmethod
    async def start(cls, processes: int, cpus: list[int]) -> FleetPool:
        return cls(list(await asyncio.gather(*(Helper.start("fleet", cpus[k % len(cpus)]) for k in range(processes)))))

    async def ask(self, messages: list[tuple[Any, ...]]) -> list[Any]:
        for pipe, message in zip(self.pipes, messages, strict=True):
            pipe.send(message)
        return list(await asyncio.gather(*(receive(pipe) for pipe in self.pipes)))

    async def ask_all(self, *message: Any) -> list[Any]:
        return await self.ask([message] * len(self.pipes))

    async def connect(self, url: str, tokens: list[str], n: int, concurrency: int) -> float:
        """N connections spread evenly (subscriber i has tokens[i % len]); the slowest process's time."""
        k = len(self.pipes)
        counts = [n // k + (1 if i < n % k else 0) for i in range(k)]
        firsts = [sum(counts[:i]) for i in range(k)]
        gate = max(1, concurrency // k)
        times: list[float] = await self.ask(
            [("connect", url, tokens, f, c, gate) for f, c in zip(firsts, counts, strict=True)]
        )
        self.size = n
        return max(times)

    async def close(self, concurrency: int) -> None:
        await self.ask_all("close", max(1, concurrency // len(self.pipes)))
        self.size = 0

    async def event(self, name: str, trigger: Callable[[], Awaitable[None]], within: float) -> Round:
        """Arm every process for `name`, run `trigger` (which makes the event), gather every copy's latency."""
        expected = sum(await self.ask_all("arm", name))
        current = Round(name=name, expected=expected)
        current.sent = time.perf_counter()
        await trigger()
        current.answered = time.perf_counter()
        for arrivals, others, errors in await self.ask_all("collect", current.sent + within):
            current.latencies += [at - current.sent for at in arrivals]
            current.others += others
            current.errors += errors
        return current

    def stop(self) -> None:
        for helper in self.helpers:
            helper.stop()


# ---- the fleet's ceiling: the same fleet against the fake publisher ------------------------


async def warm_up(event: Callable[[int], Awaitable[Round]], n: int, args: argparse.Namespace) -> int:
    """Events until one reaches every subscriber (their subscriptions are in place), and at least --warm-up
    of them (the first readings fill the statement and plan caches); how many it took."""
    warmups = 0
    deadline = time.monotonic() + 60
    while True:
        warmups += 1
        got = await event(warmups)
        if (len(got.latencies) == n and warmups >= args.warm_up) or time.monotonic() > deadline:
            break
    await asyncio.sleep(1.0)
    return warmups


@dataclasses.dataclass
class Ceiling:
    """The fleet against the fake publisher at one N."""

    subscribers: int
    latencies: list[float]
    missing: int
    spread: list[float]

    def cells(self) -> str:
        return f"{pct(self.latencies, 0.5):.1f} | {pct(self.latencies, 0.99):.1f}"

    def row(self, processes: int, cpus: str) -> str:
        rate = statistics.mean(self.subscribers / s for s in self.spread if s > 0) if self.spread else 0.0
        return (
            f"fleet ceiling, {self.subscribers:,} subscribers ({processes} processes on CPU {cpus}, fake publisher "
            f"on CPU {SERVER_CPU}): p50 {pct(self.latencies, 0.5):.1f} ms, p99 {pct(self.latencies, 0.99):.1f} ms, "
            f"max {1000 * max(self.latencies or [float('nan')]):.1f} ms, missing {self.missing}, "
            f"{rate:,.0f} deliveries/s"
        )


async def fleet_ceiling(pool: FleetPool, n: int, args: argparse.Namespace) -> Ceiling:
    publisher = await Helper.start("publisher", SERVER_CPU)
    ours = publisher.pipe
    try:
        port = await asyncio.wait_for(receive(ours), 60)
        await pool.connect(f"ws://127.0.0.1:{port}/graphql", [], n, args.connect_concurrency)

        async def publish(name: str) -> Round:
            async def trigger() -> None:
                ours.send(("publish", name))
                await receive(ours)

            return await pool.event(name, trigger, args.event_timeout)

        await warm_up(lambda k: publish(f"ceiling warm-up {n}-{k}"), n, args)
        latencies: list[float] = []
        spread: list[float] = []
        missing = 0
        for k in range(args.events):
            got = await publish(f"ceiling {n} #{k}")
            latencies += got.latencies
            missing += n - len(got.latencies)
            if got.latencies:
                spread.append(max(got.latencies) - min(got.latencies))
            await asyncio.sleep(args.pause)
        return Ceiling(n, latencies, missing, spread)
    finally:
        await pool.close(args.connect_concurrency)
        publisher.stop()


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
    ceiling: Ceiling | None = None  # the fleet against the fake publisher at the same N

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
            f"| {self.event_p50[0]:.0f} -> {self.event_p50[-1]:.0f} "
            f"| {self.ceiling.cells() if self.ceiling else '- | -'} |"
        )


HEADER = (
    "| configuration | subscribers | events | p50 ms | p99 ms | max ms | p50 from publish | p99 from publish "
    "| mutation p50 ms | missing | errors | deliveries/s | connect s | p50 first -> last event "
    "| fleet ceiling p50 | fleet ceiling p99 |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
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
    pool: FleetPool,
    args: argparse.Namespace,
) -> Result:
    # a new order each time: every event re-reads the order's whole timeline, which grows by one per event
    order_id = await flat_fee_order(mutations, world, f"Fan-out {label} {n}")
    tokens = [world[m].token for m in SUBSCRIBERS]

    async def rename(name: str, within: float) -> Round:
        async def trigger() -> None:
            await mutations.gql(world["partner"].token, RENAME, id=order_id, name=name)

        got = await pool.event(name, trigger, within)
        stamps = [at for at in published_at(mutations) if at >= got.sent]
        got.published = min(stamps) if stamps else None
        return got

    try:
        connect_s = await pool.connect(subscribers.ws_url, tokens, n, args.connect_concurrency)
        warmups = await warm_up(lambda k: rename(f"warm-up {n}-{k}", 10), n, args)
        latencies: list[float] = []
        spread: list[float] = []
        event_p50: list[float] = []
        after_publish: list[float] = []
        mutation: list[float] = []
        publish_p99: list[float] = []
        missing = errors = 0
        for k in range(args.events):
            name = f"{label} {n} #{k}"
            got = await rename(name, args.event_timeout)
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
        await pool.close(args.connect_concurrency)


async def run_mode(
    mode: str,
    database_url: str,
    world: World,
    tmp: Path,
    pool: FleetPool,
    ceilings: dict[int, Ceiling],
    args: argparse.Namespace,
) -> list[Result]:
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
            # the flood asks far faster than people: budgets are charged as ever, but never run out
            "ORDERGRAPH_COST_BUDGET": "1000000000",
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
            result = await run_config(label, a, b, world, n, pool, args)
            result.ceiling = ceilings.get(n)
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
    parser.add_argument("--fleet-processes", type=int, default=4, help="processes the fleet is spread over (default 4)")
    parser.add_argument("--fleet-cpus", default=str(CLIENT_CPU), help=f"CPUs for the fleet (default {CLIENT_CPU})")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the fleet's ceiling (the fake publisher)")
    parser.add_argument("--ceiling-only", action="store_true", help="measure the fleet's ceiling only, no servers")
    args = parser.parse_args()
    args.subscribers = [int(n) for n in args.subscribers.split(",")]
    cpus = [int(c) for c in args.fleet_cpus.split(",")]
    args.postgres = args.postgres or "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    if args.profile is not None:
        args.profile = args.profile.resolve()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {CLIENT_CPU})
    tmp = Path(tempfile.mkdtemp(prefix="og-fanout-"))
    print(
        f"fan-out bench: servers on CPU {SERVER_CPU}, client fleet of {args.fleet_processes} processes on CPU "
        f"{args.fleet_cpus}; {args.events} events per configuration; logs in {tmp}",
        flush=True,
    )
    results: list[Result] = []
    ceilings: dict[int, Ceiling] = {}
    pool = await FleetPool.start(args.fleet_processes, cpus)
    try:
        if not args.no_ceiling:
            for n in args.subscribers:
                ceilings[n] = ceiling = await fleet_ceiling(pool, n, args)
                print(f"{ceiling.row(args.fleet_processes, args.fleet_cpus)}", flush=True)
        if args.ceiling_only:
            return
        print(HEADER, flush=True)
        async with fresh_postgres(args.postgres) as database_url:
            world = await seed(database_url, tmp / "files")
            for mode in args.modes.split(","):
                results += await run_mode(mode.strip(), database_url, world, tmp, pool, ceilings, args)
    finally:
        pool.stop()
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
