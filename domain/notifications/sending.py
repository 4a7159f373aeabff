"""Bounds on the email a user causes by choosing addresses: how often, to how many, and to whom.

A follow-up (orderMessageSend) or an order link (orderLinkSend) is a *message*: an email whose
address and text a user chose. Messages are counted from the activity timeline (each one is an
event written in the transaction that sends it), so the limits hold across API processes and
restarts, and a burst the relay has not planned yet counts as much as mail already sent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from domain.common import DomainError, ErrorCode, Policy
from domain.identity import Actor, normalise_email
from domain.notifications.planning import Circle
from domain.notifications.recipients import RecipientSide, recipients_visible_to
from domain.orders import EventKind, Order, OrderEvent


class Sender(Enum):
    """Whose messages a limit counts: one user's, or all the users of one organisation together."""

    USER = "USER"
    ORGANISATION = "ORGANISATION"


@dataclass(frozen=True, slots=True)
class SendWindow:
    """One rate limit: at most `most(policy)` messages by one sender in any `length` (a sliding window)."""

    sender: Sender
    length: timedelta
    setting: str
    """The `Policy` field holding the limit (the deployment sets it: see adapters.settings)."""
    who: str
    span: str

    def most(self, policy: Policy) -> int:
        """The limit this deployment sets."""
        value = getattr(policy, self.setting)
        if not isinstance(value, int) or value < 1:  # pragma: no cover - settings validate it
            raise ValueError(f"Policy.{self.setting} must be a positive number, not {value!r}")
        return value


SEND_WINDOWS: Final = (
    SendWindow(Sender.USER, timedelta(hours=1), "messages_per_user_per_hour", "You have", "hour"),
    SendWindow(
        Sender.ORGANISATION,
        timedelta(days=1),
        "messages_per_organisation_per_day",
        "Your organisation has",
        "24 hours",
    ),
)
"""Every rate limit on messages; a message is refused when any of them is reached."""


MESSAGE_KINDS: Final = frozenset({EventKind.COMMENT_ADDED, EventKind.ORDER_LINK_SENT})
"""The event kinds that may be a message (a COMMENT_ADDED only when it carries `message`: see is_message)."""


def is_message(event: OrderEvent) -> bool:
    """True for the event of a follow-up or of an order link: what the limits count."""
    if event.kind is EventKind.ORDER_LINK_SENT:
        return True
    return event.kind is EventKind.COMMENT_ADDED and isinstance(event.after.get("message"), dict)


class RateLimited(DomainError):
    """The sender reached one of SEND_WINDOWS: no more messages until `retry_after` seconds from now."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, window: SendWindow, limit: int, retry_at: datetime, now: datetime) -> None:
        self.retry_after = max(1, math.ceil((retry_at - now).total_seconds()))
        self.limit = limit
        self.window = window
        super().__init__(
            f"{window.who} sent {limit} emails (follow-ups and order links) in the last {window.span}, the most "
            f"allowed; try again in {self.retry_after} seconds (from {retry_at.isoformat(timespec='seconds')}).",
        )


def check_send_rate(window: SendWindow, limit: int, recent: Sequence[datetime], now: datetime) -> None:
    """Refuse one more message when the sender's messages within `window` of `now` number `limit` already.

    `recent`: the times of the sender's latest messages (at least the latest `limit`, in any order).
    It may send again once the `limit`-th latest of them is out of the window.
    """
    inside = sorted((t for t in recent if t > now - window.length), reverse=True)
    if len(inside) >= limit:
        raise RateLimited(window, limit, inside[limit - 1] + window.length, now)


class TooManyRecipients(DomainError):
    """A message names more addresses than the deployment allows one message to have."""

    code = ErrorCode.TOO_MANY_RECIPIENTS

    def __init__(self, limit: int, given: int) -> None:
        self.limit = limit
        super().__init__(f"A follow-up goes to at most {limit} addresses; this one names {given}.", field="to")


def check_recipient_count(addresses: Sequence[str], limit: int) -> None:
    """Refuse more than `limit` distinct addresses (the same address twice is one)."""
    distinct = {normalise_email(a) for a in addresses}
    if len(distinct) > limit:
        raise TooManyRecipients(limit, len(distinct))


class RecipientNotAllowed(DomainError):
    """An address outside the order's people and recipients, from an organisation that may not use one."""

    code = ErrorCode.RECIPIENT_NOT_ALLOWED

    def __init__(self, address: str, field: str, *, listing: bool = False) -> None:
        self.address = address
        what = "one of the order's people" if listing else "one of the order's people nor on its notification lists"
        super().__init__(
            f"{address} is neither {what}, and your organisation does not send to outside addresses; "
            "ask the operator to allow outside addresses for your organisation.",
            field=field,
        )


AddressSource = Callable[[Actor, Order, Circle], frozenset[str]]


def _people(actor: Actor, order: Order, circle: Circle) -> frozenset[str]:
    return _people_emails(circle)


def _listed(side: RecipientSide) -> AddressSource:
    def source(actor: Actor, order: Order, circle: Circle) -> frozenset[str]:
        if not recipients_visible_to(actor, order, side):  # naming an address never tests the other side's list
            return frozenset()
        return frozenset(normalise_email(e) for e in circle.recipients.get(side, ()))

    return source


ORDER_ADDRESSES: Final[tuple[tuple[str, AddressSource], ...]] = (
    ("an active user of an organisation on the order, or a watcher", _people),
    ("the partner's notification recipients (buyer side only)", _listed(RecipientSide.PARTNER)),
    ("the provider's notification recipients (the provider only)", _listed(RecipientSide.PROVIDER)),
)
"""Who counts as "the order's people and recipients": the addresses any organisation may write to."""


def order_addresses(actor: Actor, order: Order, circle: Circle) -> frozenset[str]:
    """Every address of ORDER_ADDRESSES for this actor (normalised)."""
    found: set[str] = set()
    for _what, source in ORDER_ADDRESSES:
        found |= source(actor, order, circle)
    return frozenset(found)


def check_list_additions(circle: Circle, before: Sequence[str], given: Sequence[str], *, outside_allowed: bool) -> None:
    """Refuse an address new to a notification list that is no person of the order, unless outside ones are allowed.

    A list's addresses count as the order's recipients (ORDER_ADDRESSES), so without this an outside
    address would be one edit away. Addresses already on the list stay; `given` is the input as sent.
    """
    if outside_allowed:
        return
    kept = {normalise_email(e) for e in before}
    people = _people_emails(circle)
    for index, address in enumerate(given):
        email = normalise_email(address)
        if email not in kept and email not in people:
            raise RecipientNotAllowed(email, f"emails.{index}", listing=True)


def _people_emails(circle: Circle) -> frozenset[str]:
    return frozenset(p.email for p in circle.people.values() if p.active)


def check_recipients_allowed(
    actor: Actor, order: Order, circle: Circle, to: Sequence[str], *, outside_allowed: bool
) -> None:
    """Refuse the first address of `to` outside the order's people and recipients, unless outside ones are allowed."""
    if outside_allowed:
        return
    allowed = order_addresses(actor, order, circle)
    for index, address in enumerate(to):
        email = normalise_email(address)
        if email not in allowed:
            raise RecipientNotAllowed(email, f"to.{index}")
