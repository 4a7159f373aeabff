"""Test data for the read side, built through the domain and saved through SqlUnitOfWork.

A `World` is one programme with its vendor, partners and providers (one user each, plus
extra users where asked); orders are made with `new_order` and the `Order` methods, so
every row, event and audience is one the application itself would write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import session_factory
from adapters.uow import SqlUnitOfWork, sql_uow_factory
from domain.identity.model import Actor, Organisation, OrgKind, Programme, Role, User
from domain.orders.catalogue import Service
from domain.orders.comments import Comment, CommentVisibility, Upload, new_comment
from domain.orders.lifecycle import OrderKind
from domain.orders.lines import Line
from domain.orders.order import Order
from domain.orders.placing import new_order

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
"""The seeds' clock starts here; tests add minutes to it."""


def at(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


@dataclass(frozen=True, slots=True)
class Member:
    """An organisation and one of its users."""

    org: Organisation
    user: User

    @property
    def actor(self) -> Actor:
        """The user as a caller."""
        return Actor(self.user.id, self.org.id, self.org.kind, self.user.role, self.org.programme_id)


@dataclass(slots=True)
class World:
    """One programme and its organisations."""

    programme: Programme
    vendor: Member
    partners: list[Member]
    providers: list[Member]
    services: dict[UUID, Service] = field(default_factory=dict)
    extra_users: list[User] = field(default_factory=list)

    @property
    def everyone(self) -> list[Member]:
        """The vendor, every partner and every provider."""
        return [self.vendor, *self.partners, *self.providers]


def uow_factory(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    """Fresh units of work on `engine`."""
    return sql_uow_factory(session_factory(engine))


def _user(org: Organisation, name: str, *, active: bool = True) -> User:
    email = f"{name.lower().replace(' ', '.')}.{uuid4().hex[:8]}@example.com"
    return User(uuid4(), org.id, email, name, Role.MEMBER, "$argon2id$not-a-real-hash", active)


async def build_world(
    engine: AsyncEngine,
    *,
    partners: Sequence[str] = ("Acme Partners", "Bravo IT"),
    providers: Sequence[str] = ("Mailers Inc", "Event Co"),
    tag: str = "",
) -> World:
    """A programme with a vendor, the partners and providers named (one user each, one service per provider)."""
    programme = Programme(uuid4(), f"Programme {tag}".strip())

    def member(kind: OrgKind, name: str) -> Member:
        org = Organisation(uuid4(), programme.id, kind, f"{name}{tag}")
        return Member(org, _user(org, f"{name} User{tag}"))

    world = World(
        programme=programme,
        vendor=member(OrgKind.VENDOR, "Vendor"),
        partners=[member(OrgKind.PARTNER, n) for n in partners],
        providers=[member(OrgKind.PROVIDER, n) for n in providers],
    )
    for provider in world.providers:
        service = Service(uuid4(), provider.org.id, f"Email blast by {provider.org.name}", "EMAIL", Decimal("100.00"))
        world.services[provider.org.id] = service
    async with uow_factory(engine)() as uow:
        await uow.directory.add_programme(programme)
        for m in world.everyone:
            await uow.directory.add_organisation(m.org)
            await uow.directory.add_user(m.user)
        for service in world.services.values():
            await uow.catalogue.add_service(service)
        await uow.commit()
    return world


async def add_users(engine: AsyncEngine, users: Sequence[User]) -> None:
    """Insert more users."""
    async with uow_factory(engine)() as uow:
        for user in users:
            await uow.directory.add_user(user)
        await uow.commit()


def extra_user(org: Organisation, name: str, *, active: bool = True) -> User:
    """A further user of `org` (insert it with `add_users`)."""
    return _user(org, name, active=active)


async def save_new(engine: AsyncEngine, orders: Sequence[Order], comments: Sequence[Comment] = ()) -> None:
    """Insert new orders (with their quotes and events) and comments in one unit of work."""
    async with uow_factory(engine)() as uow:
        for order in orders:
            await uow.orders.add(order)
        for comment in comments:
            await uow.comments.add(comment)
        await uow.commit()


async def numbers(engine: AsyncEngine, programme_id: UUID, count: int) -> list[int]:
    """The programme's next `count` order numbers."""
    async with uow_factory(engine)() as uow:
        taken = [await uow.orders.next_number(programme_id) for _ in range(count)]
        await uow.commit()
    return taken


def draft(world: World, partner: Member, number: int, now: datetime, *, name: str = "", **fields: object) -> Order:
    """A quoted DRAFT order of `partner`."""
    return new_order(
        actor=partner.actor,
        now=now,
        number=number,
        kind=OrderKind.QUOTED,
        name=name or f"Order {number}",
        **fields,  # type: ignore[arg-type]
    )


def flat_fee(world: World, partner: Member, provider: Member, number: int, now: datetime, **fields: object) -> Order:
    """A flat-fee DRAFT order of `partner` buying `provider`'s service."""
    return new_order(
        actor=partner.actor,
        now=now,
        number=number,
        kind=OrderKind.FLAT_FEE,
        service=world.services[provider.org.id],
        name=str(fields.pop("name", f"Order {number}")),
        **fields,  # type: ignore[arg-type]
    )


def released(world: World, order: Order, provider: Member, now: datetime) -> Order:
    """Submit a flat-fee draft and have the vendor approve it: it reaches its provider."""
    partner = next(p for p in world.partners if p.org.id == order.partner_id)
    order.submit(partner.actor, now)
    order.approve(world.vendor.actor, now + timedelta(seconds=1))
    return order


def quote_lines(amount: str = "250.00") -> list[Line]:
    """One line item worth `amount`."""
    return [Line("Campaign", Decimal(1), Decimal(amount))]


def comment(
    author: Member,
    order: Order,
    now: datetime,
    body: str,
    visibility: CommentVisibility = CommentVisibility.SHARED,
    files: Sequence[str] = (),
) -> Comment:
    """A comment through the domain, with small text attachments named `files`."""
    uploads = [(Upload(name, b"hello", "text/plain"), "0" * 64) for name in files]
    return new_comment(actor=author.actor, order=order, now=now, body=body, visibility=visibility, files=uploads)


def ids(items: Sequence[Any]) -> list[UUID]:
    """The ids of `items`, in their order."""
    return [item.id for item in items]
