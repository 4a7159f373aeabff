"""The scaled-out shape, for real: API and worker processes, a throwaway Redis, PostgreSQL, an SMTP server.

Nothing here is a stand-in. Processes are the project's own commands (`ordergraph serve --no-migrate`,
`ordergraph worker`) started with subprocess and configured by environment variables only; Redis is
a `redis-server` of the test's own on a free port (killed and restarted on the same port, never the
shared 6379); the SMTP server is aiosmtpd on a free loopback port, counting what it accepts; the
database is a fresh PostgreSQL database per test, migrated with the project's migrations and seeded
through the real ports.

Every wait has a deadline and every process is killed in a `finally` (see `Cluster.close`).
The services are in services.py and the processes in processes.py; this module puts them together
and re-exports what the tests and bench/fanout.py import from it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schema.common import to_global_id
from tests.api.world import World
from tests.scaled.processes import Api, Proc, Worker
from tests.scaled.services import (
    SECRET_KEY,
    DeliveryRow,
    Mail,
    SmtpSink,
    ThrowawayRedis,
    deliveries,
    fresh_postgres,
    seed,
)

__all__ = [
    "COMMENT",
    "COMMENT_ADDED",
    "FOLLOW_UP",
    "ORDER_CREATE",
    "ORDER_UPDATED",
    "RENAME",
    "SECRET_KEY",
    "STATUS_CHANGE",
    "STEP",
    "Api",
    "Cluster",
    "DeliveryRow",
    "Mail",
    "Proc",
    "SmtpSink",
    "ThrowawayRedis",
    "Worker",
    "assert_exactly_once",
    "barrier",
    "cluster_env",
    "deliveries",
    "duplicates",
    "eventually",
    "flat_fee_order",
    "follow_up",
    "fresh_postgres",
    "seed",
    "timed",
]


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float, what: str, every: float = 0.05
) -> float:
    """Poll `check` until it is true; fail naming `what` after `within` seconds. Returns the seconds it took."""
    start = time.monotonic()
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise AssertionError(f"not within {within:.1f} s: {what}")
        await asyncio.sleep(every)


# ---- the cluster ---------------------------------------------------------------------------------


@dataclass
class Cluster:
    """Everything one scaled-out test runs against; `close()` stops it all."""

    database_url: str
    world: World
    redis: ThrowawayRedis
    smtp: SmtpSink
    tmp: Path
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)
    clients: list[Any] = field(default_factory=list)
    phases: list[tuple[str, float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def phase(self, label: str) -> None:
        """Note that `label` is done (the phases and their durations are printed at the end of the test)."""
        self.phases.append((label, time.monotonic()))

    def timeline(self) -> str:
        marks, last = [], self.started
        for label, at in self.phases:
            marks.append(f"{label} +{at - last:.1f}s")
            last = at
        return " | ".join(marks)

    def api(self, name: str) -> Api:
        api = Api(name, self.env, self.tmp)
        self.procs.append(api)
        return api

    def worker(self, name: str = "worker", threads: int = 4, **env: str) -> Worker:
        """A worker process; `env`: settings of its own on top of the cluster's."""
        worker = Worker(name, {**self.env, **env}, self.tmp, threads)
        self.procs.append(worker)
        return worker

    async def start_api(self, name: str) -> Api:
        api = self.api(name)
        api.start()
        await api.ready()
        return api

    async def start_worker(self, name: str = "worker", threads: int = 4, **env: str) -> Worker:
        worker = self.worker(name, threads, **env)
        worker.start()
        await worker.ready()
        return worker

    def token(self, member: str) -> str:
        return self.world[member].token

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()
        for proc in reversed(self.procs):
            await proc.stop()
            if isinstance(proc, Api):
                await proc.gql.aclose()
        self.smtp.release()
        self.smtp.stop()
        self.redis.kill()

    def logs(self) -> str:
        return "\n".join(f"----- {p.name} -----\n{p.tail(25)}" for p in self.procs)


def cluster_env(database_url: str, redis_url: str, smtp_url: str, files: Path, **extra: str) -> dict[str, str]:
    """The environment of every process: one database, one Redis for live updates and jobs, one SMTP server."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("ORDERGRAPH_") and k != "DATABASE_URL"}
    return {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "ORDERGRAPH_FILES_DIR": str(files),
        "ORDERGRAPH_SECRET_KEY": SECRET_KEY,
        "ORDERGRAPH_GRAPHIQL": "false",
        "ORDERGRAPH_BROADCAST_URL": redis_url,
        "ORDERGRAPH_BROKER_URL": redis_url,
        "ORDERGRAPH_SMTP_URL": smtp_url,
        # the tests ask at machine speed, far faster than people: budgets are charged but never run out
        "ORDERGRAPH_COST_BUDGET": "1000000000",
        **extra,
    }


# ---- GraphQL documents and order helpers ---------------------------------------------------------

ORDER_UPDATED = """
subscription($id: ID) {
  orderUpdated(id: $id) {
    change occurredAt
    order { id name status version latestComment { body } }
    activity { id kind before after }
    actor { name }
    comment { id body author { name } }
  }
}"""

COMMENT_ADDED = """
subscription($orderId: ID!) { commentAdded(orderId: $orderId) { id body visibility author { name } } }"""

ORDER_CREATE = """
mutation($input: OrderCreateInput!) { orderCreate(input: $input) { order { id } userErrors { message } } }"""
STEP = "mutation($id: ID!) { %s(input: {id: $id}) { order { status } userErrors { message } } }"
STATUS_CHANGE = """
mutation($id: ID!, $status: OrderStatus!) {
  orderStatusChange(input: {id: $id, status: $status}) { order { status } userErrors { message } }
}"""
RENAME = """
mutation($id: ID!, $name: String!) {
  orderUpdate(input: {id: $id, name: $name}) { order { name } userErrors { message } }
}"""
COMMENT = """
mutation($orderId: ID!, $body: String!) {
  commentCreate(input: {orderId: $orderId, body: $body, visibility: SHARED}) { comment { id } userErrors { message } }
}"""
FOLLOW_UP = """
mutation($input: OrderMessageSendInput!) {
  orderMessageSend(input: $input) { comment { id } userErrors { message } }
}"""


async def flat_fee_order(api: Api, world: World, name: str) -> str:
    """A flat-fee order of the partner for the provider's webinar, submitted and approved (3 emails)."""
    service = to_global_id("Service", world.services["webinar"].id)
    created = await api.gql(
        world["partner"].token, ORDER_CREATE, input={"kind": "FLAT_FEE", "name": name, "serviceId": service}
    )
    order_id: str = created["orderCreate"]["order"]["id"]
    await api.gql(world["partner"].token, STEP % "orderSubmit", id=order_id)
    await api.gql(world["vendor"].token, STEP % "orderApprove", id=order_id)
    return order_id


async def follow_up(api: Api, world: World, order_id: str, n: int) -> None:
    """The provider writes to client n of the partner: a comment emailed to client n and to the partner (2 emails)."""
    await api.gql(
        world["provider"].token,
        FOLLOW_UP,
        input={
            "orderId": order_id,
            "to": [f"client{n}@customer.example"],
            "subject": f"Follow-up {n:03d}",
            "body": f"Message {n}",
        },
    )


# ---- exactly once --------------------------------------------------------------------------------


def duplicates(mails: list[Mail]) -> dict[str, Any]:
    """Messages seen more than once, by Message-ID and by recipient and subject."""
    by_id = collections.Counter(m.message_id for m in mails)
    by_recipient = collections.Counter((m.to, m.subject) for m in mails)
    return {
        "by Message-ID": {k: n for k, n in by_id.items() if n > 1},
        "by recipient and subject": {k: n for k, n in by_recipient.items() if n > 1},
    }


async def assert_exactly_once(cluster: Cluster, *, expected: int, settle: float) -> list[DeliveryRow]:
    """Every delivery row SENT and accepted by the SMTP server once; nothing more after `settle` seconds."""

    async def all_sent() -> bool:
        rows = await deliveries(cluster.database_url)
        return len(rows) >= expected and all(r.status == "SENT" for r in rows) and cluster.smtp.count() >= expected

    await eventually(all_sent, 90, f"{expected} emails sent (have {cluster.smtp.count()})", every=0.2)
    await asyncio.sleep(settle)  # deliberately: a duplicate would arrive now
    rows = await deliveries(cluster.database_url)
    mails = cluster.smtp.mails
    assert duplicates(mails) == {"by Message-ID": {}, "by recipient and subject": {}}, duplicates(mails)
    assert len(rows) == expected, [(r.recipient, r.template, r.status) for r in rows]
    assert len(mails) == expected
    assert {m.notification_id for m in mails} == {r.id for r in rows}
    assert all(r.status == "SENT" for r in rows), [r for r in rows if r.status != "SENT"]
    return rows


@contextlib.contextmanager
def timed(label: str, into: dict[str, float]) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
    finally:
        into[label] = time.monotonic() - start


async def barrier(api: Api, world: World, client: Any, op: str, order_id: str, within: float = 10.0) -> int:
    """Rename the order through `api` until subscription `op` (orderUpdated) sees it; its Redis SUBSCRIBE is in place.

    A subscription is acknowledged by nothing in graphql-transport-ws, so the first event can be
    published before the subscriber's server has subscribed to the bus: retry, then drain the
    renames that were seen late. Returns how many renames it took.
    """
    deadline = time.monotonic() + within
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        await api.gql(world["partner"].token, RENAME, id=order_id, name=f"Barrier {attempt}")
        with contextlib.suppress(TimeoutError):
            seen = await client.next(op, within=0.5)
            assert seen["orderUpdated"]["change"] == "FIELDS", seen
            await asyncio.sleep(0.3)
            while not client.inbox[op].empty():  # renames of earlier attempts, seen late
                assert (await client.next(op, within=0.1))["orderUpdated"]["change"] == "FIELDS"
            return attempt
    raise AssertionError(f"no rename reached subscription {op} within {within} s")
