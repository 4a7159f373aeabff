"""The order lifecycle as data: one transition table, checked when this module is imported.

Each row says which action moves an order from one status to another and which parties
(relative to the order, see `Party`) may take it. Nothing else in the code base assigns
a status: `Order` looks its moves up here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class OrderStatus(Enum):
    """Where an order stands (seed 000, plus DRAFT)."""

    DRAFT = "DRAFT"
    PENDING_QUOTES = "PENDING_QUOTES"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    APPROVED = "APPROVED"
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    WAITING_FOR_PARTNER = "WAITING_FOR_PARTNER"
    SCHEDULED = "SCHEDULED"
    EXECUTING = "EXECUTING"
    COMPLETE = "COMPLETE"
    CANCELLED = "CANCELLED"
    ARCHIVED = "ARCHIVED"


class OrderKind(Enum):
    """Open-ended orders are quoted; flat-fee orders buy a provider's priced service."""

    QUOTED = "QUOTED"
    FLAT_FEE = "FLAT_FEE"


class Party(Enum):
    """How the caller relates to one order; guards are written in these terms."""

    PARTNER = "PARTNER"  # a user of the ordering partner
    PROVIDER = "PROVIDER"  # a user of the provider the order is addressed to
    CANDIDATE_PROVIDER = "CANDIDATE_PROVIDER"  # a provider that may quote on an open request
    VENDOR = "VENDOR"  # a user of the programme's vendor


class Action(Enum):
    """The named moves of the lifecycle; each GraphQL mutation maps to one."""

    SUBMIT = "SUBMIT"
    ACCEPT_QUOTE = "ACCEPT_QUOTE"
    ACCEPT_WITHOUT_QUOTE = "ACCEPT_WITHOUT_QUOTE"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    CHANGE_STATUS = "CHANGE_STATUS"
    CANCEL = "CANCEL"
    ARCHIVE = "ARCHIVE"


S = OrderStatus
P = Party

WORKING: tuple[OrderStatus, ...] = (
    S.NOT_STARTED,
    S.IN_PROGRESS,
    S.WAITING_FOR_PARTNER,
    S.SCHEDULED,
    S.EXECUTING,
)
"""Statuses among which the provider's Change Status moves freely, forward or back."""

CANCELLABLE_BY_BUYER_SIDE = (S.PENDING_QUOTES, S.PENDING_APPROVAL, S.APPROVED, S.NOT_STARTED)
CANCELLABLE_BY_PROVIDER = (S.APPROVED, S.NOT_STARTED)


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: `action` moves `source` to `target` for `parties`."""

    action: Action
    source: OrderStatus
    target: OrderStatus
    parties: frozenset[Party]
    kind: OrderKind | None = None  # the row applies to this order kind only


def _rows() -> Iterable[Transition]:
    buyer_side = frozenset({P.PARTNER, P.VENDOR})
    yield Transition(Action.SUBMIT, S.DRAFT, S.PENDING_QUOTES, frozenset({P.PARTNER}), OrderKind.QUOTED)
    yield Transition(Action.SUBMIT, S.DRAFT, S.PENDING_APPROVAL, frozenset({P.PARTNER}), OrderKind.FLAT_FEE)
    # Accepting a quote lands in PENDING_APPROVAL or APPROVED by the programme's threshold.
    for target in (S.PENDING_APPROVAL, S.APPROVED):
        yield Transition(Action.ACCEPT_QUOTE, S.PENDING_QUOTES, target, frozenset({P.PARTNER}))
    # "Sometimes a quote is not provided and the order is accepted and processed without it."
    yield Transition(
        Action.ACCEPT_WITHOUT_QUOTE,
        S.PENDING_QUOTES,
        S.APPROVED,
        frozenset({P.PROVIDER, P.CANDIDATE_PROVIDER, P.VENDOR}),
    )
    yield Transition(Action.APPROVE, S.PENDING_APPROVAL, S.APPROVED, frozenset({P.VENDOR}))
    yield Transition(Action.REJECT, S.PENDING_APPROVAL, S.CANCELLED, frozenset({P.VENDOR}))
    yield Transition(Action.CHANGE_STATUS, S.APPROVED, S.NOT_STARTED, frozenset({P.PROVIDER}))
    for source in WORKING:
        for target in (*WORKING, S.COMPLETE):
            if target is not source:
                yield Transition(Action.CHANGE_STATUS, source, target, frozenset({P.PROVIDER}))
    yield Transition(Action.CANCEL, S.DRAFT, S.CANCELLED, frozenset({P.PARTNER}))
    for source in CANCELLABLE_BY_BUYER_SIDE:
        parties = buyer_side | ({P.PROVIDER} if source in CANCELLABLE_BY_PROVIDER else set())
        yield Transition(Action.CANCEL, source, S.CANCELLED, frozenset(parties))
    for source in (S.COMPLETE, S.CANCELLED):
        yield Transition(Action.ARCHIVE, source, S.ARCHIVED, frozenset({P.PROVIDER, P.VENDOR}))


TRANSITIONS: tuple[Transition, ...] = tuple(_rows())

TERMINAL: frozenset[OrderStatus] = frozenset({S.ARCHIVED})
"""Statuses with no way out."""

CLOSED: frozenset[OrderStatus] = frozenset({S.CANCELLED, S.ARCHIVED, S.COMPLETE})
"""Statuses in which the order's work is over: no more quotes or assignment (edits end at CANCELLED)."""


def transitions_from(
    source: OrderStatus, *, parties: Iterable[Party] = (), kind: OrderKind | None = None
) -> list[Transition]:
    """The rows leaving `source` that one of `parties` may take for an order of `kind`."""
    mine = set(parties)
    return [
        row
        for row in TRANSITIONS
        if row.source is source
        and (row.kind is None or kind is None or row.kind is kind)
        and (not mine or row.parties & mine)
    ]


def find_transition(
    action: Action,
    source: OrderStatus,
    target: OrderStatus,
    parties: Iterable[Party],
    kind: OrderKind,
) -> Transition | None:
    """The row for this move, or None when the table does not allow it for these parties."""
    parties = frozenset(parties)
    if not parties:  # no relation to the order (transitions_from reads "no parties" as "any party")
        return None
    for row in transitions_from(source, parties=parties, kind=kind):
        if row.action is action and row.target is target:
            return row
    return None


def _check_table() -> None:
    """Every status reachable from DRAFT; terminal statuses terminal; cancelled never back to work."""
    reachable = {S.DRAFT}
    frontier = [S.DRAFT]
    while frontier:
        status = frontier.pop()
        for row in TRANSITIONS:
            if row.source is status and row.target not in reachable:
                reachable.add(row.target)
                frontier.append(row.target)
    missing = set(OrderStatus) - reachable
    if missing:
        raise AssertionError(f"unreachable statuses in the order lifecycle: {sorted(s.name for s in missing)}")
    for row in TRANSITIONS:
        if row.source in TERMINAL:
            raise AssertionError(f"terminal status {row.source.name} has a way out: {row}")
        if row.source is S.CANCELLED and row.target is not S.ARCHIVED:
            raise AssertionError("a cancelled order may only be archived")
        if row.source is S.COMPLETE and row.target is not S.ARCHIVED:
            raise AssertionError("a complete order may only be archived")
        if not row.parties:
            raise AssertionError(f"transition without a party: {row}")
    keys = [(r.action, r.source, r.target, r.kind) for r in TRANSITIONS]
    if len(keys) != len(set(keys)):
        raise AssertionError("duplicate rows in the order lifecycle")


_check_table()
