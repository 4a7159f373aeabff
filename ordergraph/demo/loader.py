"""Loading the demo: the directory first, then every order's plan, then all the steps in time order.

All of it is written through a `History` (adapters.uow.SqlHistory): one transaction for the whole
past, each service call in a savepoint of it, and the outbox rows of the past marked published
when it commits, so that loading the demo sends no email; what happens after it is notified.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol
from uuid import UUID, uuid4

from domain.identity import Organisation, OrgKind, Programme, User
from domain.orders import OrderKind, OrderStatus, Service
from ordergraph.demo.cast import APPROVAL_THRESHOLD, DEMO_LOGINS, DEMO_PASSWORD, PROGRAMME_NAME, SERVICES, DemoLogin
from ordergraph.demo.plan import Planner
from ordergraph.demo.script import HISTORY_DAYS
from ordergraph.demo.steps import Action, Cast, DemoClock, Org, Person, Plan, Steps

if TYPE_CHECKING:  # the demo needs no GraphQL at run time; `ordergraph --help` imports this package
    from schema.common import AppPorts, AppUnitOfWork


class History(Protocol):
    """Where the demo's past is written: units of work in one transaction, never notified (adapters.uow.SqlHistory)."""

    def __call__(self) -> AbstractAsyncContextManager[Callable[[], AppUnitOfWork]]:
        """A factory of units of work, for the duration of the block; the past commits when it ends."""
        ...


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What `load_demo` created: who can sign in, and how many of what."""

    programme_id: UUID
    programme_name: str
    password: str
    logins: tuple[DemoLogin, ...]
    status_counts: dict[OrderStatus, int]
    """Orders per status, every status in lifecycle order (zeros included)."""
    kind_counts: dict[OrderKind, int]
    orders: int
    quotes: int
    comments: int


@dataclass(order=True, frozen=True, slots=True)
class _Step:
    when: datetime
    order_index: int
    step_index: int
    run: Action = field(compare=False)


async def load_demo(ports: AppPorts, history: History, *, orders: int = 200, seed: int = 7) -> DemoSummary:
    """Create the demo programme with `orders` orders (every status once when at least 12), through the services.

    The orders' history spans the months before `ports.clock.now()` and is written in
    `history`'s units of work (not `ports.uow`'s): all of it or, on an error, none of it, and
    no notification for any of it. Every demo user's password is DEMO_PASSWORD, hashed once
    with `ports.passwords`. Raises Duplicate when the demo users already exist.
    """
    if orders < 0:
        raise ValueError("orders cannot be negative")
    end = ports.clock.now().replace(second=0, microsecond=0)
    clock = DemoClock(end)
    password_hash = ports.passwords.hash(DEMO_PASSWORD)
    async with history() as units_of_work:
        ports = dataclasses.replace(ports, clock=clock, uow=units_of_work)
        clock.set(end - timedelta(days=HISTORY_DAYS + 1))
        programme, cast = await _create_directory(ports, password_hash)
        steps = Steps(ports, clock)
        planner = Planner(cast, steps, random.Random(seed))  # noqa: S311 - not for secrets
        targets = enumerate(planner.targets(orders))
        plans = [planner.plan(index, target, kind, end) for index, (target, kind) in targets]
        for step in _in_time_order(plans):
            clock.set(step.when)
            await step.run()
        return _summary(programme, plans, steps)


async def _create_directory(ports: AppPorts, password_hash: str) -> tuple[Programme, Cast]:
    """The programme, its organisations, users and services, in one unit of work."""
    programme = Programme(uuid4(), PROGRAMME_NAME, quote_approval_threshold=APPROVAL_THRESHOLD)
    orgs: dict[str, Org] = {}
    services: list[tuple[Service, Org]] = []
    async with ports.uow() as uow:
        await uow.directory.add_programme(programme)
        for login in DEMO_LOGINS:
            if login.organisation not in orgs:
                org = Organisation(uuid4(), programme.id, login.kind, login.organisation)
                await uow.directory.add_organisation(org)
                orgs[org.name] = Org(org)
            holder = orgs[login.organisation]
            user = User(uuid4(), holder.org.id, login.email, login.name, login.role, password_hash)
            await uow.directory.add_user(user)
            holder.people.append(Person(user, holder.org))
        for provider_name, offers in SERVICES.items():
            for name, activity, price in offers:
                service = Service(uuid4(), orgs[provider_name].org.id, name, activity, Decimal(price))
                await uow.catalogue.add_service(service)
                services.append((service, orgs[provider_name]))
        await uow.commit()
    by_kind = {kind: [o for o in orgs.values() if o.org.kind is kind] for kind in OrgKind}
    cast = Cast(by_kind[OrgKind.VENDOR][0], by_kind[OrgKind.PARTNER], by_kind[OrgKind.PROVIDER], services)
    return programme, cast


def _in_time_order(plans: list[Plan]) -> list[_Step]:
    """Every step of every plan, by time (ties: by order, then by step)."""
    return sorted(
        _Step(when, plan.index, number, action)
        for plan in plans
        for number, (when, action) in enumerate(zip(plan.times, plan.actions, strict=True))
    )


def _summary(programme: Programme, plans: list[Plan], steps: Steps) -> DemoSummary:
    """What was loaded; every order must have ended where its plan said."""
    status_counts = dict.fromkeys(OrderStatus, 0)
    kind_counts = dict.fromkeys(OrderKind, 0)
    for plan in plans:
        if plan.order is None or plan.order.status is not plan.target:
            got = plan.order.status.value if plan.order else "nothing"
            raise RuntimeError(f"demo order {plan.index} ended {got}, not {plan.target.value}")
        status_counts[plan.order.status] += 1
        kind_counts[plan.order.kind] += 1
    return DemoSummary(
        programme_id=programme.id,
        programme_name=programme.name,
        password=DEMO_PASSWORD,
        logins=DEMO_LOGINS,
        status_counts=status_counts,
        kind_counts=kind_counts,
        orders=len(plans),
        quotes=steps.quotes,
        comments=steps.comments,
    )
