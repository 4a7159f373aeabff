"""Who may see what, as data the read side turns into SQL (and pure checks for loaded objects)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.identity import Actor, OrgKind


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
