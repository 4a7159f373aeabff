"""Who may see an order: the scope of a caller's reads and the channels of its live updates."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final
from uuid import UUID

from domain.identity import Actor, OrgKind, Role
from domain.orders.events import Audience, EventKind, OrderEvent
from domain.orders.lifecycle import OrderKind, OrderStatus
from domain.orders.order import Order


@dataclass(frozen=True, slots=True)
class OrderScope:
    """The orders an actor may see: its programme, narrowed to one partner or one provider.

    A provider sees orders released to it, and open quote requests it may quote on.
    The same rule, for one loaded order, is `Order.parties_of`.
    """

    programme_id: UUID
    partner_id: UUID | None = None
    provider_id: UUID | None = None


def order_scope(actor: Actor) -> OrderScope:
    """The scope of orders `actor` may see."""
    if actor.kind is OrgKind.PARTNER:
        return OrderScope(actor.programme_id, partner_id=actor.organisation_id)
    if actor.kind is OrgKind.PROVIDER:
        return OrderScope(actor.programme_id, provider_id=actor.organisation_id)
    return OrderScope(actor.programme_id)


@dataclass(frozen=True, slots=True)
class AudienceScope:
    """Which audience-restricted records (comments, quotes, timeline entries) an actor sees.

    A record is visible when its audience is everyone, the actor's organisation, or the buyer
    side (the order's partner or the vendor) for records marked buyer-side.
    """

    organisation_id: UUID
    is_vendor: bool
    is_partner: bool


def audience_scope(actor: Actor) -> AudienceScope:
    """The audience scope of `actor`."""
    return AudienceScope(actor.organisation_id, actor.is_vendor, actor.is_partner)


def organisation_channel(organisation_id: UUID) -> str:
    """The channel of one organisation's users."""
    return f"org:{organisation_id}"


def vendor_channel(programme_id: UUID) -> str:
    """The channel of the vendor users of a programme (they see every order in it)."""
    return f"vendor:{programme_id}"


def candidate_providers_channel(programme_id: UUID) -> str:
    """The channel of every provider of a programme (open quote requests addressed to no one)."""
    return f"providers:{programme_id}"


def subscriber_channels(actor: Actor) -> frozenset[str]:
    """The channels `actor` listens on for live updates of the orders it may see."""
    channels = {organisation_channel(actor.organisation_id)}
    if actor.kind is OrgKind.VENDOR:
        channels.add(vendor_channel(actor.programme_id))
    elif actor.kind is OrgKind.PROVIDER:
        channels.add(candidate_providers_channel(actor.programme_id))
    return frozenset(channels)


def event_channels(order: Order, audience: Audience) -> frozenset[str]:
    """The channels an event with `audience` on `order` (as committed) is published on.

    Everyone's events go to every party of the order (`Order.parties_of`): its partner, the vendor,
    its provider once released to it or while it may quote, and every provider for an open quote
    request addressed to no one. A restricted event goes to its audience's organisation only, plus
    the buyer side (the partner and the vendor) when the audience includes it.
    """
    partner, vendor = organisation_channel(order.partner_id), vendor_channel(order.programme_id)
    if audience.org_id is not None:
        narrowed = {organisation_channel(audience.org_id)}
        if audience.buyer_side:
            narrowed |= {partner, vendor}
        return frozenset(narrowed)
    channels = {partner, vendor}
    provider = order.provider_id
    if provider is not None and (
        order.released_to_provider_at is not None or order.is_open_quote_request_for(provider)
    ):
        channels.add(organisation_channel(provider))
    if provider is None and order.kind is OrderKind.QUOTED and order.status is OrderStatus.PENDING_QUOTES:
        channels.add(candidate_providers_channel(order.programme_id))
    return frozenset(channels)


# ---- leaving the view ------------------------------------------------------------------------

VIEW_CHANGES: Final = frozenset({EventKind.STATUS_CHANGED, EventKind.QUOTE_ACCEPTED})
"""The kinds of event that change who may see an order (see `seen_before`)."""


def seen_before(order: Order, event: OrderEvent) -> Order:
    """`order` with what decides who may see it put back as it was just before `event` (the rest as it is).

    Only two kinds of event change who may see an order, and each records the old value of what it
    changed: STATUS_CHANGED the status, QUOTE_ACCEPTED the provider the request was addressed to (None:
    every provider), always while the order is PENDING_QUOTES (quotes are decided on open requests only).
    The rest that decides it never changes (kind, partner, programme) or only ever widens the view (the
    release to the provider), so taking it as it is now is exact for whoever lost sight of the order,
    however late the event is read. Any other event, or one that does not parse, returns `order` itself.
    """
    if event.order_id != order.id or event.kind not in VIEW_CHANGES:
        return order
    try:
        if event.kind is EventKind.QUOTE_ACCEPTED:
            provider = event.before.get("provider_id")
            return replace(
                order,
                status=OrderStatus.PENDING_QUOTES,
                provider_id=None if provider is None else UUID(str(provider)),
            )
        return replace(order, status=OrderStatus(event.before["status"]))
    except (KeyError, TypeError, ValueError):
        return order


def live_channels(order: Order, event: OrderEvent) -> frozenset[str]:
    """The channels the hint of `event` on `order` (as committed) goes to.

    Those of `event_channels`, and those of whoever could see the order just before the event, so that a
    subscriber who lost sight of the order with it hears of it (`left_view`).
    """
    channels = event_channels(order, event.audience)
    before = seen_before(order, event)
    return channels if before is order else channels | event_channels(before, event.audience)


def left_view(order: Order, event: OrderEvent, actor: Actor) -> bool:
    """True when `event` took `order` (as it is now) out of what `actor` may see.

    So: `actor` could see the order just before the event, cannot see it now, and may learn of the event
    itself (its audience admits `actor`), so that nothing is said of a change it may not learn of, not even
    when it happened. A subscriber is told of it at the event that took the order away, and at no other.
    """
    if order.can_see(actor):
        return False
    before = seen_before(order, event)
    return before is not order and before.can_see(actor) and event.audience.admits(actor, order.partner_id)


@dataclass(frozen=True, slots=True)
class LeftView:
    """That an order left a viewer's view, and when: all a viewer is told of an order it may no longer see."""

    order_id: UUID
    occurred_at: datetime


NOBODY: Final = UUID(int=0)
"""The user id of a live audience: no user has it, so nothing personal is ever read as it."""


def live_audience(actor: Actor) -> Actor:
    """The reader of live events for every subscriber like `actor`: its organisation, kind and programme."""
    return replace(actor, user_id=NOBODY, role=Role.MEMBER)
