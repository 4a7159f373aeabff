"""Benchmark: BroadcastEventBus fan-out, and how fast it notices and recovers from a Redis outage.

    uv run python bench/fanout_bus.py [--subscribers 1000] [--events 200] [--trials 5]

Starts a redis-server of its own on a free port (never touches a shared one). Fan-out: one bus
publishes, every subscriber (spread over 10 channels) reads; prints events/s delivered and the
publish-to-receive latency p50/p99, on memory:// and redis://. Outage, with the default settings
(timeout 1 s, check_interval 0.5 s, max_backoff 5 s): time from SIGKILL / SIGSTOP to every live
subscription interrupted, and from Redis being back to `healthy` again.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adapters.eventbus import BroadcastEventBus  # noqa: E402
from domain.common.ports import LiveUpdatesInterrupted  # noqa: E402


class Server:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        if sig == signal.SIGKILL:
            self.process.wait(5)
            self.process = None


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


async def fanout(url: str, subscribers: int, events: int) -> None:
    bus = BroadcastEventBus(url, queue_size=max(256, events))
    await bus.connect()
    channels = [f"bench-{n}" for n in range(10)]
    latencies: list[float] = []
    entered = 0
    all_in = asyncio.Event()

    async def consume(name: str) -> None:
        nonlocal entered
        async with bus.subscribe(name) as stream:
            entered += 1
            if entered == subscribers:
                all_in.set()
            for _ in range(events):
                message = await anext(stream)
                latencies.append(time.perf_counter() - message["sent"])

    tasks = [asyncio.create_task(consume(channels[n % 10])) for n in range(subscribers)]
    await asyncio.wait_for(all_in.wait(), 30)
    started = time.perf_counter()
    for _ in range(events):
        for name in channels:
            await bus.publish(name, {"kind": "order.changed", "id": "o-1", "sent": time.perf_counter()})
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    elapsed = time.perf_counter() - started
    await bus.disconnect()
    print(
        f"  {url.split(':')[0]:<7} {subscribers} subscribers x {events} events: "
        f"{len(latencies) / elapsed:,.0f} deliveries/s, latency p50 {pct(latencies, 0.5):.1f} ms "
        f"p99 {pct(latencies, 0.99):.1f} ms"
    )


async def outage(server: Server, sig: signal.Signals) -> tuple[float, float]:
    bus = BroadcastEventBus(server.url)
    await bus.connect()
    interrupted: list[float] = []
    ready = asyncio.Event()

    async def consume(name: str) -> None:
        async with bus.subscribe(name) as stream:
            if name == "o-2":
                ready.set()
            try:
                async for _ in stream:
                    pass
            except LiveUpdatesInterrupted:
                interrupted.append(time.monotonic())

    tasks = [asyncio.create_task(consume(f"o-{n}")) for n in range(3)]
    await asyncio.wait_for(ready.wait(), 5)
    await asyncio.sleep(0.3)
    down = time.monotonic()
    server.signal(sig)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    detected = max(interrupted) - down
    await asyncio.sleep(2)  # an outage of a few seconds: the backoff grows
    if sig == signal.SIGKILL:
        server.start()
    else:
        server.signal(signal.SIGCONT)
    back = time.monotonic()
    while not bus.healthy:  # noqa: ASYNC110  # polls a property
        await asyncio.sleep(0.005)
    recovered = time.monotonic() - back
    await bus.disconnect()
    return detected, recovered


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    server = Server()
    server.start()
    try:
        print("fan-out (one process, 10 channels):")
        await fanout("memory://", args.subscribers, args.events)
        await fanout(server.url, args.subscribers, args.events)
        print("outage (3 live subscriptions, default settings), over", args.trials, "trials:")
        for sig in (signal.SIGKILL, signal.SIGSTOP):
            results = [await outage(server, sig) for _ in range(args.trials)]
            detected = [d * 1000 for d, _ in results]
            recovered = [r * 1000 for _, r in results]
            print(
                f"  {sig.name}: all interrupted after median {statistics.median(detected):.0f} ms "
                f"(max {max(detected):.0f}); healthy again median {statistics.median(recovered):.0f} ms "
                f"(max {max(recovered):.0f}) after Redis was back"
            )
    finally:
        if server.process is not None:
            server.signal(signal.SIGCONT)
            server.signal(signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main())
