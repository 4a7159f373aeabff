"""The scaled-out shape, for real: API and worker processes, a throwaway Redis, PostgreSQL, an SMTP server.

Nothing here is a stand-in. Processes are the project's own commands (`ordergraph serve --no-migrate`,
`ordergraph worker`) started with subprocess and configured by environment variables only; Redis is
a `redis-server` of the test's own on a free port (killed and restarted on the same port, never the
shared 6379); the SMTP server is aiosmtpd on a free loopback port, counting what it accepts; the
database is a fresh PostgreSQL database per test, migrated with the project's migrations and seeded
through the real ports.

Every wait has a deadline and every process is killed in a `finally` (see `Cluster.close`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from adapters import migrations as migrate
from adapters.db import create_engine
from adapters.notifications import tables as notification_tables
from adapters.security import Argon2PasswordHasher
from adapters.settings import Settings
from ordergraph.app import build_runtime
from schema.common import to_global_id
from tests.api.world import World, build_world
from tests.live_client import GraphQLHttp

REPO = Path(__file__).resolve().parents[2]
SECRET_KEY = "scaled-tests-signing-key"  # shared by every process, as the README asks when several serve


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


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


# ---- Redis ---------------------------------------------------------------------------------------


class ThrowawayRedis:
    """A redis-server of our own on a free port, without persistence: SIGKILL it, start it again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, within: float = 10.0) -> None:
        assert self.process is None, "already running"
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode} on port {self.port}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {within} s")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


# ---- SMTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mail:
    """One message the SMTP server accepted."""

    message_id: str
    notification_id: str  # X-Ordergraph-Notification: the delivery row's id
    to: str
    rcpt_tos: tuple[str, ...]
    subject: str
    at: float  # time.monotonic() when accepted


class SmtpSink:
    """aiosmtpd on a loopback port of its own, recording every message it accepts (thread-safe).

    `stop()` and `start()` take the server down and bring it back on the same port. `hold()` makes
    new SMTP transactions wait at MAIL FROM (before anything is handed over) until `release()`:
    a sender caught there is in the middle of sending, and nothing it sends has been accepted.
    """

    def __init__(self, *, delay: float = 0.0) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}?timeout=15"
        self.delay = delay
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._controller: Controller | None = None
        self._hold = threading.Event()
        self._hold_after: int | None = None
        self._holding = 0

    # the handler (runs on the controller's own loop and thread)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        with self._lock:
            if self._hold_after is not None and len(self._mails) >= self._hold_after:
                self._hold.set()
        if self._hold.is_set():
            with self._lock:
                self._holding += 1
            try:
                deadline = time.monotonic() + 60
                while self._hold.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110 - set by another thread
                    await asyncio.sleep(0.01)
            finally:
                with self._lock:
                    self._holding -= 1
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mail = Mail(
            message_id=str(parsed["Message-ID"]),
            notification_id=str(parsed["X-Ordergraph-Notification"]),
            to=str(parsed["To"]),
            rcpt_tos=tuple(envelope.rcpt_tos),
            subject=str(parsed["Subject"]),
            at=time.monotonic(),
        )
        with self._lock:
            self._mails.append(mail)
        return "250 Message accepted for delivery"

    # control (from the test's thread)

    def start(self) -> None:
        assert self._controller is None, "already running"
        controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def hold(self) -> None:
        self._hold.set()

    def hold_after(self, accepted: int) -> None:
        """Hold every transaction that starts once `accepted` messages have been accepted in all."""
        with self._lock:
            self._hold_after = accepted

    def release(self) -> None:
        with self._lock:
            self._hold_after = None
        self._hold.clear()

    @property
    def holding(self) -> int:
        with self._lock:
            return self._holding

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def count(self) -> int:
        with self._lock:
            return len(self._mails)

    def to(self, recipient: str, subject_part: str = "") -> list[Mail]:
        """The messages to `recipient` whose subject contains `subject_part` (ignoring case)."""
        return [m for m in self.mails if m.to == recipient and subject_part.casefold() in m.subject.casefold()]

    def summary(self) -> list[tuple[str, str]]:
        return [(m.to, m.subject) for m in self.mails]


# ---- processes -----------------------------------------------------------------------------------


class Proc:
    """A child process of the test, its output in a log file; stopped (SIGTERM, then SIGKILL) by `stop`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_offset = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.log_offset = log.tell()
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def output(self) -> str:
        """What the process printed since it was last started."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, at once (the crash under test)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    async def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM; SIGKILL if it has not exited after `grace` seconds. Its exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a child process
                await asyncio.sleep(0.05)
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        return process.returncode

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Api(Proc):
    """`ordergraph serve --no-migrate` on a port of its own."""

    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "ordergraph.cli", "serve", "--no-migrate", "--host", "127.0.0.1"]
        super().__init__(name, [*argv, "--port", str(self.port)], env, logs)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        self.gql = GraphQLHttp(self.url)

    async def ready(self, within: float = 60.0) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=1.0) as http:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                assert self.alive, f"{self.name} exited:\n{self.tail()}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} did not answer /healthz within {within} s:\n{self.tail()}")

    async def live_updates(self) -> str:
        """What /healthz says of live updates: "ok" or "interrupted"."""
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            health = (await http.get("/healthz")).json()
        state: str = health["liveUpdates"]
        return state


class Worker(Proc):
    """`ordergraph worker`: the Dramatiq worker on ORDERGRAPH_BROKER_URL, plus the relay and the sweeper."""

    def __init__(self, name: str, env: dict[str, str], logs: Path, threads: int = 4) -> None:
        argv = [sys.executable, "-m", "ordergraph.cli", "worker", "--threads", str(threads)]
        super().__init__(name, argv, env, logs)

    async def ready(self, within: float = 60.0) -> None:
        """Until it has said it runs (after its database check; the Dramatiq worker starts right after)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.alive, f"{self.name} exited:\n{self.tail()}"
            if "ordergraph worker:" in self.output():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} did not start within {within} s:\n{self.tail()}")


# ---- the database --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_postgres(admin_url: str) -> AsyncIterator[str]:
    """A new, migrated PostgreSQL database (dropped at the end, connections or not)."""
    name = f"og_scaled_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url)
    try:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        try:
            await migrate.upgrade_async(url)
            yield url
        finally:
            async with admin.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def seed(database_url: str, files: Path) -> World:
    """The API tests' small world (a vendor, partners, providers, users with live tokens), through the real ports."""
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "ORDERGRAPH_FILES_DIR": str(files), "ORDERGRAPH_SECRET_KEY": SECRET_KEY}
    )
    runtime = build_runtime(settings)
    try:
        return await build_world(dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast()))
    finally:
        await runtime.engine.dispose()


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: str
    recipient: str
    template: str
    status: str
    attempts: int
    last_error: str


async def deliveries(database_url: str) -> list[DeliveryRow]:
    n = notification_tables.notifications
    engine = create_engine(database_url, pooled=False)
    try:
        async with engine.connect() as conn:
            query = select(n.c.id, n.c.recipient, n.c.template, n.c.status, n.c.attempts, n.c.last_error)
            rows = (await conn.execute(query)).all()
    finally:
        await engine.dispose()
    return [DeliveryRow(str(r.id), r.recipient, r.template, r.status, r.attempts, r.last_error) for r in rows]


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
