"""Benchmark: the Manage Orders GraphQL query against the plain floor, in the same run.

    uv run python bench/manage_orders.py [--orders 200] [--first 50] [--seconds 10] [--rounds 2]

Loads the demo programme into a fresh SQLite file, serves the real application and the plain
endpoint (bench/plain_app.py, same SQL, same JSON) with uvicorn pinned to CPU 0, and drives each
in turn from this process pinned to CPU 1 with one keep-alive client (one request at a time).
Prints requests/s, p50 and p99 latency, SQL statements per request, and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.api.test_sql_count import MANAGE_ORDERS  # noqa: E402 - needs the repository on the path

# The same document whose SQL statement count tests/api/test_sql_count.py pins.
QUERY = MANAGE_ORDERS


async def prepare(database_url: str, files: Path, orders: int) -> str:
    """Migrate, load the demo data and return a vendor token (the vendor sees every order)."""
    from adapters.db import create_bulk_engine, session_factory
    from adapters.migrations import upgrade_async
    from adapters.settings import Settings
    from adapters.uow import SqlHistory
    from domain.identity.services import create_token
    from ordergraph.app import build_runtime
    from ordergraph.demo import DEMO_PASSWORD, load_demo

    await upgrade_async(database_url)
    runtime = build_runtime(Settings.from_env({"DATABASE_URL": database_url, "ORDERGRAPH_FILES_DIR": str(files)}))
    bulk = create_bulk_engine(database_url)
    summary = await load_demo(runtime.ports, SqlHistory(session_factory(bulk), runtime.ports.clock), orders=orders)
    await bulk.dispose()
    vendor = next(login for login in summary.logins if login.kind.value == "VENDOR")
    secret, _, _ = await create_token(runtime.ports, vendor.email, DEMO_PASSWORD)
    await runtime.engine.dispose()
    return secret


def serve(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """uvicorn on CPU 0, one worker, no access log."""
    command = [
        "taskset",
        "-c",
        "0",
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
            return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{app} did not start")


def drive(port: int, path: str, body: bytes, token: str, seconds: float) -> tuple[float, list[float], bytes]:
    """Requests/s and latencies (ms) of one sequential keep-alive client for `seconds`."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    last = b""
    warm_until = time.perf_counter() + 1.0
    while time.perf_counter() < warm_until:
        connection.request("POST", path, body, headers)
        last = connection.getresponse().read()
    end = time.perf_counter() + seconds
    started = time.perf_counter()
    while (now := time.perf_counter()) < end:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        last = response.read()
        assert response.status == 200, last[:300]
        latencies.append((time.perf_counter() - now) * 1000)
    return len(latencies) / (time.perf_counter() - started), latencies, last


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main() -> int:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    workdir = Path(tempfile.mkdtemp(prefix="og-bench-"))
    database_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    token = asyncio.run(prepare(database_url, workdir / "files", args.orders))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ORDERGRAPH_FILES_DIR": str(workdir / "files"),
        # One client asking as fast as it can spends far more than people paging: budgets are charged as
        # ever (their cost is in the figures), but never run out.
        "ORDERGRAPH_COST_BUDGET": "1000000000",
    }
    graphql_body = json.dumps({"query": QUERY, "variables": {"first": args.first}}).encode()
    variants = {
        "plain Starlette floor": ("bench.plain_app:create_app", 8601, f"/orders?first={args.first}", b""),
        "ordergraph GraphQL": ("ordergraph.app:create_app", 8602, "/graphql", graphql_body),
    }
    servers = [serve(app, port, env) for app, port, _, _ in variants.values()]
    results: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in variants}
    bodies: dict[str, bytes] = {}
    try:
        for _ in range(args.rounds):
            for name, (_, port, path, body) in variants.items():
                rps, latencies, last = drive(port, path, body, token, args.seconds)
                results[name].append((rps, latencies))
                bodies[name] = last
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    floor_data = json.loads(bodies["plain Starlette floor"])
    graphql_data = json.loads(bodies["ordergraph GraphQL"])
    same = floor_data["data"] == graphql_data["data"]  # GraphQL's response adds extensions.cost
    print(f"extensions: {json.dumps(graphql_data.get('extensions'))}")
    print(f"orders in db: {args.orders}, page: {args.first}, {args.rounds} rounds of {args.seconds:.0f}s each")
    print(f"same JSON from both: {same}")
    floor_rps = statistics.mean(r for r, _ in results["plain Starlette floor"])
    print(f"{'variant':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ratio':>8}")
    for name, runs in results.items():
        rps = statistics.mean(r for r, _ in runs)
        latencies = [lat for _, lats in runs for lat in lats]
        print(
            f"{name:<24}{rps:>10.1f}{percentile(latencies, 50):>10.2f}{percentile(latencies, 99):>10.2f}"
            f"{rps / floor_rps:>8.2f}"
        )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
