"""Which kinds of organisation's people a caller may see (pickers, authors, assignees)."""

from __future__ import annotations

from domain.identity.model import Actor, OrgKind

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
