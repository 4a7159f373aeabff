"""The `cluster` fixture: a fresh PostgreSQL database, a throwaway Redis, an SMTP server; processes on demand.

These tests need PostgreSQL (ORDERGRAPH_TEST_POSTGRES_URL) and a `redis-server` binary; without
them they skip with a how-to, or fail when ORDERGRAPH_REQUIRE_SERVICES=1 (as in CI).
On failure the tail of every process's log is printed with the test's output.
"""

from __future__ import annotations

import gc
import shutil
import time
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, REQUIRE_SERVICES, SKIP_POSTGRES
from tests.scaled.cluster import Cluster, SmtpSink, ThrowawayRedis, cluster_env, fresh_postgres, seed

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _require(condition: bool, why: str) -> None:
    if not condition:
        if REQUIRE_SERVICES:
            pytest.fail(f"ORDERGRAPH_REQUIRE_SERVICES=1 but {why}")
        pytest.skip(why)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    """Database, Redis and SMTP up, the world seeded; the test starts the API and worker processes it needs."""
    _require(bool(POSTGRES_URL), SKIP_POSTGRES)
    _require(shutil.which("redis-server") is not None, "these tests start their own redis-server: install it")
    redis, smtp = ThrowawayRedis(), SmtpSink()
    began = time.monotonic()
    try:
        redis.start()
        smtp.start()
        async with fresh_postgres(POSTGRES_URL) as database_url:
            world = await seed(database_url, tmp_path / "files")
            env = cluster_env(database_url, redis.url, smtp.url, tmp_path / "files")
            cluster = Cluster(database_url, world, redis, smtp, tmp_path, env, started=began)
            cluster.phase("db+redis+smtp+world")
            try:
                yield cluster
            finally:
                cluster.phase("test done")
                await cluster.close()
                cluster.phase("stopped")
                print(f"\n[{request.node.name}] {cluster.timeline()}")
                if request.node.stash.get(FAILED, False):
                    print(f"\n===== process logs (in {tmp_path}) =====\n{cluster.logs()}")
    finally:
        smtp.release()
        smtp.stop()
        redis.kill()
        # Anything this test left for the garbage collector (an unclosed socket, say) is reported
        # now, against this test, rather than at some later test's setup.
        gc.collect()
