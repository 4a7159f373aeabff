"""What every order service guarantees, over the in-memory fakes: visibility, versions, concurrency, rollback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.common.errors import NotFound, VersionConflict
from domain.identity.model import Actor
from domain.orders.commands import (
    AssignOrder,
    ChangeOrderStatus,
    CreateComment,
    DecideQuote,
    DeclineQuote,
    OrderCommand,
    ReasonedOrderCommand,
    SubmitQuote,
    UpdateOrder,
)
from domain.orders.events import EventKind
from domain.orders.fields import Priority
from domain.orders.lifecycle import OrderKind
from domain.orders.lines import Line
from domain.orders.order import Order
from domain.orders.services import comments as comment_services
from domain.orders.services import orders as order_services
from domain.orders.services import quotes as quote_services
from tests.domain.paths import PATHS, STATE_IDS, state_at
from tests.domain.world import OTHER_PROVIDER, PARTNER, PROVIDER, PROVIDER_2, VENDOR, World
from tests.services.conftest import S, Scene, pdf
from tests.services.fakes import FakeStore, FakeUnitOfWork, make_fakes

# ---- not visible: not found ------------------------------------------------------------------------------

Call = Callable[[Scene, Actor, Order], Awaitable[object]]

ORDER_CALLS: dict[str, Call] = {
    "update": lambda s, a, o: order_services.update_order(s.ports, a, UpdateOrder(o.id, {"priority": Priority.LOW})),
    "submit": lambda s, a, o: order_services.submit_order(s.ports, a, OrderCommand(o.id)),
    "approve": lambda s, a, o: order_services.approve_order(s.ports, a, OrderCommand(o.id)),
    "reject": lambda s, a, o: order_services.reject_order(s.ports, a, ReasonedOrderCommand(o.id, "no")),
    "change_status": lambda s, a, o: order_services.change_order_status(
        s.ports, a, ChangeOrderStatus(o.id, S.NOT_STARTED)
    ),
    "cancel": lambda s, a, o: order_services.cancel_order(s.ports, a, ReasonedOrderCommand(o.id, "no")),
    "archive": lambda s, a, o: order_services.archive_order(s.ports, a, OrderCommand(o.id)),
    "assign": lambda s, a, o: order_services.assign_order(s.ports, a, AssignOrder(o.id, a.user_id)),
    "submit_quote": lambda s, a, o: quote_services.submit_quote(
        s.ports, a, SubmitQuote(o.id, (Line("x", Decimal(1), Decimal(1)),))
    ),
    "decline_quote": lambda s, a, o: quote_services.decline_quote(s.ports, a, DeclineQuote(o.id)),
    "create_comment": lambda s, a, o: comment_services.create_comment(
        s.ports, a, CreateComment(o.id, "Hello", uploads=(pdf(),))
    ),
}


@pytest.mark.parametrize("ids", STATE_IDS, ids=lambda ids: f"path{ids[0]}-step{ids[1]}")
async def test_an_actor_who_cannot_see_the_order_gets_not_found_from_every_service(
    scene: Scene, ids: tuple[int, int]
) -> None:
    # given an order part-way along a lifecycle path, stored
    state = state_at(PATHS[ids[0]], ids[1])
    store = FakeStore()
    store.seed(state.world)
    fakes = make_fakes(store, state.world.now)
    here = Scene(state.world, fakes)
    order = store.put_order(state.order)
    blind = [who for who, party in state.roles.items() if party is None]
    assert blind, "every state has someone who cannot see the order"
    before = store.snapshot()
    # when anyone who cannot see it calls any service on it (with any expected version)
    for who in blind:
        actor = state.world.actor(who)
        for name, service in ORDER_CALLS.items():
            with pytest.raises(NotFound) as refused:
                await service(here, actor, order)
            assert refused.value.message == "Order not found.", (who, name)
        for quote in order.quotes:
            for decide in (quote_services.accept_quote, quote_services.reject_quote):
                with pytest.raises(NotFound, match=r"^Quote not found"):
                    await decide(here.ports, actor, DecideQuote(quote.id, expected_version=order.version + 7))
        with pytest.raises(NotFound):  # not VersionConflict: a stale version must not reveal the order
            await order_services.cancel_order(
                here.ports, actor, ReasonedOrderCommand(order.id, "x", expected_version=order.version + 7)
            )
    # then nothing at all changed, and no file was stored
    assert store.snapshot() == before
    assert fakes.blobs.puts == 0


async def test_an_unknown_order_is_not_found(scene: Scene) -> None:
    ghost = Order(
        uuid4(), scene.world.programme.id, 1, OrderKind.QUOTED, S.DRAFT, "x", uuid4(), uuid4(), scene.world.now
    )
    for service in ORDER_CALLS.values():
        with pytest.raises(NotFound):
            await service(scene, scene.actor(VENDOR), ghost)


# ---- expected version --------------------------------------------------------------------------------------

Command = Callable[[World, UUID, int], Any]
VERSIONED: dict[str, tuple[str, Command, Callable[..., Awaitable[object]]]] = {
    "update": (
        PROVIDER,
        lambda w, o, v: UpdateOrder(o, {"provider_notes": "n"}, expected_version=v),
        order_services.update_order,
    ),
    "change_status": (
        PROVIDER,
        lambda w, o, v: ChangeOrderStatus(o, S.IN_PROGRESS, v),
        order_services.change_order_status,
    ),
    "cancel": (PARTNER, lambda w, o, v: ReasonedOrderCommand(o, "Stop", v), order_services.cancel_order),
    "assign": (PROVIDER, lambda w, o, v: AssignOrder(o, w.users[PROVIDER_2].id, v), order_services.assign_order),
}


@pytest.mark.parametrize("name", VERSIONED)
async def test_an_expected_version_that_is_not_the_current_one_is_a_conflict(scene: Scene, name: str) -> None:
    # given an order at some version
    order = await scene.working()
    who, command, service = VERSIONED[name]
    before = scene.store.snapshot()
    # when a command names an older (or a future) version, then it conflicts and changes nothing
    for stale in (order.version - 1, order.version + 1):
        with pytest.raises(VersionConflict) as conflict:
            await service(scene.ports, scene.actor(who), command(scene.world, order.id, stale))
        assert (conflict.value.expected, conflict.value.current) == (stale, order.version)
        assert conflict.value.field == "expectedVersion"
    assert scene.store.snapshot() == before
    # and with the current version it goes through
    await service(scene.ports, scene.actor(who), command(scene.world, order.id, order.version))
    assert scene.store.order(order.id).version == order.version + 1


async def test_expected_versions_on_the_other_lifecycle_services(scene: Scene) -> None:
    ports = scene.ports
    draft = await scene.place(OrderKind.FLAT_FEE)
    with pytest.raises(VersionConflict):
        await order_services.submit_order(ports, scene.actor(PARTNER), OrderCommand(draft.id, draft.version + 1))
    pending = await order_services.submit_order(ports, scene.actor(PARTNER), OrderCommand(draft.id, draft.version))
    with pytest.raises(VersionConflict):
        await order_services.approve_order(ports, scene.actor(VENDOR), OrderCommand(pending.id, 1))
    with pytest.raises(VersionConflict):
        await order_services.reject_order(ports, scene.actor(VENDOR), ReasonedOrderCommand(pending.id, "", 1))
    rejected = await order_services.reject_order(
        ports, scene.actor(VENDOR), ReasonedOrderCommand(pending.id, "", pending.version)
    )
    with pytest.raises(VersionConflict):
        await order_services.archive_order(ports, scene.actor(VENDOR), OrderCommand(rejected.id, pending.version))
    request = await scene.submitted()
    quote_id = await scene.quote(request.id, PROVIDER)
    stale = request.version  # the quote moved the order on
    for decide in (quote_services.accept_quote, quote_services.reject_quote):
        with pytest.raises(VersionConflict):
            await decide(ports, scene.actor(PARTNER), DecideQuote(quote_id, expected_version=stale))
    await quote_services.accept_quote(ports, scene.actor(PARTNER), DecideQuote(quote_id, expected_version=stale + 1))


# ---- concurrency ---------------------------------------------------------------------------------------------


async def test_two_concurrent_changes_one_wins_the_other_conflicts_and_changes_nothing(scene: Scene) -> None:
    # given an order both provider users loaded at the same version
    order = await scene.working()
    events_before = len(scene.store.events)
    # when both change its status at once
    results = await asyncio.gather(
        order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.IN_PROGRESS)
        ),
        order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER_2), ChangeOrderStatus(order.id, S.SCHEDULED)
        ),
        return_exceptions=True,
    )
    # then exactly one wins; the other is told the order changed under it
    winners = [r for r in results if isinstance(r, Order)]
    losers = [r for r in results if isinstance(r, VersionConflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert (losers[0].expected, losers[0].current) == (order.version, order.version + 1)
    # and the store holds the winner's change and only the winner's event
    stored = scene.store.order(order.id)
    assert stored.status is winners[0].status
    assert stored.version == order.version + 1
    new_events = scene.store.events[events_before:]
    assert [(e.kind, e.after["status"]) for e in new_events] == [(EventKind.STATUS_CHANGED, stored.status.value)]


async def test_a_cancel_racing_a_status_change_cannot_both_happen(scene: Scene) -> None:
    order = await scene.working()
    results = await asyncio.gather(
        order_services.cancel_order(scene.ports, scene.actor(PARTNER), ReasonedOrderCommand(order.id, "Stop")),
        order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.IN_PROGRESS)
        ),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Order", "VersionConflict"]
    assert scene.store.order(order.id).status in (S.CANCELLED, S.IN_PROGRESS)


async def test_two_providers_quoting_at_once_both_quote(scene: Scene) -> None:
    # Quotes live inside the order aggregate, so the second save loses to the first like any two changes;
    # but neither provider may see the other's quote, so the loser is not refused for it: its command runs
    # once more from a fresh load (issue 8, item 8), and both quotes are kept.
    order = await scene.submitted()
    results = await asyncio.gather(
        scene.quote(order.id, PROVIDER), scene.quote(order.id, OTHER_PROVIDER), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    stored = scene.store.order(order.id)
    assert sorted(str(q.provider_id) for q in stored.quotes) == sorted(
        str(scene.world.org_id(who)) for who in (PROVIDER, OTHER_PROVIDER)
    )
    assert stored.version == order.version + 2


async def test_a_save_overtaken_before_its_commit_conflicts_at_commit(scene: Scene) -> None:
    # given two units of work that loaded the same order
    order = await scene.working()
    first, second = FakeUnitOfWork(scene.store), FakeUnitOfWork(scene.store)
    async with first, second:
        a = await first.orders.get(order.id)
        b = await second.orders.get(order.id)
        assert a is not None and b is not None
        a.change_status(scene.actor(PROVIDER), scene.clock.now(), S.IN_PROGRESS)
        b.change_status(scene.actor(PROVIDER_2), scene.clock.now(), S.EXECUTING)
        # when the first saves, the second saves and commits, and only then the first commits
        await first.orders.save(a)
        await second.orders.save(b)
        await second.commit()
        # then the first is refused
        with pytest.raises(VersionConflict):
            await first.commit()
    assert scene.store.order(order.id).status is S.EXECUTING


# ---- units of work: isolation and rollback -----------------------------------------------------------------


async def test_uncommitted_changes_are_invisible_to_other_units_of_work(scene: Scene) -> None:
    order = await scene.working()
    async with FakeUnitOfWork(scene.store) as uow:
        mine = await uow.orders.get(order.id)
        assert mine is not None
        assert await uow.orders.get(order.id) is mine  # identity map
        mine.change_status(scene.actor(PROVIDER), scene.clock.now(), S.IN_PROGRESS)
        await uow.orders.save(mine)
        async with FakeUnitOfWork(scene.store) as other:
            theirs = await other.orders.get(order.id)
            assert theirs is not None and theirs.status is S.NOT_STARTED
        # leaving without commit rolls back
    assert scene.store.order(order.id).status is S.NOT_STARTED


async def test_a_failing_commit_leaves_nothing_behind(scene: Scene) -> None:
    order = await scene.working()
    before = scene.store.snapshot()
    scene.store.fail_next_commit = ConnectionError("database went away")
    with pytest.raises(ConnectionError):
        await order_services.change_order_status(
            scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.IN_PROGRESS)
        )
    assert scene.store.snapshot() == before
    # and the next attempt starts from the committed state
    await order_services.change_order_status(
        scene.ports, scene.actor(PROVIDER), ChangeOrderStatus(order.id, S.IN_PROGRESS)
    )
    assert scene.store.order(order.id).version == order.version + 1


async def test_the_fake_refuses_orders_changed_but_not_saved_and_saves_of_strangers(scene: Scene) -> None:
    order = await scene.working()
    async with FakeUnitOfWork(scene.store) as uow:
        loaded = await uow.orders.get(order.id)
        assert loaded is not None
        loaded.change_status(scene.actor(PROVIDER), scene.clock.now(), S.IN_PROGRESS)
        with pytest.raises(RuntimeError, match="changed but not saved"):
            await uow.commit()
        with pytest.raises(ValueError, match="loaded or added"):
            await uow.orders.save(scene.store.order(order.id))
    assert scene.store.order(order.id).status is S.NOT_STARTED
