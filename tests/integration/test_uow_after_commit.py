"""SqlUnitOfWork's after-commit hook (live-update hints): after a commit only, with each event's order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.uow import SqlUnitOfWork, sql_uow_factory
from domain.identity import TokenRevoked
from domain.identity.model import AccessToken, Actor
from domain.orders.comments import CommentVisibility, new_comment
from domain.orders.events import EventKind, OrderEvent
from domain.orders.order import Order
from tests.integration.test_uow import NOW, actors, create, order_row, sessions

__all__ = ["actors", "sessions"]  # fixtures shared with test_uow

Committed = list[tuple[OrderEvent, Order]]


class Recorder:
    """An after-commit hook that records what it was given (and fails when told to)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[Committed] = []
        self.fail = fail

    async def __call__(self, committed: Sequence[tuple[OrderEvent, Order]]) -> None:
        self.calls.append(list(committed))
        if self.fail:
            raise ConnectionError("bus down")


async def test_the_hook_gets_each_committed_event_with_its_order_as_committed(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])
    hook = Recorder()
    async with sql_uow_factory(sessions, after_commit=hook)() as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.submit(actors["partner"], NOW + timedelta(minutes=1))
        await uow.orders.save(loaded)
        assert hook.calls == []  # nothing before the commit
        await uow.commit()
    [[(event, seen)]] = hook.calls
    assert event.kind is EventKind.STATUS_CHANGED
    assert event == uow.committed_events[0]
    assert seen is loaded
    assert seen.status.value == "PENDING_QUOTES"


async def test_a_failing_hook_never_fails_the_commit(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor], caplog: pytest.LogCaptureFixture
) -> None:
    order = await create(sessions, actors["partner"])
    async with SqlUnitOfWork(sessions, after_commit=Recorder(fail=True)) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.update(actors["partner"], NOW, {"name": "Renamed"})
        await uow.orders.save(loaded)
        await uow.commit()
    assert (await order_row(sessions, order.id)).name == "Renamed"
    assert "after-commit hook failed" in caplog.text


async def test_no_hook_call_without_a_commit_or_without_events(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])
    hook = Recorder()
    async with SqlUnitOfWork(sessions, after_commit=hook) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.update(actors["partner"], NOW, {"name": "Never committed"})
        await uow.orders.save(loaded)
    async with SqlUnitOfWork(sessions, after_commit=hook) as uow:
        await uow.orders.get(order.id)
        await uow.commit()
    assert hook.calls == []


async def test_a_comment_added_without_loading_its_order_still_gets_it(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    order = await create(sessions, actors["partner"])
    hook = Recorder()
    async with SqlUnitOfWork(sessions, after_commit=hook) as uow:
        comment = new_comment(
            actor=actors["partner"], order=order, now=NOW, body="hi", visibility=CommentVisibility.SHARED, files=[]
        )
        await uow.comments.add(comment)
        await uow.commit()
    [[(event, seen)]] = hook.calls
    assert event.kind is EventKind.COMMENT_ADDED
    assert seen.id == order.id and seen.partner_id == order.partner_id


async def test_a_revocation_is_announced_after_its_commit_only(
    sessions: async_sessionmaker[AsyncSession], actors: dict[str, Actor]
) -> None:
    # given a live token and a unit of work whose revocation hook records what it is told
    digest = "ab" * 32
    async with SqlUnitOfWork(sessions) as uow:
        await uow.directory.add_token(AccessToken(digest, actors["partner"].user_id, NOW, NOW + timedelta(days=1)))
        await uow.commit()
    announced: list[list[TokenRevoked]] = []

    async def hook(revoked: Sequence[TokenRevoked]) -> None:
        announced.append(list(revoked))

    uow_factory = sql_uow_factory(sessions, after_revocation=hook)
    # when a revocation is rolled back: then nothing is announced
    async with uow_factory() as uow:
        assert await uow.directory.revoke_token(digest, NOW)
    assert announced == []
    # when it commits: then it is announced once the commit is done, not before
    async with uow_factory() as uow:
        assert await uow.directory.revoke_token(digest, NOW)
        assert announced == []
        await uow.commit()
    assert announced == [[TokenRevoked(digest, NOW)]]
    # and revoking it again (or an unknown token) changes nothing and announces nothing
    async with uow_factory() as uow:
        assert not await uow.directory.revoke_token(digest, NOW + timedelta(hours=1))
        assert not await uow.directory.revoke_token("0" * 64, NOW)
        await uow.commit()
    assert announced == [[TokenRevoked(digest, NOW)]]
