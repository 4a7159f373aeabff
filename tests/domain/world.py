"""A small programme to test the domain in: a vendor, two partners, two providers, users, a service.

Shared by the domain tests and the service tests (which seed it into the fakes).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from domain.identity.model import Actor, Organisation, OrgKind, Programme, Role, User
from domain.orders.catalogue import Service
from domain.orders.events import OrderEvent
from domain.orders.lifecycle import OrderKind
from domain.orders.lines import Line
from domain.orders.order import Order
from domain.orders.placing import new_order
from domain.orders.quotes import Quote

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""The time every world starts at."""

D = date(2026, 5, 1)
"""A date to set an order's date fields to, two months after T0."""

PASSWORD = "correct horse battery staple"

# The actors every table in the tests is written in terms of.
PARTNER = "partner"  # a user of the ordering partner
PARTNER_2 = "partner_2"  # a second user of the same partner
OTHER_PARTNER = "other_partner"  # a partner of the same programme that did not order
PROVIDER = "provider"  # the provider the order goes to (or may go to)
PROVIDER_2 = "provider_2"  # a second user of that provider
OTHER_PROVIDER = "other_provider"  # a second provider of the programme
VENDOR = "vendor"  # the programme's vendor
FOREIGN_VENDOR = "foreign_vendor"  # the vendor of another programme
FOREIGN_PROVIDER = "foreign_provider"  # a provider of another programme

ACTORS = (PARTNER, OTHER_PARTNER, PROVIDER, OTHER_PROVIDER, VENDOR, FOREIGN_VENDOR)
"""One of each relationship to an order; tables of expectations are keyed by these."""

EVERY_USER = (PARTNER, PARTNER_2, OTHER_PARTNER, PROVIDER, PROVIDER_2, OTHER_PROVIDER, VENDOR, FOREIGN_VENDOR)
"""The users the order tests ask, one by one, what they see of an order."""


@dataclass
class World:
    """Everything a test needs to place and work orders, plus a movable 'now'."""

    programme: Programme
    foreign_programme: Programme
    organisations: dict[str, Organisation]
    users: dict[str, User]
    service: Service
    inactive_service: Service
    now: datetime = T0
    _numbers: dict[UUID, int] = field(default_factory=dict)

    def actor(self, who: str) -> Actor:
        """The actor of the user `who`."""
        user = self.users[who]
        org = next(o for o in self.organisations.values() if o.id == user.organisation_id)
        return Actor(user.id, org.id, org.kind, user.role, org.programme_id)

    def org_id(self, who: str) -> UUID:
        """The organisation of the user `who`."""
        return self.users[who].organisation_id

    def tick(self, minutes: int = 1) -> datetime:
        """Move time on and return the new now."""
        self.now += timedelta(minutes=minutes)
        return self.now

    def today(self) -> date:
        """The current date."""
        return self.now.date()

    def number(self) -> int:
        """The next order number of the programme."""
        n = self._numbers.get(self.programme.id, 0) + 1
        self._numbers[self.programme.id] = n
        return n


def make_world(*, threshold: Decimal | None = Decimal("10000")) -> World:
    """A fresh world; `threshold` is the programme's quote approval threshold."""
    programme = Programme(uuid4(), "Marketplace", quote_approval_threshold=threshold)
    foreign = Programme(uuid4(), "Elsewhere")
    orgs = {
        "vendor": Organisation(uuid4(), programme.id, OrgKind.VENDOR, "Vendor Inc"),
        "partner": Organisation(uuid4(), programme.id, OrgKind.PARTNER, "Partner MSP"),
        "other_partner": Organisation(uuid4(), programme.id, OrgKind.PARTNER, "Other MSP"),
        "provider": Organisation(uuid4(), programme.id, OrgKind.PROVIDER, "Provider Agency"),
        "other_provider": Organisation(uuid4(), programme.id, OrgKind.PROVIDER, "Other Agency"),
        "foreign_vendor": Organisation(uuid4(), foreign.id, OrgKind.VENDOR, "Foreign Vendor"),
        "foreign_provider": Organisation(uuid4(), foreign.id, OrgKind.PROVIDER, "Foreign Agency"),
    }
    members = {
        PARTNER: ("partner", Role.ADMIN),
        PARTNER_2: ("partner", Role.MEMBER),
        OTHER_PARTNER: ("other_partner", Role.ADMIN),
        PROVIDER: ("provider", Role.ADMIN),
        PROVIDER_2: ("provider", Role.MEMBER),
        OTHER_PROVIDER: ("other_provider", Role.ADMIN),
        VENDOR: ("vendor", Role.ADMIN),
        FOREIGN_VENDOR: ("foreign_vendor", Role.ADMIN),
        FOREIGN_PROVIDER: ("foreign_provider", Role.ADMIN),
        "inactive_provider": ("provider", Role.MEMBER),
    }
    users = {
        who: User(
            id=uuid4(),
            organisation_id=orgs[org].id,
            email=f"{who}@example.test",
            name=who.replace("_", " ").title(),
            role=role,
            password_hash="plain$" + PASSWORD,
            active=who != "inactive_provider",
        )
        for who, (org, role) in members.items()
    }
    service = Service(uuid4(), orgs["provider"].id, "Webinar in a box", "Webinar", Decimal("2500.00"))
    inactive = Service(uuid4(), orgs["provider"].id, "Retired service", "Print", Decimal("10"), active=False)
    return World(programme, foreign, orgs, users, service, inactive)


def quoted_draft(world: World, *, provider: str | None = None, name: str = "Spring campaign") -> Order:
    """A QUOTED draft by the partner, open to every provider unless addressed to `provider`."""
    return new_order(
        actor=world.actor(PARTNER),
        now=world.now,
        number=world.number(),
        kind=OrderKind.QUOTED,
        name=name,
        provider_id=world.org_id(provider) if provider else None,
        lines=(Line("Ideas", Decimal(1), Decimal(100)),),
    )


def flat_fee_draft(world: World) -> Order:
    """A FLAT_FEE draft for the provider's webinar service."""
    return new_order(
        actor=world.actor(PARTNER),
        now=world.now,
        number=world.number(),
        kind=OrderKind.FLAT_FEE,
        name="Webinar",
        service=world.service,
    )


def lines(total: int | str) -> tuple[Line, ...]:
    """One line item worth `total`."""
    return (Line("Campaign work", Decimal(1), Decimal(total)),)


def quote_on(
    order: Order,
    world: World,
    who: str,
    *,
    total: int | str = 1000,
    expires_in_days: int | None = 14,
    promised_in_days: int | None = 30,
) -> Quote:
    """`who` (a provider user) quotes on `order`."""
    return order.submit_quote(
        world.actor(who),
        world.tick(),
        lines=lines(total),
        expires_on=world.today() + timedelta(days=expires_in_days) if expires_in_days is not None else None,
        promised_completion=world.today() + timedelta(days=promised_in_days) if promised_in_days is not None else None,
        message=f"Quote from {who}",
    )


def committed(order: Order) -> Order:
    """Pretend a unit of work committed `order`: its events are pulled, so the next command bumps the version."""
    order.pull_events()
    return order


def snapshot(order: Order) -> Order:
    """A deep copy to compare against after a refused command."""
    return copy.deepcopy(order)


def open_request(world: World, *, provider: str | None = None) -> Order:
    """A submitted QUOTED order, committed."""
    order = quoted_draft(world, provider=provider)
    order.submit(world.actor(PARTNER), world.tick())
    return committed(order)


def approved_order(world: World) -> Order:
    """A flat-fee order the vendor approved: partner, vendor and provider all have a part in it."""
    order = flat_fee_draft(world)
    order.submit(world.actor(PARTNER), world.tick())
    order.approve(world.actor(VENDOR), world.tick())
    return committed(order)


def accepted(world: World, *, total: int = 1000) -> tuple[Order, Any, Any]:
    """An open request quoted by both providers, the provider's quote accepted."""
    order = open_request(world)
    mine = quote_on(order, world, PROVIDER, total=total)
    theirs = quote_on(order, world, OTHER_PROVIDER, total=total - 1)
    committed(order)
    order.accept_quote(world.actor(PARTNER), world.tick(), mine.id, world.programme.quote_approval_threshold)
    return committed(order), mine, theirs


def flat_fee_submitted(w: World) -> tuple[list[OrderEvent], Order]:
    """A flat-fee order just submitted, with the events of the submit."""
    order = committed(flat_fee_draft(w))
    order.submit(w.actor(PARTNER), w.tick())
    return order.pull_events(), order


def flat_fee_approved(w: World) -> tuple[list[OrderEvent], Order]:
    """A flat-fee order just approved by the vendor, with the events of the approval."""
    _, order = flat_fee_submitted(w)
    order.approve(w.actor(VENDOR), w.tick())
    return order.pull_events(), order
