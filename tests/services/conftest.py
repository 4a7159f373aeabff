"""Service test fixtures: the world, the in-memory fakes over it, and a `Scene` to drive the services with."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from domain.identity.model import Actor
from domain.orders.commands import ChangeOrderStatus, CreateOrder, OrderCommand, SubmitQuote
from domain.orders.comments import Upload
from domain.orders.lifecycle import OrderKind, OrderStatus
from domain.orders.lines import Line
from domain.orders.order import Order
from domain.orders.services import orders as order_services
from domain.orders.services import quotes as quote_services
from tests.domain.world import PARTNER, PROVIDER, VENDOR, World, make_world
from tests.services.fakes import Fakes, FakeStore, make_fakes

S = OrderStatus


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def fakes(world: World) -> Fakes:
    store = FakeStore()
    store.seed(world)
    return make_fakes(store, world.now)


class Scene:
    """The world and the fakes, with short-hands for driving the services as one user or another."""

    def __init__(self, world: World, fakes: Fakes) -> None:
        self.world, self.fakes = world, fakes
        self.ports, self.store, self.clock = fakes.ports, fakes.store, fakes.clock

    def actor(self, who: str) -> Actor:
        return self.world.actor(who)

    async def place(self, kind: OrderKind = OrderKind.QUOTED, **kwargs: Any) -> Order:
        if kind is OrderKind.FLAT_FEE:
            kwargs.setdefault("service_id", self.world.service.id)
        cmd = CreateOrder(kind=kind, name=kwargs.pop("name", "Spring campaign"), **kwargs)
        return await order_services.create_order(self.ports, self.actor(PARTNER), cmd)

    async def submitted(self, kind: OrderKind = OrderKind.QUOTED, **kwargs: Any) -> Order:
        order = await self.place(kind, **kwargs)
        return await order_services.submit_order(self.ports, self.actor(PARTNER), OrderCommand(order.id))

    async def quote(self, order_id: UUID, who: str, total: int = 1000, expires_in_days: int = 14) -> UUID:
        cmd = SubmitQuote(
            order_id,
            (Line("Work", Decimal(1), Decimal(total)),),
            expires_on=self.clock.now().date() + timedelta(days=expires_in_days),
            promised_completion=self.clock.now().date() + timedelta(days=30),
            message="Our offer",
        )
        _, quote = await quote_services.submit_quote(self.ports, self.actor(who), cmd)
        return quote.id

    async def approved(self) -> Order:
        """A flat-fee order the vendor approved."""
        order = await self.submitted(OrderKind.FLAT_FEE)
        return await order_services.approve_order(self.ports, self.actor(VENDOR), OrderCommand(order.id))

    async def working(self) -> Order:
        """An approved order its provider has moved to NOT_STARTED."""
        order = await self.approved()
        cmd = ChangeOrderStatus(order.id, S.NOT_STARTED)
        return await order_services.change_order_status(self.ports, self.actor(PROVIDER), cmd)


@pytest.fixture
def scene(world: World, fakes: Fakes) -> Scene:
    return Scene(world, fakes)


def pdf(data: bytes = b"%PDF-1.7 brief", name: str = "brief.pdf") -> Upload:
    return Upload(name, data, "application/pdf")
