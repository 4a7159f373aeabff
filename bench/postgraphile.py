"""Benchmark: ordergraph's Manage Orders page against PostGraphile 4, same PostgreSQL database, same run.

    uv run python bench/postgraphile.py [--seconds 10 | --requests 2000] [--rounds 3] [--warm-up 100]
                                        [--database og_bench] [--quiet mark|drain] [--reuse-db]

What it does, in order:

1. PostGraphile 4 (bench/postgraphile/package.json and its lock: postgraphile 4.14.1 and
   postgraphile-plugin-connection-filter 2.3.0) is installed with `npm ci` into var/postgraphile/
   if it is not there yet (var/ is not in git).
2. The database (default og_bench on postgresql://postgres@127.0.0.1:5432) is dropped and created,
   migrated, and the demo programme loaded (`ordergraph demo --orders 200`). --reuse-db keeps one a
   previous run left (it must hold the demo).
3. Quiet: the demo queues ~1,900 outbox events (~1,400 emails). `--quiet mark` (default) marks the
   outbox published, so no relay or worker has anything to do; `--quiet drain` sends them for
   real with `ordergraph worker` (to .eml files; a few minutes) and waits until nothing is pending.
4. Both servers run side by side, each pinned to CPU 0 with `taskset -c 0`: ordergraph as
   `ordergraph serve` runs it (uvicorn, `ordergraph.app:serve_app`, its embedded notifier idle),
   PostGraphile with its CLI (bench/postgraphile/.postgraphilerc.js: NULLS LAST ordering). This
   process, the client, runs on CPU 1; PostgreSQL is not pinned.
5. ordergraph is asked as the vendor's admin (a token from `tokenCreate`), with the document of
   tests/api/test_sql_count.py (50 orders). PostGraphile, as in ../shared/bench/postgraphile/,
   has no authentication (it connects as postgres); its query (bench/postgraphile/
   postgraphile_query.json) is the shared reference query narrowed to the same page: the
   vendor's programme, archived orders left out and NULLS LAST (ordergraph's default view), ties
   broken by id descending, and the latest comment among those the vendor may see. Both answers
   are compared before timing: the same orders in the same order, the same totalCount and
   pageInfo.hasNextPage, and every field of every order equal (ids and cursors aside); the run
   stops if they differ.
6. --rounds rounds; in each, the two servers are measured one after the other (never at once;
   which goes first alternates), each after checking that both servers are idle (< 2 % of a core
   over 1 s), with one sequential keep-alive client (a raw HTTP/1.1 socket, one request at a time):
   --warm-up requests, then --requests requests or --seconds seconds.

Printed per round and server: requests/s, p50 and p99 latency, the server's CPU per request, the
og_bench PostgreSQL backends' CPU per request, the client's own CPU per request, and how busy the
rest of the machine was; then a summary (requests/s, p50/p99 over all rounds), the ratios
ordergraph/PostGraphile of throughput and p99, and the ratio of CPU per request (server plus its
PostgreSQL backends), which a busy machine moves less than requests/s. Before the rounds it
prints the client's ceiling: the same client against a canned-response server on CPU 0 (the
ordergraph page's bytes, no work) and against ordergraph's /healthz.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ordergraph.demo import DEMO_LOGINS, DEMO_PASSWORD  # noqa: E402 - needs the repository on the path
from tests.api.test_sql_count import MANAGE_ORDERS  # noqa: E402

HERE = Path(__file__).resolve().parent / "postgraphile"
PGL_DIR = ROOT / "var" / "postgraphile"
PGL_BIN = PGL_DIR / "node_modules" / ".bin" / "postgraphile"
WORK_DIR = ROOT / "var" / "bench-postgraphile"
SERVER_CPU, CLIENT_CPU = 0, 1
OG_PORT, PGL_PORT, CANNED_PORT = 8201, 8301, 8401
IDLE_LIMIT = 0.02  # of a core, over IDLE_WINDOW seconds
IDLE_WINDOW = 1.0
VENDOR_ADMIN = next(login for login in DEMO_LOGINS if login.kind.value == "VENDOR" and login.role.value == "ADMIN")
TOKEN_CREATE = "mutation($e: String!, $p: String!) { tokenCreate(input: {email: $e, password: $p}) { token } }"


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


# ---- the database ----------------------------------------------------------------------------


def asyncpg_dsn(base: str, database: str) -> str:
    return f"{base.rstrip('/')}/{database}"


async def fresh_database(base: str, database: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(base, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def backlog(dsn: str) -> tuple[int, int]:
    """Outbox rows not yet relayed, and deliveries not yet sent."""
    rows = await query(
        dsn,
        "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS outbox,"
        " (SELECT count(*) FROM notifications WHERE status = 'PENDING') AS pending",
    )
    return int(rows[0]["outbox"]), int(rows[0]["pending"])


async def backend_pids(dsn: str, database: str) -> set[int]:
    rows = await query(dsn, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database)
    return {int(r["pid"]) for r in rows}


def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGRAPH_") and k != "DATABASE_URL"}
    return env | {
        "DATABASE_URL": database_url,
        "ORDERGRAPH_FILES_DIR": str(WORK_DIR / "files"),
        "ORDERGRAPH_MAIL_DIR": str(WORK_DIR / "mail"),
        "PYTHONUNBUFFERED": "1",
    }


def load_demo(database_url: str, orders: int) -> None:
    """`ordergraph demo`: migrations, then the demo programme."""
    started = time.monotonic()
    command = [sys.executable, "-m", "ordergraph.cli", "demo", "--orders", str(orders)]
    subprocess.run(command, cwd=ROOT, env=server_env(database_url), check=True, stdout=subprocess.DEVNULL)
    print(f"demo programme loaded ({orders} orders) in {time.monotonic() - started:.0f} s", flush=True)


def quieten(mode: str, dsn: str, database_url: str) -> None:
    outbox, pending = asyncio.run(backlog(dsn))
    print(f"background work queued by the demo: {outbox} outbox events, {pending} emails pending", flush=True)
    if outbox == pending == 0:
        return
    if mode == "mark":
        rows = asyncio.run(query(dsn, "UPDATE outbox SET published_at = now() WHERE published_at IS NULL RETURNING id"))
        print(f"quiet: marked {len(rows)} outbox events published (no emails planned or sent)", flush=True)
        return
    started = time.monotonic()
    worker = subprocess.Popen(
        [sys.executable, "-m", "ordergraph.cli", "worker"],
        cwd=ROOT,
        env=server_env(database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 1800
        while (outbox, pending) != (0, 0) and time.monotonic() < deadline:
            time.sleep(2)
            outbox, pending = asyncio.run(backlog(dsn))
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(60)
    if (outbox, pending) != (0, 0):
        raise SystemExit(f"the worker did not drain the backlog: {outbox} outbox events, {pending} emails left")
    print(f"quiet: `ordergraph worker` sent every email in {time.monotonic() - started:.0f} s", flush=True)


# ---- the servers -----------------------------------------------------------------------------


def ensure_postgraphile() -> None:
    """`npm ci` into var/postgraphile from bench/postgraphile's package.json and lock, unless already there."""
    manifest = (HERE / "package.json").read_bytes()
    if PGL_BIN.exists() and (PGL_DIR / "package.json").exists() and (PGL_DIR / "package.json").read_bytes() == manifest:
        return
    if shutil.which("npm") is None:
        raise SystemExit("PostGraphile needs Node.js and npm (Node 20)")
    PGL_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, PGL_DIR / name)
    print("installing PostGraphile into var/postgraphile (npm ci)...", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PGL_DIR, check=True)


def pinned(command: list[str]) -> list[str]:
    return ["taskset", "-c", str(SERVER_CPU), *command]


def start_ordergraph(database_url: str, logs: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "ordergraph.app:serve_app",
        "--factory",
        "--port",
        str(OG_PORT),
        "--log-level",
        "warning",
        "--no-access-log",
        "--ws",
        "websockets-sansio",
    ]
    log = (logs / "ordergraph.log").open("wb")
    return subprocess.Popen(pinned(command), cwd=ROOT, env=server_env(database_url), stdout=log, stderr=log)


def start_postgraphile(connection: str, logs: Path) -> subprocess.Popen[bytes]:
    command = [
        str(PGL_BIN),
        "-c",
        connection,
        "-s",
        "public",
        "--append-plugins",
        "postgraphile-plugin-connection-filter",
        "--host",
        "127.0.0.1",
        "-p",
        str(PGL_PORT),
        "--disable-graphiql",
        "--disable-query-log",
    ]
    log = (logs / "postgraphile.log").open("wb")
    # cwd: the CLI reads .postgraphilerc.js from its working directory
    return subprocess.Popen(pinned(command), cwd=HERE, stdout=log, stderr=log)


def wait_until(ready: Callable[[], bool], what: str, process: subprocess.Popen[bytes], within: float = 180) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before it was ready (see its log)")
        with contextlib.suppress(OSError, ValueError):
            if ready():
                return
        time.sleep(0.3)
    raise SystemExit(f"{what} was not ready within {within:.0f} s")


def answers(port: int, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    client = Client(port, path, body, headers)
    try:
        return client.call()
    finally:
        client.close()


def graphql(port: int, document: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    status, body = answers(port, "/graphql", json.dumps({"query": document, "variables": variables}).encode(), headers)
    reply: dict[str, Any] = json.loads(body)
    if status != 200 or reply.get("errors"):
        raise SystemExit(f"GraphQL on port {port} answered {status}: {body[:500]!r}")
    data: dict[str, Any] = reply["data"]
    return data


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


# ---- the comparison --------------------------------------------------------------------------


def instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def name_of(thing: dict[str, Any] | None) -> str | None:
    return thing["name"] if thing else None


def ordergraph_rows(data: dict[str, Any]) -> tuple[int, bool, list[dict[str, Any]]]:
    page = data["orders"]
    rows = []
    for edge in page["edges"]:
        n = edge["node"]
        c = n["latestComment"]
        rows.append(
            {
                "number": n["number"],
                "name": n["name"],
                "campaignName": n["campaignName"],
                "status": n["status"],
                "submittedAt": instant(n["submittedAt"]),
                "lastActivityAt": instant(n["lastActivityAt"]),
                "estimatedCompletion": n["estimatedCompletion"],
                "partner": name_of(n["partner"]),
                "provider": name_of(n["provider"]),
                "partnerContact": n["partnerContact"],
                "assignee": name_of(n["assignee"]),
                "latestComment": c and (c["body"], instant(c["createdAt"]), name_of(c["author"])),
            }
        )
    return page["totalCount"], page["pageInfo"]["hasNextPage"], rows


def postgraphile_rows(data: dict[str, Any]) -> tuple[int, bool, list[dict[str, Any]]]:
    page = data["allOrders"]
    rows = []
    for edge in page["edges"]:
        n = edge["node"]
        comments = n["commentsByOrderId"]["nodes"]
        c = comments[0] if comments else None
        rows.append(
            {
                "number": n["number"],
                "name": n["name"],
                "campaignName": n["campaignName"],
                "status": n["status"],
                "submittedAt": instant(n["submittedAt"]),
                "lastActivityAt": instant(n["lastActivityAt"]),
                "estimatedCompletion": n["estimatedCompletion"],
                "partner": name_of(n["organisationByPartnerId"]),
                "provider": name_of(n["organisationByProviderId"]),
                "partnerContact": n["userByPartnerContactId"],
                "assignee": name_of(n["userByAssigneeId"]),
                "latestComment": c and (c["body"], instant(c["createdAt"]), name_of(c["userByAuthorId"])),
            }
        )
    return page["totalCount"], page["pageInfo"]["hasNextPage"], rows


def same_page(og: dict[str, Any], pgl: dict[str, Any]) -> list[str]:
    """What differs between the two answers (empty: the same page)."""
    (og_total, og_more, og_rows), (pg_total, pg_more, pg_rows) = ordergraph_rows(og), postgraphile_rows(pgl)
    problems = []
    if og_total != pg_total:
        problems.append(f"totalCount: ordergraph {og_total}, PostGraphile {pg_total}")
    if og_more != pg_more:
        problems.append(f"hasNextPage: ordergraph {og_more}, PostGraphile {pg_more}")
    og_numbers, pg_numbers = [r["number"] for r in og_rows], [r["number"] for r in pg_rows]
    if og_numbers != pg_numbers:
        problems.append(f"orders: ordergraph {og_numbers}, PostGraphile {pg_numbers}")
    else:
        for a, b in zip(og_rows, pg_rows, strict=True):
            problems += [f"order {a['number']} {k}: {a[k]!r} / {b[k]!r}" for k in a if a[k] != b[k]]
    return problems


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


def ratio_p99(a: Measurement, b: Measurement) -> float:
    return pct(a.latencies, 99) / pct(b.latencies, 99)


def summary(results: dict[str, list[Measurement]]) -> None:
    """Mean requests/s over the rounds, latencies over all of them, and the ratios."""
    print("\nsummary: every timed request of every round")
    print(HEADER)
    merged = {}
    for name, runs in results.items():
        merged[name] = Measurement(
            name,
            [lat for m in runs for lat in m.latencies],
            sum(m.elapsed for m in runs),
            sum(m.server_cpu for m in runs),
            sum(m.postgres_cpu for m in runs),
            sum(m.client_cpu for m in runs),
            sum(m.others_cpu for m in runs),
        )
        rps = [m.rps for m in runs]
        print(line(name, merged[name]) + f"  rounds: {min(rps):.1f}-{max(rps):.1f} req/s")
    og, pg = results["ordergraph"], results["PostGraphile"]
    throughput = merged["ordergraph"].rps / merged["PostGraphile"].rps
    per_round = [a.rps / b.rps for a, b in zip(og, pg, strict=True)]
    p99 = ratio_p99(merged["ordergraph"], merged["PostGraphile"])
    print(
        f"ordergraph/PostGraphile: throughput {throughput:.2f}x (rounds {min(per_round):.2f}-{max(per_round):.2f}), "
        f"p99 {p99:.2f}x (bar: >= 0.8x throughput, p99 <= 2x)"
    )
    cost = {name: m.per_request_ms(m.server_cpu + m.postgres_cpu) for name, m in merged.items()}
    print(
        f"CPU per request, server and its PostgreSQL backends: ordergraph {cost['ordergraph']:.2f} ms, PostGraphile "
        f"{cost['PostGraphile']:.2f} ms: ratio {cost['PostGraphile'] / cost['ordergraph']:.2f}x (what one core "
        "could serve of each; it moves less than requests/s when the machine is busy)"
    )
    busy = max(m.others_cpu / m.elapsed for m in merged.values())
    if busy > BUSY:
        print(
            f"warning: the rest of the machine kept {100 * busy:.0f}% of a core busy while measuring (other "
            "processes, PostgreSQL's own work for other databases): not a quiet run, compare the ratio only"
        )


HEADER = (
    f"{'':<24}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'server':>12}{'postgres':>12}{'client':>12}{'others':>11}\n"
    f"{'':<24}{'':>8}{'':>9}{'':>9}{'ms CPU/req':>12}{'ms CPU/req':>12}{'µs CPU/req':>12}{'of a core':>11}"
)
BUSY = 0.25
"""The rest of the machine (of a core) above which the summary warns that the figures are not a quiet run's."""


def run(args: argparse.Namespace) -> int:
    base = args.postgres.rstrip("/")
    dsn = asyncpg_dsn(base, args.database)
    host_part = base.split("://", 1)[1]
    database_url = f"postgresql+asyncpg://{host_part}/{args.database}"
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    logs = WORK_DIR / "logs"
    logs.mkdir(exist_ok=True)

    ensure_postgraphile()
    if not args.reuse_db:
        asyncio.run(fresh_database(base, args.database))
        shutil.rmtree(WORK_DIR / "files", ignore_errors=True)
        shutil.rmtree(WORK_DIR / "mail", ignore_errors=True)
        load_demo(database_url, args.orders)
    quieten(args.quiet, dsn, database_url)

    os.sched_setaffinity(0, {CLIENT_CPU})
    print(f"load average before the servers start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    og = start_ordergraph(database_url, logs)
    pgl = start_postgraphile(f"postgres://{host_part}/{args.database}", logs)
    try:
        wait_until(lambda: answers(OG_PORT, "/healthz")[0] == 200, "ordergraph", og)
        wait_until(lambda: answers(PGL_PORT, "/graphql", b'{"query":"{ __typename }"}')[0] == 200, "PostGraphile", pgl)

        token = graphql(OG_PORT, TOKEN_CREATE, {"e": VENDOR_ADMIN.email, "p": DEMO_PASSWORD})["tokenCreate"]["token"]
        viewer = graphql(OG_PORT, "{ viewer { organisation { id } } }", {}, token)["viewer"]["organisation"]["id"]
        vendor = base64.b64decode(viewer + "=" * (-len(viewer) % 4)).decode().split(":", 1)[1]
        programme = str(
            asyncio.run(query(dsn, "SELECT programme_id FROM organisations WHERE id = $1::uuid", vendor))[0][0]
        )

        og_document: dict[str, Any] = {"query": MANAGE_ORDERS, "variables": {"first": args.first}}
        pgl_document = json.loads((HERE / "postgraphile_query.json").read_text())
        pgl_document["variables"] |= {"first": args.first, "programme": programme, "vendor": vendor}
        targets = {
            "ordergraph": Target(
                "ordergraph",
                OG_PORT,
                "/graphql",
                json.dumps(og_document).encode(),
                {"Authorization": f"Bearer {token}"},
            ),
            "PostGraphile": Target("PostGraphile", PGL_PORT, "/graphql", json.dumps(pgl_document).encode(), {}),
        }
        pids = {"ordergraph": og.pid, "PostGraphile": pgl.pid}

        og_page = graphql(OG_PORT, og_document["query"], og_document["variables"], token)
        pgl_page = graphql(PGL_PORT, pgl_document["query"], pgl_document["variables"])
        problems = same_page(og_page, pgl_page)
        total, _, rows = ordergraph_rows(og_page)
        if problems:
            print("the two servers do not return the same page:\n  " + "\n  ".join(problems[:20]))
            return 1
        sizes = {name: len(answers(t.port, t.path, t.body, t.headers)[1]) for name, t in targets.items()}
        print(
            f"same page from both: {len(rows)} orders (numbers {rows[0]['number']}..{rows[-1]['number']}), "
            f"totalCount {total}, every field equal; response bytes: "
            + ", ".join(f"{k} {v:,}" for k, v in sizes.items()),
            flush=True,
        )

        def backends() -> set[int]:
            return asyncio.run(backend_pids(dsn, args.database))

        amount = f"{args.requests} requests" if args.requests else f"{args.seconds:g} s"
        print(
            f"servers on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU}; {args.rounds} rounds, each server in turn: "
            f"{args.warm_up} warm-up requests, then {amount}; one keep-alive connection, one request at a time",
            flush=True,
        )
        print(HEADER)
        wait_idle(pids)
        page_bytes = answers(OG_PORT, "/graphql", targets["ordergraph"].body, targets["ordergraph"].headers)[1]
        canned = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(page_bytes)
        print(line("client ceiling (canned)", ceiling(canned + page_bytes, args)), flush=True)
        quick = argparse.Namespace(**{**vars(args), "seconds": 2, "requests": None})
        health = measure(Target("/healthz", OG_PORT, "/healthz", b"", {}), og.pid, backends, quick, wait_idle(pids))
        print(line("ordergraph /healthz", health), flush=True)

        results: dict[str, list[Measurement]] = {name: [] for name in targets}
        for r in range(1, args.rounds + 1):
            for name in list(targets) if r % 2 else reversed(list(targets)):
                results[name].append(measure(targets[name], pids[name], backends, args, wait_idle(pids)))
                print(line(f"round {r} {name}", results[name][-1]), flush=True)
            a, b = results["ordergraph"][-1], results["PostGraphile"][-1]
            print(f"round {r} ordergraph/PostGraphile: throughput {a.rps / b.rps:.2f}x, p99 {ratio_p99(a, b):.2f}x")
        summary(results)
        return 0
    finally:
        for process in (og, pgl):
            process.terminate()
        for process in (og, pgl):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="timed seconds per server and round (default 10)")
    parser.add_argument("--requests", type=int, help="timed requests per server and round (instead of --seconds)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--warm-up", type=int, default=100, help="untimed requests before each timing (default 100)")
    parser.add_argument("--first", type=int, default=50, help="page size (default 50)")
    parser.add_argument("--orders", type=int, default=200, help="demo orders (default 200)")
    parser.add_argument("--database", default="og_bench", help="the database, dropped and created (default og_bench)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="the PostgreSQL server")
    parser.add_argument("--quiet", choices=("mark", "drain"), default="mark", help="the demo's emails: marked or sent")
    parser.add_argument("--reuse-db", action="store_true", help="keep the database a previous run loaded")
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
