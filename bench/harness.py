"""The measuring side of bench/postgraphile.py: a lean HTTP/1.1 client, CPU accounting from /proc, idle checks."""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER_CPU, CLIENT_CPU = 0, 1
CANNED_PORT = 8401
IDLE_LIMIT = 0.02  # of a core, over IDLE_WINDOW seconds
IDLE_WINDOW = 1.0


# ---- a lean sequential HTTP/1.1 client -------------------------------------------------------


class Client:
    """One keep-alive connection, one request at a time; the request's bytes are built once."""

    def __init__(self, port: int, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        method = "POST" if body else "GET"
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        self.buffer = bytearray()

    def _fill(self) -> None:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def _line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self._fill()
        return self._take(end + 2)[:-2]

    def call(self) -> tuple[int, bytes]:
        """Send the request; the response's status and body."""
        self.sock.sendall(self.request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = self._take(end + 4).lower()
        status = int(head[9:12])
        if b"transfer-encoding: chunked" in head:
            parts = []
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._take(2)
            while self._line():  # trailers, then the empty line
                pass
            return status, b"".join(parts)
        length = re.search(rb"content-length:\s*(\d+)", head)
        return status, self._take(int(length.group(1)) if length else 0)

    def close(self) -> None:
        self.sock.close()


def canned_server(port: int, response: bytes, ready: Any) -> None:
    """A server that does nothing but answer every request with `response`: the client's ceiling."""
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {SERVER_CPU})
    listener = socket.create_server(("127.0.0.1", port))
    ready.set()
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    while True:
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buffer += chunk
        match = re.search(rb"content-length:\s*(\d+)", buffer[:end].lower())
        total = end + 4 + (int(match.group(1)) if match else 0)
        while len(buffer) < total:
            buffer += conn.recv(65536)
        buffer = buffer[total:]
        conn.sendall(response)


def answers(port: int, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    client = Client(port, path, body, headers)
    try:
        return client.call()
    finally:
        client.close()


@contextlib.contextmanager
def served_demo(port: int, settings: dict[str, str]) -> Iterator[int]:
    """`ordergraph serve --demo` on CPU 0 (SQLite in a temporary folder, plus `settings`), this process moved
    to CPU 1; the server's pid, once its /healthz answers. The server is stopped at the end."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
            "ORDERGRAPH_FILES_DIR": f"{folder}/files",
            **settings,
        }
        command = [sys.executable, "-m", "ordergraph.cli", "serve", "--demo", "--port", str(port)]
        root = Path(__file__).resolve().parent.parent
        server = subprocess.Popen(["taskset", "-c", "0", *command], cwd=root, env=env, stdout=subprocess.DEVNULL)
        try:
            os.sched_setaffinity(0, {1})
            for _ in range(300):
                with contextlib.suppress(OSError):
                    if answers(port, "/healthz")[0] == 200:
                        break
                time.sleep(0.1)
            yield server.pid
        finally:
            server.terminate()
            server.wait(timeout=30)


def graphql(port: int, document: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, body = answers(port, "/graphql", json.dumps({"query": document, "variables": variables}).encode(), headers)
    reply: dict[str, Any] = json.loads(body)
    if status != 200 or reply.get("errors"):
        raise SystemExit(f"GraphQL on port {port} answered {status}: {body[:500]!r}")
    data: dict[str, Any] = reply["data"]
    return data


# ---- CPU accounting --------------------------------------------------------------------------


def cpu_ns(pid: int) -> int:
    """CPU time (ns) of every thread of a process so far; 0 once it is gone."""
    total = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    return total


def machine_busy_ns() -> int:
    """CPU time (ns) every core spent busy so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


@dataclass
class Measurement:
    """One server measured once: its latencies and where the CPU went meanwhile."""

    name: str
    latencies: list[float]  # ms
    elapsed: float  # s
    server_cpu: float  # s
    postgres_cpu: float  # s: the benchmark database's backends
    client_cpu: float  # s
    others_cpu: float  # s: the rest of the machine (its busy time minus all of the above)
    idle: dict[str, float] = field(default_factory=dict)  # each server's CPU share just before

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed

    def per_request_ms(self, seconds: float) -> float:
        return 1000 * seconds / len(self.latencies)


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def idle_shares(pids: dict[str, int]) -> dict[str, float]:
    """Each server's CPU share over IDLE_WINDOW, and the rest of the machine's ("others", of a core)."""
    before = {name: cpu_ns(pid) for name, pid in pids.items()}
    machine, client, started = machine_busy_ns(), time.process_time_ns(), time.perf_counter()
    time.sleep(IDLE_WINDOW)
    window = time.perf_counter() - started  # a busy machine oversleeps
    shares = {name: (cpu_ns(pid) - before[name]) / 1e9 / window for name, pid in pids.items()}
    rest = (machine_busy_ns() - machine - (time.process_time_ns() - client)) / 1e9 / window
    return shares | {"others": max(0.0, rest - sum(shares.values()))}


def wait_idle(pids: dict[str, int], within: float = 60) -> dict[str, float]:
    """idle_shares, once every server is under IDLE_LIMIT (the rest of the machine is only reported)."""
    deadline = time.monotonic() + within
    while True:
        shares = idle_shares(pids)
        if all(shares[name] < IDLE_LIMIT for name in pids):
            return shares
        if time.monotonic() > deadline:
            raise SystemExit(f"the servers are not idle: {shares} of a core (limit {IDLE_LIMIT})")


# ---- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    path: str
    body: bytes
    headers: dict[str, str]


@contextlib.contextmanager
def accounting(server_pid: int, backends: Callable[[], set[int]]) -> Iterator[dict[str, float]]:
    """CPU seconds spent inside the block by the server, the database's backends, this process, the rest."""
    pids = backends()
    got: dict[str, float] = {}
    server0, client0, machine0 = cpu_ns(server_pid), time.process_time_ns(), machine_busy_ns()
    pg0 = {pid: cpu_ns(pid) for pid in pids}
    try:
        yield got
    finally:
        server1, client1, machine1 = cpu_ns(server_pid), time.process_time_ns(), machine_busy_ns()
        # a backend that ended meanwhile (ordergraph's notifier connects unpooled) is left out
        pg = sum(max(0, cpu_ns(pid) - pg0.get(pid, 0)) for pid in pids | backends())
        got["server"] = (server1 - server0) / 1e9
        got["client"] = (client1 - client0) / 1e9
        got["postgres"] = pg / 1e9
        got["others"] = max(0.0, (machine1 - machine0 - (server1 - server0) - (client1 - client0) - pg) / 1e9)


def drive(target: Target, warm_up: int, requests: int | None, seconds: float) -> tuple[list[float], float, float]:
    """Warm up, then time `requests` requests (or `seconds` of them): latencies (ms), the timed and the
    whole elapsed time (s)."""
    client = Client(target.port, target.path, target.body, target.headers)
    begun = time.perf_counter()
    try:
        for _ in range(warm_up):
            status, body = client.call()
            if status != 200 or b'"errors"' in body:
                raise SystemExit(f"{target.name} answered {status}: {body[:300]!r}")
        latencies: list[float] = []
        clock = time.perf_counter
        started = clock()
        end = started + seconds
        while (len(latencies) < requests) if requests else (clock() < end):
            sent = clock()
            status, body = client.call()
            latencies.append((clock() - sent) * 1000)
            if status != 200 or b'"errors"' in body:
                raise SystemExit(f"{target.name} answered {status}: {body[:300]!r}")
        return latencies, clock() - started, clock() - begun
    finally:
        client.close()


def measure(
    target: Target,
    pid: int,
    backends: Callable[[], set[int]],
    args: argparse.Namespace,
    idle: dict[str, float] | None = None,
) -> Measurement:
    with accounting(pid, backends) as cpu:
        latencies, elapsed, whole = drive(target, args.warm_up, args.requests, args.seconds)
    # the warm-up is inside the accounting: charge the timed part its share of the time
    share = elapsed / whole
    return Measurement(
        target.name,
        latencies,
        elapsed,
        cpu["server"] * share,
        cpu["postgres"] * share,
        cpu["client"] * share,
        cpu["others"] * share,
        idle or {},
    )


def ceiling(response: bytes, args: argparse.Namespace) -> Measurement:
    """The client against a server that does no work at all (on CPU 0, answering with `response`)."""
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    process = context.Process(target=canned_server, args=(CANNED_PORT, response, ready), daemon=True)
    process.start()
    try:
        ready.wait(10)
        target = Target("canned", CANNED_PORT, "/graphql", b'{"query":"{ x }"}', {})
        assert process.pid is not None
        return measure(target, process.pid, set, argparse.Namespace(**{**vars(args), "seconds": 2, "requests": None}))
    finally:
        process.terminate()
        process.join(5)


def line(label: str, m: Measurement) -> str:
    idle = " ".join(f"{k} {100 * v:.1f}%" for k, v in m.idle.items())
    return (
        f"{label:<24}{m.rps:>8.1f}{pct(m.latencies, 50):>9.2f}{pct(m.latencies, 99):>9.2f}"
        f"{m.per_request_ms(m.server_cpu):>12.2f}{m.per_request_ms(m.postgres_cpu):>12.2f}"
        f"{1000 * m.per_request_ms(m.client_cpu):>12.0f}{100 * m.others_cpu / m.elapsed:>10.0f}%"
        f"{'   idle before: ' + idle if idle else ''}"
    )


HEADER = (
    f"{'':<24}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'server':>12}{'postgres':>12}{'client':>12}{'others':>11}\n"
    f"{'':<24}{'':>8}{'':>9}{'':>9}{'ms CPU/req':>12}{'ms CPU/req':>12}{'µs CPU/req':>12}{'of a core':>11}"
)
