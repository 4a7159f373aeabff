"""SqlUnitOfWork: events to the timeline and the outbox atomically, rollback, SQLite write locking."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.db import for_writing, session_factory
from adapters.identity import tables as identity_tables
from adapters.orders import mapping as order_mapping
from adapters.orders import tables as order_tables
from adapters.uow import SqlHistory, SqlUnitOfWork, sql_uow_factory
from domain.common.errors import VersionConflict
from domain.identity.model import Actor, Organisation, OrgKind, Programme, Role, User
from domain.orders.comments import CommentVisibility, new_comment
from domain.orders.events import Audience, EventKind
from domain.orders.lifecycle import OrderKind
from domain.orders.order import Order
from domain.orders.placing import new_order

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def actors(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Actor]:
    """A programme with a partner, a provider and a vendor user each, as actors."""
    programme = Programme(uuid4(), "Marketplace")
    result: dict[str, Actor] = {}
    async with SqlUnitOfWork(sessions) as uow:
        await uow.directory.add_programme(programme)
        for kind in OrgKind:
            org = Organisation(uuid4(), programme.id, kind, kind.value.title())
            user = User(uuid4(), org.id, f"{kind.value.lower()}@example.com", kind.value, Role.MEMBER, "x")
            await uow.directory.add_organisation(org)
            await uow.directory.add_user(user)
            result[kind.value.lower()] = Actor(user.id, org.id, kind, Role.MEMBER, programme.id)
        await uow.commit()
    return result


async def create(sessions: async_sessionmaker[AsyncSession], partner: Actor, now: datetime = NOW) -> Order:
    async with SqlUnitOfWork(sessions) as uow:
        number = await uow.orders.next_number(partner.programme_id)
        order = new_order(actor=partner, now=now, number=number, kind=OrderKind.QUOTED, name="Launch")
        await uow.orders.add(order)
        await uow.commit()
    return order


async def rows(sessions: async_sessionmaker[AsyncSession], table: Any) -> list[Any]:
    async with sessions() as session:
        return list((await session.execute(select(table))).all())


async def order_row(sessions: async_sessionmaker[AsyncSession], order_id: UUID) -> Any:
    async with sessions() as session:
        return (await session.execute(select(order_tables.orders).where(order_tables.orders.c.id == order_id))).one()


async def test_events_land_in_the_timeline_and_the_outbox_with_the_change(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    # given an order created (one event) and then submitted (another)
    order = await create(sessions, actors["partner"])
    later = NOW + timedelta(minutes=5)
    async with sql_uow_factory(sessions)() as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.submit(actors["partner"], later)
        await uow.orders.save(loaded)
        await uow.commit()
    # then each event is one activity row and one outbox row, with the same id
    activity = sorted(
        (order_mapping.event_from_row(r) for r in await rows(sessions, order_tables.order_activity)),
        key=lambda e: e.occurred_at,
    )
    outbox = sorted(await rows(sessions, order_tables.outbox), key=lambda r: r.id)
    assert [e.kind for e in activity] == [EventKind.ORDER_CREATED, EventKind.STATUS_CHANGED]
    assert [r.event_id for r in outbox] == [e.id for e in activity]
    assert [r.topic for r in outbox] == ["ORDER_CREATED", "STATUS_CHANGED"]
    changed = activity[1]
    assert (changed.before, changed.after) == ({"status": "DRAFT"}, {"status": "PENDING_QUOTES", "action": "SUBMIT"})
    assert changed.actor_user_id == actors["partner"].user_id
    assert changed.occurred_at == later
    assert outbox[1].order_id == order.id
    assert outbox[1].published_at is None
    assert outbox[1].payload == {
        "event_id": str(changed.id),
        "kind": "STATUS_CHANGED",
        "order_id": str(order.id),
        "subject_id": None,
        "actor_user_id": str(actors["partner"].user_id),
        "actor_org_id": str(actors["partner"].organisation_id),
        "occurred_at": later.isoformat(),
        "audience": {"org_id": None, "buyer_side": False},
    }
    assert uow.committed_events == [changed]
    assert loaded.events == []


async def test_leaving_without_commit_rolls_back_the_change_and_its_events(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])

    async def rename_then_fail() -> None:
        async with SqlUnitOfWork(sessions) as uow:
            loaded = await uow.orders.get(order.id)
            assert loaded is not None
            loaded.update(actors["partner"], NOW, {"name": "Renamed"})
            await uow.orders.save(loaded)
            raise RuntimeError("boom")

    # when a change is saved but the block fails before commit
    with pytest.raises(RuntimeError, match="boom"):
        await rename_then_fail()
    # and when another is saved and simply not committed
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.submit(actors["partner"], NOW)
        await uow.orders.save(loaded)
    # then neither the order nor the timeline nor the outbox moved
    row = await order_row(sessions, order.id)
    assert (row.name, row.status, row.version) == ("Launch", "DRAFT", 1)
    assert len(await rows(sessions, order_tables.order_activity)) == 1
    assert len(await rows(sessions, order_tables.outbox)) == 1


async def test_a_failing_event_write_takes_the_change_down_with_it(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    # given an event id already in the outbox (an at-most-once guard), so writing the event fails
    order = await create(sessions, actors["partner"])
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.update(actors["partner"], NOW, {"name": "Renamed"})
        await uow.orders.save(loaded)
        existing = (await rows(sessions, order_tables.outbox))[0].event_id
        loaded.events[0] = replace(loaded.events[0], id=existing)
        with pytest.raises(IntegrityError):
            await uow.commit()
    # then the order change was not committed either
    row = await order_row(sessions, order.id)
    assert (row.name, row.version) == ("Launch", 1)


async def test_last_activity_is_the_newest_event_and_only_moves_forward(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])
    assert (await order_row(sessions, order.id)).last_activity_at == NOW

    async def comment(at: datetime) -> None:
        async with SqlUnitOfWork(sessions) as uow:
            loaded = await uow.orders.get(order.id)
            assert loaded is not None
            c = new_comment(
                actor=actors["partner"], order=loaded, now=at, body="hi", visibility=CommentVisibility.SHARED, files=[]
            )
            await uow.comments.add(c)
            await uow.commit()

    # a comment an hour later moves it (without changing the order's version)
    await comment(NOW + timedelta(hours=1))
    row = await order_row(sessions, order.id)
    assert (row.last_activity_at, row.version) == (NOW + timedelta(hours=1), 1)
    # an event stamped earlier (a slow request committing late) does not move it back
    await comment(NOW + timedelta(minutes=30))
    assert (await order_row(sessions, order.id)).last_activity_at == NOW + timedelta(hours=1)
    # nor does saving an order whose in-memory last activity is older
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.last_activity_at = NOW
        loaded.update(actors["partner"], NOW + timedelta(minutes=10), {"name": "Renamed"})
        await uow.orders.save(loaded)
        await uow.commit()
    row = await order_row(sessions, order.id)
    assert (row.name, row.last_activity_at) == ("Renamed", NOW + timedelta(hours=1))
    assert len(await rows(sessions, order_tables.order_activity)) == 4


async def test_comment_events_keep_their_audience(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        c = new_comment(
            actor=actors["partner"], order=loaded, now=NOW, body="ours", visibility=CommentVisibility.INTERNAL, files=[]
        )
        await uow.comments.add(c)
        await uow.commit()
    [event] = [
        order_mapping.event_from_row(r)
        for r in await rows(sessions, order_tables.order_activity)
        if r.kind == EventKind.COMMENT_ADDED.value
    ]
    assert event.audience == Audience(org_id=actors["partner"].organisation_id)
    assert event.subject_id == c.id
    outbox = [r for r in await rows(sessions, order_tables.outbox) if r.topic == "COMMENT_ADDED"]
    assert outbox[0].payload["audience"] == {"org_id": str(actors["partner"].organisation_id), "buyer_side": False}
    assert outbox[0].payload["subject_id"] == str(c.id)


async def test_commit_refuses_an_order_changed_but_not_saved(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.submit(actors["partner"], NOW)
        with pytest.raises(RuntimeError, match="not saved"):
            await uow.commit()
    assert (await order_row(sessions, order.id)).status == "DRAFT"


async def test_two_concurrent_writers_of_one_order_give_one_success_and_one_conflict(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    # given two units of work running at once, both having read the order at version 1
    order = await create(sessions, actors["partner"])
    both_loaded = asyncio.Barrier(2)

    async def rename(name: str) -> str:
        async with SqlUnitOfWork(sessions) as uow:
            loaded = await uow.orders.get(order.id)
            assert loaded is not None
            await both_loaded.wait()
            loaded.update(actors["partner"], NOW, {"name": name})
            try:
                await uow.orders.save(loaded)
                await uow.commit()
            except VersionConflict as conflict:
                return f"conflict {conflict.expected}->{conflict.current}"
        return "ok"

    # when both save and commit (never "database is locked" on SQLite: the loser waits, then conflicts)
    outcomes = await asyncio.gather(rename("A"), rename("B"))

    # then exactly one won
    assert sorted(outcomes) == ["conflict 1->2", "ok"]
    row = await order_row(sessions, order.id)
    assert row.version == 2
    assert row.name in ("A", "B")
    assert len(await rows(sessions, order_tables.outbox)) == 2


async def test_readers_are_not_blocked_by_a_writer_holding_the_lock(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.submit(actors["partner"], NOW)
        await uow.orders.save(loaded)  # the writer now holds SQLite's write lock until commit

        async def read() -> tuple[str, int]:
            async with sessions() as session:
                row = (
                    await session.execute(select(order_tables.orders).where(order_tables.orders.c.id == order.id))
                ).one()
                return row.status, row.version

        # readers (plain sessions, deferred BEGIN) answer at once, with the last committed state
        assert list(await asyncio.wait_for(asyncio.gather(read(), read(), read()), timeout=5)) == [("DRAFT", 1)] * 3
        await uow.commit()
    assert await read() == ("PENDING_QUOTES", 2)


async def test_a_unit_of_work_that_only_reads_takes_no_write_lock(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])
    async with SqlUnitOfWork(sessions) as reader:
        assert await reader.orders.get(order.id) is not None
        assert await reader.directory.user(actors["partner"].user_id) is not None
        # a writer elsewhere is not held up by this open reading unit of work
        renamed = await asyncio.wait_for(_rename(sessions, order.id, actors["partner"], "Elsewhere"), timeout=5)
        assert renamed == 2
        await reader.commit()


async def _rename(sessions: async_sessionmaker[AsyncSession], order_id: UUID, actor: Actor, name: str) -> int:
    async with SqlUnitOfWork(sessions) as uow:
        loaded = await uow.orders.get(order_id)
        assert loaded is not None
        loaded.update(actor, NOW, {"name": name})
        await uow.orders.save(loaded)
        await uow.commit()
    return loaded.version


async def test_for_writing_serialises_read_then_write_transactions(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's BEGIN IMMEDIATE option; PostgreSQL read-then-write needs row locks instead")
    # given a counter, and transactions that read it then write it back plus one
    async with engine.begin() as conn:
        await conn.execute(identity_tables.programmes.insert().values(id=uuid4(), name="P"))
    writer = for_writing(engine)

    async def bump() -> None:
        async with writer.begin() as conn:
            seq = (await conn.execute(select(identity_tables.programmes.c.order_seq))).scalar_one()
            await asyncio.sleep(0.01)
            await conn.execute(identity_tables.programmes.update().values(order_seq=seq + 1))

    # when ten run at once (on SQLite each takes the write lock at BEGIN and the others wait)
    await asyncio.gather(*(bump() for _ in range(10)))
    # then none was lost and none failed with "database is locked"
    async with engine.connect() as conn:
        assert (await conn.execute(select(identity_tables.programmes.c.order_seq))).scalar_one() == 10


async def test_sqlite_transactions_begin_as_the_design_says(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's BEGIN modes")
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.split()[0] in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        order = await create(sessions, actors["partner"])  # writes first: the lock at BEGIN
        creating, seen[:] = list(seen), []
        await _rename(sessions, order.id, actors["partner"], "Renamed")  # reads, then writes: upgrade
        renaming, seen[:] = list(seen), []
        async with sessions() as session:  # a plain reader: deferred
            await session.execute(select(order_tables.orders.c.id))
        reading = list(seen)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert creating == ["BEGIN IMMEDIATE"]
    assert renaming == ["BEGIN", "COMMIT", "BEGIN IMMEDIATE"]
    assert reading == ["BEGIN"]


# ---- SqlHistory: the past in one transaction, never notified --------------------------------------


class FixedClock:
    def now(self) -> datetime:
        return NOW + timedelta(days=1)


async def test_a_history_is_one_transaction_whose_outbox_rows_are_already_published(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    # given a history in which two orders are created and one submitted, each in a unit of work
    partner = actors["partner"]
    async with SqlHistory(sessions, FixedClock())() as units_of_work:
        ids = []
        for name in ("First", "Second"):
            async with units_of_work() as uow:
                order = new_order(
                    actor=partner,
                    now=NOW,
                    number=await uow.orders.next_number(partner.programme_id),
                    kind=OrderKind.QUOTED,
                    name=name,
                )
                await uow.orders.add(order)
                await uow.commit()
            ids.append(order.id)
        async with units_of_work() as uow:
            loaded = await uow.orders.get(ids[0])
            assert loaded is not None
            loaded.submit(partner, NOW + timedelta(hours=1))
            await uow.orders.save(loaded)
            await uow.commit()
        # (nothing is visible outside the history before its end)
        assert await rows(sessions, order_tables.orders) == []
    # then everything is there, numbered as usual, and every outbox row was published at the end
    timeline = await rows(sessions, order_tables.order_activity)
    assert sorted((row.order_id == ids[0], row.seq) for row in timeline) == [(False, 0), (True, 0), (True, 1)]
    outbox = await rows(sessions, order_tables.outbox)
    assert len(outbox) == 3 and {row.published_at for row in outbox} == {NOW + timedelta(days=1)}


async def test_a_history_keeps_nothing_when_a_unit_of_work_fails_or_wrote_without_committing(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    partner = actors["partner"]

    async def write_one(units_of_work: Any, *, commit: bool) -> None:
        async with units_of_work() as uow:
            number = await uow.orders.next_number(partner.programme_id)
            await uow.orders.add(new_order(actor=partner, now=NOW, number=number, kind=OrderKind.QUOTED, name="X"))
            if commit:
                await uow.commit()

    # when a unit of work writes and leaves without committing, then the history refuses to commit
    with pytest.raises(RuntimeError, match="did not commit"):
        async with SqlHistory(sessions, FixedClock())() as units_of_work:
            await write_one(units_of_work, commit=True)
            await write_one(units_of_work, commit=False)
    # and when the block fails, then it rolls back too
    with pytest.raises(ValueError, match="boom"):
        async with SqlHistory(sessions, FixedClock())() as units_of_work:
            await write_one(units_of_work, commit=True)
            raise ValueError("boom")
    assert await rows(sessions, order_tables.orders) == []
    assert await rows(sessions, order_tables.outbox) == []
