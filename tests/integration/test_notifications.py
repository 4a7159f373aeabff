"""Relay and sender on real databases (SQLite and PostgreSQL), writing files and talking to a real SMTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.email import FileMailer, Links, Mailer, Renderer, SmtpConfig, SmtpMailer
from adapters.notifications import tables as notification_tables
from adapters.orders import tables as order_tables
from adapters.security import Argon2PasswordHasher
from adapters.settings import Settings
from domain.common.ports import Ports
from domain.identity.model import Actor
from domain.notifications.commands import SendMessage
from domain.notifications.deliveries import RESEND_COOLDOWN
from domain.notifications.services import resend_notification, send_message, watch_order
from domain.orders.commands import CreateComment, CreateOrder, OrderCommand
from domain.orders.comments import CommentVisibility
from domain.orders.lifecycle import OrderKind
from domain.orders.services.comments import create_comment
from domain.orders.services.orders import approve_order, create_order, submit_order
from ordergraph.app import Runtime, build_runtime
from ordergraph.cli.database import set_outside_recipients
from tests.api.world import World, build_world
from workers.delivery import DeliveryPolicy, Outcome, RetryLater, Sender
from workers.relay import Relay


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now_ = datetime.now(UTC)

    def now(self) -> datetime:
        return self.now_

    def tick(self, seconds: float) -> None:
        self.now_ += timedelta(seconds=seconds)


@dataclass
class Env:
    runtime: Runtime
    ports: Ports
    world: World
    engine: AsyncEngine
    mail_dir: Path
    clock: Clock = field(default_factory=Clock)
    enqueued: list[UUID] = field(default_factory=list)

    def relay(self, **kwargs: Any) -> Relay:
        return Relay(self.engine, self.enqueued.extend, self.clock, **kwargs)

    def sender(self, mailer: Mailer | None = None, **policy: Any) -> Sender:
        return Sender(
            self.engine,
            mailer or FileMailer(self.mail_dir),
            renderer=Renderer(),
            links=Links("http://app.example", lambda order: f"http://app.example/orders/{order.id}", lambda: b"key"),
            blobs=self.ports.blobs,
            clock=self.clock,
            mail_from="ordergraph <noreply@ordergraph.example>",
            policy=DeliveryPolicy(**policy),
        )

    async def rows(self) -> list[dict[str, Any]]:
        n = notification_tables.notifications
        async with self.engine.connect() as conn:
            result = await conn.execute(select(n).order_by(n.c.recipient, n.c.created_at))
            return [dict(r) for r in result.mappings()]

    def files(self) -> list[Path]:
        return sorted(self.mail_dir.glob("*.eml")) if self.mail_dir.exists() else []


@pytest.fixture
async def env(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[Env]:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "ORDERGRAPH_FILES_DIR": str(tmp_path / "files"),
            "ORDERGRAPH_MAIL_DIR": str(tmp_path / "mail"),
            "ORDERGRAPH_SECRET_KEY": "test-key",
        }
    )
    runtime = build_runtime(settings)
    ports = dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast())
    world = await build_world(ports)
    yield Env(runtime, ports, world, engine, tmp_path / "mail")
    await runtime.engine.dispose()


def act(world: World, key: str) -> Actor:
    member = world[key]
    return Actor(member.user.id, member.org.id, member.org.kind, member.user.role, member.org.programme_id)


async def approved_flat_fee(env: Env) -> UUID:
    """A flat-fee order placed by the partner and approved by the vendor (both sides are told)."""
    w, ports = env.world, env.ports
    order = await create_order(
        ports, act(w, "partner"), CreateOrder(OrderKind.FLAT_FEE, "Webinar", service_id=w.services["webinar"].id)
    )
    await submit_order(ports, act(w, "partner"), OrderCommand(order.id))
    await approve_order(ports, act(w, "vendor"), OrderCommand(order.id))
    return order.id


EXPECTED_AFTER_APPROVAL = {
    "vendor@example.com": "approval_requested",
    "partner@example.com": "order_approved",
    "provider@example.com": "order_approved",  # the provider's admin: no assignee yet
}


async def deliver_all(env: Env, sender: Sender, ids: list[UUID] | None = None) -> list[Outcome]:
    outcomes = []
    for delivery_id in ids if ids is not None else list(env.enqueued):
        outcomes.append(await sender.deliver(delivery_id))
    return outcomes


def parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def recipients_of(files: list[Path]) -> list[str]:
    return sorted(email.message_from_bytes(f.read_bytes())["To"] for f in files)


# ---- the relay and the sender ---------------------------------------------------------------------


async def test_each_event_becomes_one_email_per_recipient_even_when_everything_runs_twice(env: Env) -> None:
    # given an approved order
    await approved_flat_fee(env)
    relay, sender = env.relay(), env.sender()
    # when the relay runs twice and every message is delivered twice
    assert await relay.drain() >= 3
    assert await relay.drain() == 0
    first = await deliver_all(env, sender)
    again = await deliver_all(env, sender)
    # then each recipient got one email, with the template its part in the order calls for
    rows = await env.rows()
    assert {r["recipient"]: r["template"] for r in rows} == EXPECTED_AFTER_APPROVAL
    assert set(first) == {Outcome.SENT} and set(again) == {Outcome.SKIPPED}
    assert all(r["status"] == "SENT" and r["attempts"] == 1 and r["sent_at"] for r in rows)
    assert recipients_of(env.files()) == sorted(EXPECTED_AFTER_APPROVAL)
    message = email.message_from_bytes((env.mail_dir / f"{rows[1]['id']}.eml").read_bytes())
    assert message["Message-ID"] == f"<{rows[1]['id']}@ordergraph.example>"
    assert message.is_multipart() and {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}


@pytest.mark.parametrize("step", ["planned", "marked", "committed", "enqueued"])
async def test_a_relay_crash_at_any_step_loses_nothing_and_sends_nothing_twice(env: Env, step: str) -> None:
    await approved_flat_fee(env)

    def crash(at: str) -> None:
        if at == step:
            raise RuntimeError(f"crash at {at}")

    # when the relay dies at `step`
    with pytest.raises(RuntimeError, match="crash"):
        await env.relay(fault=crash).run_once()
    # and a new process starts: it relays what is left and sweeps what was never enqueued
    restarted = env.relay()
    await restarted.drain()
    await restarted.sweep(all_idle=True)
    await deliver_all(env, env.sender())
    # then every expected email went out exactly once
    assert recipients_of(env.files()) == sorted(EXPECTED_AFTER_APPROVAL)
    assert {r["status"] for r in await env.rows()} == {"SENT"}


async def test_the_sweeper_re_enqueues_only_what_is_overdue(env: Env) -> None:
    await approved_flat_fee(env)
    relay = env.relay(redeliver_after=timedelta(seconds=60))
    await relay.drain()
    env.enqueued.clear()  # the broker lost the messages
    assert await relay.sweep() == 0  # not overdue yet
    env.clock.tick(61)
    assert await relay.sweep() == 3
    assert await relay.sweep() == 0  # pushed back again
    await deliver_all(env, env.sender())
    assert len(env.files()) == 3


async def test_a_lease_keeps_a_second_worker_off_a_row_being_sent(env: Env) -> None:
    await approved_flat_fee(env)
    await env.relay().drain()
    first = env.enqueued[0]
    gate = asyncio.Event()
    release = asyncio.Event()

    class SlowMailer(FileMailer):
        async def send(self, message: EmailMessage, name: str) -> None:
            gate.set()
            await release.wait()
            await super().send(message, name)

    sending = asyncio.create_task(env.sender(SlowMailer(env.mail_dir)).deliver(first))
    await gate.wait()
    with pytest.raises(RetryLater):
        await env.sender().deliver(first)
    release.set()
    assert await sending is Outcome.SENT
    assert await env.sender().deliver(first) is Outcome.SKIPPED
    assert len(env.files()) == 1


async def test_a_resend_is_a_new_email_with_its_own_message_id(env: Env) -> None:
    await approved_flat_fee(env)
    await env.relay().drain()
    await deliver_all(env, env.sender())
    row = next(r for r in await env.rows() if r["recipient"] == "partner@example.com")
    env.clock.tick(RESEND_COOLDOWN.total_seconds())  # a sent email is sent again only after the cool-down
    later = dataclasses.replace(env.ports, clock=env.clock)
    resent = await resend_notification(later, act(env.world, "partner"), row["id"])
    assert (resent.status.value, resent.generation) == ("PENDING", 1)
    env.enqueued.clear()
    env.clock.tick(30)  # past the sweeper's wait for a queued email
    assert await env.relay().sweep() == 1
    await deliver_all(env, env.sender())
    second = env.mail_dir / f"{row['id']}.1.eml"
    assert email.message_from_bytes(second.read_bytes())["Message-ID"] == f"<{row['id']}.1@ordergraph.example>"
    assert len(env.files()) == 4


async def test_comments_reach_watchers_who_may_see_them_and_follow_ups_their_addresses(env: Env) -> None:
    w, ports = env.world, env.ports
    order_id = await approved_flat_fee(env)
    await env.relay().drain()
    env.enqueued.clear()
    for who in ("partner_colleague", "provider_colleague", "vendor"):
        await watch_order(ports, act(w, who), order_id)
    await create_comment(ports, act(w, "partner"), CreateComment(order_id, "internal note", CommentVisibility.INTERNAL))
    await set_outside_recipients(env.runtime.settings, w["provider"].org.id, True)  # it writes to its client
    await send_message(
        ports,
        act(w, "provider"),
        SendMessage(order_id, ("client@customer.example",), "Dates", "We run it on the 3rd.", watch=True),
    )
    await env.relay().drain()
    await deliver_all(env, env.sender())
    by_template: dict[str, list[str]] = {}
    for row in await env.rows():
        if row["template"] in ("comment_added", "follow_up"):
            by_template.setdefault(row["template"], []).append(row["recipient"])
    assert sorted(by_template["comment_added"]) == ["partner_colleague@example.com"]  # internal stays inside
    assert sorted(by_template["follow_up"]) == [
        "client@customer.example",
        "partner@example.com",
        "partner_colleague@example.com",
        "provider_colleague@example.com",
        "vendor@example.com",
    ]
    follow_up = next(
        parsed(f.read_bytes()) for f in env.files() if parsed(f.read_bytes())["To"] == "client@customer.example"
    )
    assert follow_up["Subject"] == "Dates"
    assert follow_up["Reply-To"] == "Provider <provider@example.com>"
    body = follow_up.get_body(("plain",))
    assert body is not None and "We run it on the 3rd." in body.get_content()


# ---- a real SMTP server ----------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps what it is given, and can refuse one recipient for good."""

    def __init__(self, refuse: str = "") -> None:
        self.messages: list[email.message.Message] = []
        self.refuse = refuse

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def start_smtp(inbox: Inbox, port: int) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


async def test_a_real_smtp_server_gets_each_email_once_even_when_it_was_down(env: Env, smtp_port: int) -> None:
    await approved_flat_fee(env)
    await env.relay().drain()
    ids = list(env.enqueued)
    mailer = SmtpMailer(SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp_port}?timeout=5"))
    sender = env.sender(mailer, min_backoff=timedelta(seconds=1))
    # given the SMTP server is down: every attempt fails and is scheduled again with backoff
    for delivery_id in ids:
        with pytest.raises(RetryLater) as retry:
            await sender.deliver(delivery_id)
        assert retry.value.delay == timedelta(seconds=1)
    rows = await env.rows()
    assert {(r["status"], r["attempts"]) for r in rows} == {("PENDING", 1)}
    assert all(r["last_error"] and r["leased_until"] is None for r in rows)
    # when it comes back, the retries (and a duplicate message each) go through
    inbox = Inbox()
    controller = start_smtp(inbox, smtp_port)
    try:
        outcomes = [await sender.deliver(i) for i in ids + ids]
    finally:
        controller.stop()
    # then each recipient received exactly one email
    assert outcomes.count(Outcome.SENT) == 3 and outcomes.count(Outcome.SKIPPED) == 3
    assert sorted(m["To"] for m in inbox.messages) == sorted(EXPECTED_AFTER_APPROVAL)
    assert len({m["Message-ID"] for m in inbox.messages}) == 3
    assert {(r["status"], r["attempts"], r["last_error"]) for r in await env.rows()} == {("SENT", 2, "")}


async def test_a_recipient_the_server_refuses_for_good_is_failed_not_retried(env: Env, smtp_port: int) -> None:
    await approved_flat_fee(env)
    await env.relay().drain()
    inbox = Inbox(refuse="partner@example.com")
    controller = start_smtp(inbox, smtp_port)
    try:
        sender = env.sender(SmtpMailer(SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp_port}")))
        outcomes = await deliver_all(env, sender)
    finally:
        controller.stop()
    assert sorted(o.value for o in outcomes) == ["FAILED", "SENT", "SENT"]
    failed = next(r for r in await env.rows() if r["recipient"] == "partner@example.com")
    assert failed["status"] == "FAILED" and "550" in failed["last_error"]


async def test_attempts_run_out_into_failed(env: Env, smtp_port: int) -> None:
    await approved_flat_fee(env)
    await env.relay().drain()
    first = env.enqueued[0]
    sender = env.sender(SmtpMailer(SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp_port}?timeout=2")), max_attempts=2)
    with pytest.raises(RetryLater):
        await sender.deliver(first)
    assert await sender.deliver(first) is Outcome.FAILED
    assert await sender.deliver(first) is Outcome.SKIPPED


async def test_relays_running_side_by_side_plan_each_delivery_once(env: Env) -> None:
    for _ in range(3):
        await approved_flat_fee(env)
    relays = [env.relay(batch_size=2) for _ in range(3)]
    await asyncio.gather(*(r.drain() for r in relays))
    n, o = notification_tables.notifications, order_tables.outbox
    async with env.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(n))).scalar_one() == 9
        assert (await conn.execute(select(func.count()).where(o.c.published_at.is_(None)))).scalar_one() == 0
    assert len(env.enqueued) == 9 == len(set(env.enqueued))
