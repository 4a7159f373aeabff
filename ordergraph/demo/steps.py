"""The pieces of a demo order's story: the clock, who acts, the plan, and its steps (each one service call)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.identity import Actor, Organisation, User
from domain.orders import (
    AssignOrder,
    ChangeOrderStatus,
    CommentVisibility,
    CreateComment,
    CreateOrder,
    DecideQuote,
    DeclineQuote,
    Line,
    Order,
    OrderCommand,
    OrderKind,
    OrderStatus,
    ReasonedOrderCommand,
    Service,
    SubmitQuote,
    UpdateOrder,
    Upload,
    accept_quote,
    assign_order,
    cancel_order,
    change_order_status,
    create_comment,
    create_order,
    decline_quote,
    reject_order,
    reject_quote,
    submit_quote,
    update_order,
)

if TYPE_CHECKING:  # the demo needs no GraphQL at run time; `ordergraph --help` imports this package
    from schema.common import AppPorts

Action = Callable[[], Awaitable[None]]


class DemoClock:
    """domain.common.Clock showing the time the loader sets, so history can be written in the past."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("DemoClock needs a timezone-aware time")
        self._now = start

    def now(self) -> datetime:
        """The time last set."""
        return self._now

    def set(self, when: datetime) -> None:
        """Move the clock (the loader only ever moves it forward)."""
        self._now = when


# ---- who acts -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """A demo user, acting for its organisation."""

    user: User
    org: Organisation

    @property
    def actor(self) -> Actor:
        return Actor(self.user.id, self.org.id, self.org.kind, self.user.role, self.org.programme_id)


@dataclass(slots=True)
class Org:
    """A demo organisation and its people, the admin first."""

    org: Organisation
    people: list[Person] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.org.name

    @property
    def admin(self) -> Person:
        return self.people[0]


@dataclass(frozen=True, slots=True)
class Cast:
    """The organisations of the demo programme, by part, and the providers' services."""

    vendor: Org
    partners: list[Org]
    providers: list[Org]
    services: list[tuple[Service, Org]]


# ---- the plan -----------------------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """One order's story: its steps in order, scheduled at `times`, and what the steps produced."""

    index: int
    target: OrderStatus
    kind: OrderKind
    requested_in_days: int
    actions: list[Action] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    order: Order | None = None
    quote_ids: dict[UUID, UUID] = field(default_factory=dict)  # provider organisation -> its quote
    accept_step: int | None = None

    def then(self, action: Action) -> int:
        self.actions.append(action)
        return len(self.actions) - 1

    @property
    def order_id(self) -> UUID:
        if self.order is None:
            raise RuntimeError("the order is used before it was created")
        return self.order.id

    @property
    def requested(self) -> date:
        return self.times[0].date() + timedelta(days=self.requested_in_days)


# ---- steps: each one service call as one user ------------------------------------------------


class Steps:
    """Makes the steps of plans; a step runs later, at its time, as the user given."""

    def __init__(self, ports: AppPorts, clock: DemoClock) -> None:
        self.ports = ports
        self.clock = clock
        self.quotes = 0
        self.comments = 0

    def create(self, plan: Plan, who: Person, command: Callable[[], CreateOrder]) -> Action:
        async def run() -> None:
            plan.order = await create_order(self.ports, who.actor, command())

        return run

    def simple(
        self, plan: Plan, who: Person, service: Callable[[AppPorts, Actor, OrderCommand], Awaitable[Order]]
    ) -> Action:
        async def run() -> None:
            plan.order = await service(self.ports, who.actor, OrderCommand(plan.order_id))

        return run

    def cancel(self, plan: Plan, who: Person, reason: str) -> Action:
        async def run() -> None:
            cmd = ReasonedOrderCommand(plan.order_id, reason)
            plan.order = await cancel_order(self.ports, who.actor, cmd)

        return run

    def reject(self, plan: Plan, who: Person, reason: str) -> Action:
        async def run() -> None:
            cmd = ReasonedOrderCommand(plan.order_id, reason)
            plan.order = await reject_order(self.ports, who.actor, cmd)

        return run

    def change(self, plan: Plan, who: Person, status: OrderStatus) -> Action:
        async def run() -> None:
            cmd = ChangeOrderStatus(plan.order_id, status)
            plan.order = await change_order_status(self.ports, who.actor, cmd)

        return run

    def assign(self, plan: Plan, who: Person, assignee: Person) -> Action:
        async def run() -> None:
            cmd = AssignOrder(plan.order_id, assignee.user.id)
            plan.order = await assign_order(self.ports, who.actor, cmd)

        return run

    def update(self, plan: Plan, who: Person, changes: Callable[[], dict[str, Any]]) -> Action:
        async def run() -> None:
            cmd = UpdateOrder(plan.order_id, changes())
            plan.order = await update_order(self.ports, who.actor, cmd)

        return run

    def quote(self, plan: Plan, who: Person, lines: tuple[Line, ...], message: str, promised_in: int) -> Action:
        async def run() -> None:
            now = self.clock.now()
            expires = now + timedelta(days=30)
            if plan.accept_step is not None:
                # Still open when the partner gets round to accepting it.
                expires = max(expires, plan.times[plan.accept_step] + timedelta(days=7))
            cmd = SubmitQuote(
                plan.order_id,
                lines,
                expires_on=expires.date(),
                promised_completion=plan.requested + timedelta(days=promised_in),
                message=message,
            )
            plan.order, quote = await submit_quote(self.ports, who.actor, cmd)
            plan.quote_ids[who.org.id] = quote.id
            self.quotes += 1

        return run

    def decline(self, plan: Plan, who: Person, message: str) -> Action:
        async def run() -> None:
            plan.order, _ = await decline_quote(self.ports, who.actor, DeclineQuote(plan.order_id, message))
            self.quotes += 1

        return run

    def accept_quote(self, plan: Plan, who: Person, provider: Org) -> Action:
        async def run() -> None:
            cmd = DecideQuote(plan.quote_ids[provider.org.id])
            plan.order, _ = await accept_quote(self.ports, who.actor, cmd)

        return run

    def reject_quote(self, plan: Plan, who: Person, provider: Org, reason: str) -> Action:
        async def run() -> None:
            cmd = DecideQuote(plan.quote_ids[provider.org.id], reason=reason)
            plan.order, _ = await reject_quote(self.ports, who.actor, cmd)

        return run

    def comment(
        self, plan: Plan, who: Person, body: str, visibility: CommentVisibility, report: bytes | None = None
    ) -> Action:
        async def run() -> None:
            uploads: tuple[Upload, ...] = ()
            if report is not None:
                uploads = (Upload("lead-report.csv", report, self.ports.sniffer.detect(report)),)
            cmd = CreateComment(plan.order_id, body, visibility, uploads)
            await create_comment(self.ports, who.actor, cmd)
            self.comments += 1

        return run
