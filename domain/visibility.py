"""Who may see what, as data the read side turns into SQL (and pure checks for loaded objects)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final
from uuid import UUID

from domain.events import Audience
from domain.identity import Actor, OrgKind, Role
from domain.lifecycle import OrderKind, OrderStatus
from domain.orders import Order


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


# Whose users one sees besides one's own organisation's: the vendor everyone in its programme;
# partners and providers their counterparts and the vendor, never a competitor's people.
_COUNTERPART_KINDS: dict[OrgKind, frozenset[OrgKind]] = {
    OrgKind.VENDOR: frozenset(OrgKind),
    OrgKind.PARTNER: frozenset({OrgKind.PROVIDER, OrgKind.VENDOR}),
    OrgKind.PROVIDER: frozenset({OrgKind.PARTNER, OrgKind.VENDOR}),
}


def visible_user_kinds(actor: Actor) -> frozenset[OrgKind]:
    """Kinds of organisation (of the actor's programme) whose users `actor` may see, besides its own."""
    return _COUNTERPART_KINDS[actor.kind]


# ---- live updates: which pub/sub channels carry an order's events ------------------------
#
# Every subscriber listens on the channels of `subscriber_channels`; every event is published on
# the channels of `event_channels`. They meet exactly where the subscriber may see the event, so a
# hint reaches the organisations that may see it and no other. Hints are only hints: subscribers
# still re-read the order and the event as themselves before anything is delivered.


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


# ---- live updates: who an event is prepared as ---------------------------------------------
#
# What the read side shows depends on the reader's organisation, its kind and programme, never on
# which of its users reads nor on their role (the one exception, `Order.watching`, is marked
# personal in the schema). So a live event is read once per audience, as nobody in particular with
# the least role, and the result goes to every subscriber of that audience: it cannot carry one
# user's data to another, and whatever might one day depend on the role would show the least.

NOBODY: Final = UUID(int=0)
"""The user id of a live audience: no user has it, so nothing personal is ever read as it."""


def live_audience(actor: Actor) -> Actor:
    """The reader of live events for every subscriber like `actor`: its organisation, kind and programme."""
    return replace(actor, user_id=NOBODY, role=Role.MEMBER)
