"""The demo data set, loaded through the services on both backends."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import create_engine, session_factory
from adapters.files import ContentTypeSniffer, LocalBlobStore
from adapters.identity import tables as identity_tables
from adapters.notifications import notification_tables
from adapters.orders import tables as order_tables
from adapters.orders.queries import SqlOrderQueries
from adapters.ratelimit import LimitsCounters
from adapters.security import Argon2PasswordHasher
from adapters.tables import metadata
from adapters.uow import SqlHistory, sql_uow_factory
from domain.common.ports import Ports
from domain.identity import Actor, OrgKind, create_token
from domain.orders import CommentVisibility, CreateComment, OrderStatus, create_comment
from domain.orders.queries import OrderFilter, viewer_for
from ordergraph.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoSummary, load_demo
from workers.relay import Relay

NOW = datetime(2025, 6, 30, 16, 45, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def history_for(engine: AsyncEngine) -> SqlHistory:
    return SqlHistory(session_factory(engine), FixedClock())


def ports_for(engine: AsyncEngine, files: Path) -> Ports:
    return Ports(
        uow=sql_uow_factory(session_factory(engine)),
        clock=FixedClock(),
        passwords=Argon2PasswordHasher.fast(),
        blobs=LocalBlobStore(files),
        sniffer=ContentTypeSniffer(),
        counters=LimitsCounters.from_url("memory://"),
    )


async def test_demo_covers_every_status_with_real_history(engine: AsyncEngine, tmp_path: Path) -> None:
    # given an empty, migrated database
    ports = ports_for(engine, tmp_path / "blobs")

    # when the demo loads 40 orders
    summary = await load_demo(ports, history_for(engine), orders=40, seed=7)

    # then every status occurs, in the summary and in the database
    assert summary.orders == 40
    assert sum(summary.status_counts.values()) == 40
    assert all(summary.status_counts[s] >= 1 for s in OrderStatus), summary.status_counts
    assert all(n >= 1 for n in summary.kind_counts.values()), summary.kind_counts
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(order_tables.orders.c.status, func.count()).group_by(order_tables.orders.c.status)
            )
        ).all()
        assert {OrderStatus(status): n for status, n in rows} == summary.status_counts

        # quotes: several providers, accepted, declined, and more
        quote_statuses = Counter((await conn.execute(select(order_tables.quotes.c.status))).scalars().all())
        assert {"ACCEPTED", "DECLINED"} <= set(quote_statuses), quote_statuses
        assert sum(quote_statuses.values()) == summary.quotes
        quoting_providers = (
            await conn.execute(select(func.count(func.distinct(order_tables.quotes.c.provider_id))))
        ).scalar_one()
        assert quoting_providers == 2

        # comments: shared and internal, written by both sides
        comment_rows = (
            await conn.execute(
                select(order_tables.comments.c.visibility, identity_tables.organisations.c.kind).join(
                    identity_tables.organisations,
                    identity_tables.organisations.c.id == order_tables.comments.c.author_org_id,
                )
            )
        ).all()
        assert len(comment_rows) == summary.comments
        assert {v for v, _ in comment_rows} == {"SHARED", "INTERNAL"}
        assert {"PARTNER", "PROVIDER"} <= {k for _, k in comment_rows}

        # the provider's side of the work: assignees, notes, estimates
        orders = order_tables.orders
        worked = (
            await conn.execute(
                select(func.count()).where(
                    orders.c.assignee_id.is_not(None), orders.c.estimated_completion.is_not(None)
                )
            )
        ).scalar_one()
        assert worked > 0
        assert (await conn.execute(select(func.count()).where(orders.c.provider_notes != ""))).scalar_one() > 0

        # every change left an activity row and an outbox row, in the past
        activity = (await conn.execute(select(func.count()).select_from(order_tables.order_activity))).scalar_one()
        outbox_rows = (await conn.execute(select(order_tables.outbox.c.topic, order_tables.outbox.c.created_at))).all()
        assert len(outbox_rows) == activity
        topics = Counter(topic for topic, _ in outbox_rows)
        assert topics["ORDER_CREATED"] == 40
        for topic in ("STATUS_CHANGED", "QUOTE_SUBMITTED", "QUOTE_ACCEPTED", "COMMENT_ADDED", "ASSIGNED"):
            assert topics[topic] > 0, topic
        assert all(NOW - timedelta(days=200) < when <= NOW for _, when in outbox_rows)
        created = (await conn.execute(select(orders.c.created_at))).scalars().all()
        assert max(created) - min(created) > timedelta(days=30)  # spread over months, not one instant
        # order numbers follow the order in which orders were created
        by_number = (await conn.execute(select(orders.c.created_at).order_by(orders.c.number))).scalars().all()
        assert by_number == sorted(by_number)

    # the read port agrees, as the vendor sees it
    async with ports.uow() as uow:
        olivia = await uow.directory.user_by_email(DEMO_LOGINS[0].email)
        assert olivia is not None
        vendor = await uow.directory.organisation(olivia.organisation_id)
        assert vendor is not None and vendor.kind is OrgKind.VENDOR
    actor = Actor(olivia.id, vendor.id, vendor.kind, olivia.role, vendor.programme_id)
    counts = await SqlOrderQueries(engine).status_counts(viewer_for(actor), OrderFilter(archived=None))
    assert {c.status: c.count for c in counts} == summary.status_counts

    # and every demo user signs in with the documented password
    for login in DEMO_LOGINS:
        _secret, _token, user = await create_token(ports, login.email, DEMO_PASSWORD)
        assert user.role is login.role


async def load_into_new_sqlite(path: Path, *, orders: int, seed: int) -> tuple[DemoSummary, list[tuple[object, ...]]]:
    engine = create_engine(f"sqlite+aiosqlite:///{path / 'demo.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        summary = await load_demo(ports_for(engine, path / "blobs"), history_for(engine), orders=orders, seed=seed)
        o = order_tables.orders
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(o.c.number, o.c.name, o.c.kind, o.c.status, o.c.total, o.c.created_at).order_by(o.c.number)
                )
            ).all()
        return summary, [tuple(row) for row in rows]
    finally:
        await engine.dispose()


async def test_same_seed_same_programme_and_twelve_orders_cover_every_status(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()

    first, first_rows = await load_into_new_sqlite(tmp_path / "a", orders=12, seed=3)
    again, again_rows = await load_into_new_sqlite(tmp_path / "b", orders=12, seed=3)
    _other, other_rows = await load_into_new_sqlite(tmp_path / "c", orders=12, seed=4)

    assert first_rows == again_rows
    assert (first.quotes, first.comments) == (again.quotes, again.comments)
    assert set(first.status_counts.values()) == {1}  # twelve orders: each status exactly once
    assert first_rows != other_rows


async def test_no_orders_still_creates_the_cast(engine: AsyncEngine, tmp_path: Path) -> None:
    summary = await load_demo(ports_for(engine, tmp_path), history_for(engine), orders=0)
    assert summary.orders == 0
    assert len(summary.logins) == len(DEMO_LOGINS) >= 15
    assert {login.kind for login in summary.logins} == set(OrgKind)


async def test_negative_order_count_is_refused(engine: AsyncEngine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="negative"):
        await load_demo(ports_for(engine, tmp_path), history_for(engine), orders=-1)


async def pending_outbox(engine: AsyncEngine) -> int:
    o = order_tables.outbox
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).where(o.c.published_at.is_(None)))).scalar_one())


async def deliveries(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(notification_tables.notifications))).scalar_one()
        )


async def a_partner_of(ports: Ports, engine: AsyncEngine, status: OrderStatus) -> tuple[Actor, object]:
    """An order at `status` and a user of its partner, as an actor."""
    o, u = order_tables.orders, identity_tables.users
    async with engine.connect() as conn:
        order_id, partner_id = (
            await conn.execute(select(o.c.id, o.c.partner_id).where(o.c.status == status.value).limit(1))
        ).one()
        user_id = (await conn.execute(select(u.c.id).where(u.c.organisation_id == partner_id).limit(1))).scalar_one()
    async with ports.uow() as uow:
        user, org = await uow.directory.user(user_id), await uow.directory.organisation(partner_id)
    assert user is not None and org is not None
    return Actor(user.id, org.id, org.kind, user.role, org.programme_id), order_id


async def test_the_history_is_never_notified_and_what_follows_is(engine: AsyncEngine, tmp_path: Path) -> None:
    # given the demo loaded into an empty database
    ports = ports_for(engine, tmp_path / "blobs")
    await load_demo(ports, history_for(engine), orders=24, seed=7)
    # then its history is in the outbox, every row already published, and no delivery was planned
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(order_tables.outbox))).scalar_one() > 100
    assert await pending_outbox(engine) == 0
    assert await deliveries(engine) == 0
    # and the relay finds nothing to send
    enqueued: list[object] = []
    relay = Relay(engine, enqueued.extend, FixedClock())
    assert await relay.drain() == 0
    assert await relay.sweep(all_idle=True) == 0
    assert enqueued == [] and await deliveries(engine) == 0

    # when a partner comments on one of its orders in progress after the load
    actor, order_id = await a_partner_of(ports, engine, OrderStatus.IN_PROGRESS)
    await create_comment(ports, actor, CreateComment(order_id, "Any news?", CommentVisibility.SHARED))  # type: ignore[arg-type]
    # then that change is notified as usual: its outbox row is relayed into deliveries
    assert await pending_outbox(engine) == 1
    assert await relay.drain() == 1
    assert await deliveries(engine) >= 1
    assert len(enqueued) == await deliveries(engine)
