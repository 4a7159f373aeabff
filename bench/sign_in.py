"""Benchmark: sign-in timing does not tell which emails exist, and sign-ins do not stall the server.

    uv run python bench/sign_in.py [--tries 200] [--parallel 30]

Serves the demo (`ordergraph serve --demo`, real argon2id parameters, SQLite in a temporary folder)
on CPU 0 and, from this process on CPU 1:

1. signs in --tries times with a known email and a wrong password and --tries times with an unknown
   email, interleaved, one at a time; prints both medians and their ratio (the bar: within 10 %);
2. sends --parallel sign-ins at once while asking /healthz every 10 ms; prints the slowest /healthz
   answer meanwhile (the bar: under 100 ms) and how long the sign-ins took.

It measures the password check, so the server's sign-in throttle is raised out of its way
(ORDERGRAPH_SIGN_IN_FAILURES_PER_EMAIL and _PER_ADDRESS, see the README's Security section): with the
defaults, all but the first ten tries of each email would be refused unchecked. Every answer is checked
to be INVALID_CREDENTIALS, so that no throttled answer can slip into the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx

from bench.harness import served_demo

ROOT = Path(__file__).resolve().parent.parent
PORT = 8501
URL = f"http://127.0.0.1:{PORT}"
SIGN_IN = """mutation($e: String!, $p: String!) {
  tokenCreate(input: {email: $e, password: $p}) { token userErrors { code } }
}"""
KNOWN, UNKNOWN = "olivia@northwind.example", "nobody-at-all@northwind.example"
UNTHROTTLED = 1_000_000
"""The server's sign-in limits for the bench: far above what it sends (the throttle is not measured here)."""


async def sign_in(http: httpx.AsyncClient, email: str, password: str = "not the password") -> float:
    """Seconds one refused sign-in took."""
    started = time.perf_counter()
    response = await http.post("/graphql", json={"query": SIGN_IN, "variables": {"e": email, "p": password}})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    codes = [error["code"] for error in response.json()["data"]["tokenCreate"]["userErrors"]]
    assert codes == ["INVALID_CREDENTIALS"], response.text  # refused after a check of the password, as meant
    return elapsed


async def timing(http: httpx.AsyncClient, tries: int) -> None:
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(tries):
        known.append(await sign_in(http, KNOWN))
        unknown.append(await sign_in(http, UNKNOWN))
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"{tries} refused sign-ins each, one at a time, interleaved:")
    print(f"  known email    median {k * 1000:7.1f} ms   p10 {pct(known, 10):7.1f}   p90 {pct(known, 90):7.1f}")
    print(f"  unknown email  median {u * 1000:7.1f} ms   p10 {pct(unknown, 10):7.1f}   p90 {pct(unknown, 90):7.1f}")
    print(f"  ratio of the medians unknown/known: {u / k:.3f} (bar: within 10 %)")


async def stall(http: httpx.AsyncClient, parallel: int) -> None:
    done = asyncio.Event()
    probes: list[float] = []

    async def probe() -> None:
        async with httpx.AsyncClient(base_url=URL) as health:
            while not done.is_set():
                started = time.perf_counter()
                assert (await health.get("/healthz")).status_code == 200
                probes.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    await asyncio.gather(*(sign_in(http, KNOWN if i % 2 else UNKNOWN) for i in range(parallel)))
    took = time.perf_counter() - started
    done.set()
    await prober
    print(f"{parallel} sign-ins at once took {took * 1000:.0f} ms; /healthz meanwhile ({len(probes)} probes):")
    print(f"  median {statistics.median(probes) * 1000:.1f} ms, slowest {max(probes) * 1000:.1f} ms (bar: < 100 ms)")


def pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * p // 100)] * 1000


async def run(args: argparse.Namespace) -> None:
    limits = httpx.Limits(max_connections=args.parallel + 4)
    async with httpx.AsyncClient(base_url=URL, timeout=120, limits=limits) as http:
        await sign_in(http, KNOWN)  # warm: the first sign-in makes the hasher's hash of nothing
        await timing(http, args.tries)
        await stall(http, args.parallel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=200, help="refused sign-ins per kind of email (default 200)")
    parser.add_argument("--parallel", type=int, default=30, help="sign-ins sent at once (default 30)")
    args = parser.parse_args()
    print(f"sign-in throttle raised to {UNTHROTTLED:,} failures a minute: every try below is a password check")
    unthrottled = {
        "ORDERGRAPH_SIGN_IN_FAILURES_PER_EMAIL": str(UNTHROTTLED),
        "ORDERGRAPH_SIGN_IN_FAILURES_PER_ADDRESS": str(UNTHROTTLED),
    }
    with served_demo(PORT, unthrottled):
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
