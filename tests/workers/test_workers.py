"""Brokers and the send_notification actor: a StubBroker in process, and a real Redis broker."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.asyncio import AsyncIO
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.email import FileMailer, Links, MailError
from adapters.notifications import tables as notification_tables
from adapters.security import Argon2PasswordHasher, SystemClock
from adapters.settings import Settings
from domain.identity.model import Actor
from domain.orders.commands import CreateOrder, OrderCommand
from domain.orders.lifecycle import OrderKind
from domain.orders.services.orders import approve_order, create_order, submit_order
from ordergraph.app import build_runtime
from tests.api.world import World, build_world
from tests.conftest import REDIS_URL
from workers.actors import QUEUE
from workers.broker import make_broker
from workers.delivery import DeliveryPolicy
from workers.runtime import Notifier, NotifierConfig


def test_the_broker_follows_the_url_and_connects_to_nothing() -> None:
    assert isinstance(make_broker(""), StubBroker)
    redis = make_broker("redis://127.0.0.1:1/0", namespace="og-test")  # nothing listens there: not contacted
    assert isinstance(redis, RedisBroker) and redis.namespace == "og-test"
    assert isinstance(make_broker("amqp://guest:guest@127.0.0.1:1/"), RabbitmqBroker)
    for broker in (make_broker(""), redis):
        assert any(isinstance(m, AsyncIO) for m in broker.middleware)
    with pytest.raises(ValueError, match="unsupported"):
        make_broker("kafka://x")


@pytest.mark.parametrize(
    ("smtp_url", "lease"),
    [
        ("", 5),  # emails to files: the setting as it is
        ("smtp://mail.example?timeout=6", 22),  # never shorter than a send may take: 2 x 6 + 10 s
    ],
)
def test_the_email_lease_and_the_sweeper_delay_come_from_the_settings(
    tmp_path: Path, smtp_url: str, lease: int
) -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'og.db'}",
            "ORDERGRAPH_FILES_DIR": str(tmp_path / "files"),
            "ORDERGRAPH_SMTP_URL": smtp_url,
            "ORDERGRAPH_MAIL_LEASE_SECONDS": "5",
            "ORDERGRAPH_MAIL_REDELIVER_SECONDS": "7",
        }
    )
    notifier = build_runtime(settings).notifier
    assert notifier is not None
    assert notifier.policy.lease == timedelta(seconds=lease)
    assert notifier.policy.redeliver_after == notifier.relay.redeliver_after == timedelta(seconds=7)


class FlakyMailer(FileMailer):
    """Fails the first `failures` sends, like an SMTP server that is down for a while."""

    def __init__(self, folder: Path, failures: int) -> None:
        super().__init__(folder)
        self.failures = failures

    async def send(self, message: EmailMessage, name: str) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise MailError("connection refused")
        await super().send(message, name)


def act(world: World, key: str) -> Actor:
    member = world[key]
    return Actor(member.user.id, member.org.id, member.org.kind, member.user.role, member.org.programme_id)


async def place_and_approve(world: World, notifier_ports: object) -> None:
    ports = notifier_ports
    order = await create_order(
        ports,  # type: ignore[arg-type]
        act(world, "partner"),
        CreateOrder(OrderKind.FLAT_FEE, "Webinar", service_id=world.services["webinar"].id),
    )
    await submit_order(ports, act(world, "partner"), OrderCommand(order.id))  # type: ignore[arg-type]
    await approve_order(ports, act(world, "vendor"), OrderCommand(order.id))  # type: ignore[arg-type]


async def statuses(engine: AsyncEngine) -> list[str]:
    n = notification_tables.notifications
    async with engine.connect() as conn:
        return sorted((await conn.execute(select(n.c.status))).scalars())


async def wait_for(condition: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not done within {seconds} s")


@pytest.fixture
async def setup(engine: AsyncEngine, database_url: str, tmp_path: Path) -> AsyncIterator[tuple[object, World, Path]]:
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "ORDERGRAPH_FILES_DIR": str(tmp_path / "files"), "ORDERGRAPH_SECRET_KEY": "k"}
    )
    runtime = build_runtime(settings)
    ports = dataclasses.replace(runtime.ports, passwords=Argon2PasswordHasher.fast())
    world = await build_world(ports)
    yield ports, world, tmp_path / "mail"
    await runtime.engine.dispose()


def config(database_url: str, mail: Path, broker_url: str = "", namespace: str = "ordergraph") -> NotifierConfig:
    return NotifierConfig(
        database_url=database_url,
        broker_url=broker_url,
        smtp_url="",
        mail_dir=mail,
        mail_from="ordergraph <noreply@ordergraph.example>",
        links=Links("http://app.example", lambda order: f"http://app.example/orders/{order.id}", lambda: b"k"),
        # Tiny backoffs so retries happen within the test.
        policy=DeliveryPolicy(min_backoff=timedelta(milliseconds=20), max_backoff=timedelta(milliseconds=200)),
        relay_interval=0.1,
        worker_threads=2,
        namespace=namespace,
    )


async def test_in_process_the_stub_broker_and_worker_deliver_with_retries(
    setup: tuple[object, World, Path], engine: AsyncEngine, database_url: str
) -> None:
    ports, world, mail = setup
    # given the embedded default: a StubBroker and a worker in this process, and a mail server that fails twice
    notifier = Notifier(config(database_url, mail), engine, ports.blobs, SystemClock(), FlakyMailer(mail, 2))  # type: ignore[attr-defined]
    assert notifier.in_process
    await notifier.start()
    try:
        # when an order is approved
        await place_and_approve(world, ports)
        notifier.relay.nudge()
        # then every email is sent, once, in spite of the failures (retried by Dramatiq)
        await wait_for(lambda: _all_sent(engine, 3))
        notifier.broker.join(QUEUE)
    finally:
        await notifier.stop()
    assert len(list(mail.glob("*.eml"))) == 3
    async with engine.connect() as conn:
        attempts = sorted((await conn.execute(select(notification_tables.notifications.c.attempts))).scalars())
    assert sum(attempts) == 5  # 3 sends + 2 failures


async def _all_sent(engine: AsyncEngine, count: int) -> bool:
    found = await statuses(engine)
    return len(found) == count and set(found) == {"SENT"}


@pytest.mark.redis
async def test_a_redis_broker_carries_the_messages_to_a_worker(
    setup: tuple[object, World, Path], engine: AsyncEngine, database_url: str, redis_url: str
) -> None:
    ports, world, mail = setup
    namespace = f"og-test-{uuid.uuid4().hex[:10]}"  # keys of our own in a shared Redis
    # given an API process that only relays and enqueues, and a worker process that consumes
    api = Notifier(config(database_url, mail, redis_url, namespace), engine, ports.blobs, SystemClock())  # type: ignore[attr-defined]
    worker = Notifier(
        config(database_url, mail, redis_url, namespace),
        engine,
        ports.blobs,
        SystemClock(),
        FlakyMailer(mail, 1),  # type: ignore[attr-defined]
    )
    assert not api.in_process
    await api.start()
    await worker.start(worker=True, relay=False)
    try:
        await place_and_approve(world, ports)
        api.relay.nudge()
        await wait_for(lambda: _all_sent(engine, 3), 30)
    finally:
        await worker.stop()
        await api.stop()
        cleanup = make_broker(redis_url, namespace=namespace)
        keys = cleanup.client.keys(f"{namespace}:*")  # type: ignore[attr-defined]
        if keys:
            cleanup.client.delete(*keys)  # type: ignore[attr-defined]
        cleanup.close()
    assert len(list(mail.glob("*.eml"))) == 3


def test_redis_url_is_read_from_the_environment() -> None:
    assert os.environ.get("ORDERGRAPH_TEST_REDIS_URL", "") == REDIS_URL
