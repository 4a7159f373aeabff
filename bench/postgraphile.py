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
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402 - needs the repository on the path
    CLIENT_CPU,
    HEADER,
    SERVER_CPU,
    Measurement,
    Target,
    answers,
    ceiling,
    graphql,
    line,
    measure,
    pct,
    wait_idle,
)
from ordergraph.demo import DEMO_LOGINS, DEMO_PASSWORD  # noqa: E402
from tests.api.test_sql_count import MANAGE_ORDERS  # noqa: E402

HERE = Path(__file__).resolve().parent / "postgraphile"
PGL_DIR = ROOT / "var" / "postgraphile"
PGL_BIN = PGL_DIR / "node_modules" / ".bin" / "postgraphile"
WORK_DIR = ROOT / "var" / "bench-postgraphile"
OG_PORT, PGL_PORT = 8201, 8301
VENDOR_ADMIN = next(login for login in DEMO_LOGINS if login.kind.value == "VENDOR" and login.role.value == "ADMIN")
TOKEN_CREATE = "mutation($e: String!, $p: String!) { tokenCreate(input: {email: $e, password: $p}) { token } }"


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
        # one client asking as fast as it can: budgets are charged as ever, but never run out
        "ORDERGRAPH_COST_BUDGET": "1000000000",
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
