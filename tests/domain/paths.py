"""Walks through the order lifecycle, as data: who does what, and what the order becomes.

Each path starts from a fresh draft and names, after every step, how each actor of the
world relates to the order (its `Party`, or None when it cannot see the order). Those
role maps are written by hand from product.md, so the tests that walk them check the
domain against the product, not against itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from domain.orders.lifecycle import OrderStatus, Party
from domain.orders.order import Order
from domain.orders.quotes import Quote
from tests.domain.world import (
    OTHER_PROVIDER,
    PARTNER,
    PROVIDER,
    VENDOR,
    World,
    committed,
    flat_fee_draft,
    make_world,
    quote_on,
    quoted_draft,
)

S = OrderStatus
P = Party

ROLES_OF_A_DRAFT: dict[str, Party | None] = {
    PARTNER: P.PARTNER,
    "other_partner": None,
    PROVIDER: None,
    OTHER_PROVIDER: None,
    VENDOR: P.VENDOR,
    "foreign_vendor": None,
}


@dataclass(frozen=True)
class Step:
    """`who` calls `method` (with `arg`); the order ends in `status`; `roles` change as given."""

    who: str
    method: str
    status: OrderStatus
    arg: object = None
    roles: dict[str, Party | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Path:
    """A named walk from a draft."""

    name: str
    start: str  # "quoted", "quoted_to_provider" or "flat_fee"
    steps: tuple[Step, ...]


def _s(who: str, method: str, status: OrderStatus, arg: object = None, **roles: Party | None) -> Step:
    return Step(who, method, status, arg, dict(roles))


OPEN = {PROVIDER: P.CANDIDATE_PROVIDER, OTHER_PROVIDER: P.CANDIDATE_PROVIDER}
# A request addressed to one provider: only that provider may quote on it (or accept it without a quote);
# the other provider never sees it.
ADDRESSED = {PROVIDER: P.CANDIDATE_PROVIDER, OTHER_PROVIDER: None}
WON_BY_PROVIDER = {PROVIDER: P.PROVIDER, OTHER_PROVIDER: None}


def _work(who: str, *statuses: OrderStatus) -> tuple[Step, ...]:
    return tuple(_s(who, "change_status", status, status) for status in statuses)


PATHS: tuple[Path, ...] = (
    Path(
        "quoted: two quotes, one accepted under the threshold, worked to the end, archived by the provider",
        "quoted",
        (
            _s(PARTNER, "submit", S.PENDING_QUOTES, **OPEN),
            _s(PROVIDER, "quote", S.PENDING_QUOTES, 1000),
            _s(OTHER_PROVIDER, "quote", S.PENDING_QUOTES, 900),
            _s(PARTNER, "accept", S.APPROVED, PROVIDER, **WON_BY_PROVIDER),
            *_work(
                PROVIDER,
                S.NOT_STARTED,
                S.IN_PROGRESS,
                S.WAITING_FOR_PARTNER,
                S.IN_PROGRESS,
                S.SCHEDULED,
                S.EXECUTING,
                S.SCHEDULED,
                S.EXECUTING,
                S.COMPLETE,
            ),
            _s(PROVIDER, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "quoted: quote over the threshold waits for the vendor, approved, cancelled by the partner before work",
        "quoted",
        (
            _s(PARTNER, "submit", S.PENDING_QUOTES, **OPEN),
            _s(PROVIDER, "quote", S.PENDING_QUOTES, 20000),
            _s(PARTNER, "accept", S.PENDING_APPROVAL, PROVIDER, **WON_BY_PROVIDER),
            _s(VENDOR, "approve", S.APPROVED),
            _s(PROVIDER, "change_status", S.NOT_STARTED, S.NOT_STARTED),
            _s(PARTNER, "cancel", S.CANCELLED),
            _s(PROVIDER, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "quoted: quote over the threshold rejected by the vendor",
        "quoted",
        (
            _s(PARTNER, "submit", S.PENDING_QUOTES, **OPEN),
            _s(PROVIDER, "quote", S.PENDING_QUOTES, 20000),
            _s(PARTNER, "accept", S.PENDING_APPROVAL, PROVIDER, **WON_BY_PROVIDER),
            _s(VENDOR, "reject", S.CANCELLED),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "quoted to one provider: the vendor accepts it without a quote, the provider cancels",
        "quoted_to_provider",
        (
            _s(PARTNER, "submit", S.PENDING_QUOTES, **ADDRESSED),
            _s(VENDOR, "approve", S.APPROVED, **{PROVIDER: P.PROVIDER}),
            _s(PROVIDER, "cancel", S.CANCELLED),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "quoted to one provider: it quotes, then accepts it without a quote after all and works it",
        "quoted_to_provider",
        (
            _s(PARTNER, "submit", S.PENDING_QUOTES, **ADDRESSED),
            _s(PROVIDER, "quote", S.PENDING_QUOTES, 500),
            _s(PROVIDER, "approve", S.APPROVED, **{PROVIDER: P.PROVIDER}),
            *_work(PROVIDER, S.NOT_STARTED, S.EXECUTING, S.NOT_STARTED, S.COMPLETE),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "quoted: the vendor cancels while providers are quoting",
        "quoted",
        (
            _s(PARTNER, "submit", S.PENDING_QUOTES, **OPEN),
            _s(OTHER_PROVIDER, "quote", S.PENDING_QUOTES, 700),
            _s(VENDOR, "cancel", S.CANCELLED, **{PROVIDER: None, OTHER_PROVIDER: None}),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "flat fee: approved by the vendor, worked to the end, archived by the vendor",
        "flat_fee",
        (
            _s(PARTNER, "submit", S.PENDING_APPROVAL),
            _s(VENDOR, "approve", S.APPROVED, **{PROVIDER: P.PROVIDER}),
            *_work(PROVIDER, S.NOT_STARTED, S.IN_PROGRESS, S.SCHEDULED, S.EXECUTING, S.COMPLETE),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "flat fee: rejected by the vendor",
        "flat_fee",
        (
            _s(PARTNER, "submit", S.PENDING_APPROVAL),
            _s(VENDOR, "reject", S.CANCELLED),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "flat fee: cancelled by the partner while pending approval",
        "flat_fee",
        (
            _s(PARTNER, "submit", S.PENDING_APPROVAL),
            _s(PARTNER, "cancel", S.CANCELLED),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "flat fee: approved, then cancelled by the vendor, archived by the provider",
        "flat_fee",
        (
            _s(PARTNER, "submit", S.PENDING_APPROVAL),
            _s(VENDOR, "approve", S.APPROVED, **{PROVIDER: P.PROVIDER}),
            _s(VENDOR, "cancel", S.CANCELLED),
            _s(PROVIDER, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "draft cancelled by the partner",
        "quoted",
        (
            _s(PARTNER, "cancel", S.CANCELLED),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
    Path(
        "quoted: open to all, the other provider's quote wins and it works the order",
        "quoted",
        (
            _s(PARTNER, "submit", S.PENDING_QUOTES, **OPEN),
            _s(PROVIDER, "quote", S.PENDING_QUOTES, 500),
            _s(OTHER_PROVIDER, "quote", S.PENDING_QUOTES, 800),
            _s(PARTNER, "accept", S.APPROVED, OTHER_PROVIDER, **{PROVIDER: None, OTHER_PROVIDER: P.PROVIDER}),
            *_work(OTHER_PROVIDER, S.NOT_STARTED, S.EXECUTING, S.NOT_STARTED, S.COMPLETE),
            _s(VENDOR, "archive", S.ARCHIVED),
        ),
    ),
)


@dataclass
class State:
    """An order part-way along a path, with the roles every actor holds in it."""

    world: World
    order: Order
    roles: dict[str, Party | None]
    quotes: dict[str, Quote]


def start(path: Path, world: World) -> Order:
    """The draft a path starts from."""
    if path.start == "flat_fee":
        return flat_fee_draft(world)
    if path.start == "quoted_to_provider":
        return quoted_draft(world, provider=PROVIDER)
    return quoted_draft(world)


def apply(state: State, step: Step) -> None:
    """Take one step (raising whatever the domain raises)."""
    world, order = state.world, state.order
    actor = world.actor(step.who)
    if step.method == "quote":
        assert isinstance(step.arg, int)
        state.quotes[step.who] = quote_on(order, world, step.who, total=step.arg)
        return
    now = world.tick()
    if step.method == "accept":
        assert isinstance(step.arg, str)
        threshold = world.programme.quote_approval_threshold
        order.accept_quote(actor, now, state.quotes[step.arg].id, threshold)
    elif step.method == "change_status":
        assert isinstance(step.arg, OrderStatus)
        order.change_status(actor, now, step.arg)
    else:
        call(order, world, step.who, step.method, step.status)


def call(order: Order, world: World, who: str, method: str, target: OrderStatus) -> None:
    """Call a lifecycle method of `order` as `who`; `target` is used by change_status only."""
    actor, now = world.actor(who), world.tick()
    if method == "submit":
        order.submit(actor, now)
    elif method == "approve":
        order.approve(actor, now)
    elif method == "reject":
        order.reject(actor, now, "Not in this quarter's budget")
    elif method == "cancel":
        order.cancel(actor, now, "The campaign was called off")
    elif method == "archive":
        order.archive(actor, now)
    elif method == "change_status":
        order.change_status(actor, now, target)
    else:
        raise AssertionError(f"unknown method {method}")


def walk(path: Path, upto: int | None = None) -> Iterator[State]:
    """The states of `path`: the draft, then after each step (up to `upto` steps), each committed."""
    world = make_world()
    state = State(world, committed(start(path, world)), dict(ROLES_OF_A_DRAFT), {})
    yield state
    for index, step in enumerate(path.steps):
        if upto is not None and index >= upto:
            return
        apply(state, step)
        committed(state.order)
        assert state.order.status is step.status, f"step {index} {step}: {state.order.status}"
        state.roles.update(step.roles)
        yield state


def state_at(path: Path, index: int) -> State:
    """The state after `index` steps of `path`."""
    *_, last = walk(path, upto=index)
    return last


STATE_IDS: list[tuple[int, int]] = [(p, i) for p, path in enumerate(PATHS) for i in range(len(path.steps) + 1)]
"""Every (path, steps taken) pair: each is one state to test from."""
