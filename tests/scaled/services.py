"""The services the scaled-out processes use: a throwaway Redis, an SMTP sink, a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
import email.policy
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from adapters import migrations as migrate
from adapters.db import create_engine
from adapters.notifications import tables as notification_tables
from adapters.security import Argon2PasswordHasher
from adapters.settings import Settings
from ordergraph.app import build_runtime
from ordergraph.cli.database import set_outside_recipients
from tests.api.world import World, build_world

SECRET_KEY = "scaled-tests-signing-key"  # shared by every process, as the README asks when several serve


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


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
        world = await build_world(dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast()))
        # The provider's follow-ups go to its clients (cluster.follow_up), addresses beyond the order's people.
        await set_outside_recipients(settings, world["provider"].org.id, True)
        return world
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
