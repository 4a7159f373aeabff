"""Versions by side: what each reader of an order sees of its version (issue 8, item 8).

An order counts its commands three ways: every command (the row's version, which a save checks), those
everyone who sees the order sees (`public`), and per audience those only that audience sees (the
provider's notes; one provider's quote, seen by it and the buyer side). A reader's version is the public
count plus the counts of the audiences that admit it: it moves with every change the reader may see and
with no other, so an `expectedVersion` is never stale for a change its sender cannot see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from domain.identity import Actor
from domain.orders.events import Audience, OrderEvent


def version_seen(public: int, audiences: Mapping[Audience, int], actor: Actor, partner_id: UUID) -> int:
    """The version `actor` (who may see the order) sees: the public count and those of audiences it is in."""
    return public + sum(n for audience, n in audiences.items() if audience.admits(actor, partner_id))


@dataclass(frozen=True, slots=True)
class Versions:
    """An order's three version counters at one moment."""

    row: int
    public: int
    audiences: dict[Audience, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "audiences", dict(self.audiences))  # a copy of its own: never shared

    def with_command(self, events: Sequence[OrderEvent]) -> Versions:
        """The counters with one more command, made of `events`, counted once for each reader who may see it.

        A command one of whose events everyone who sees the order learns of is public; otherwise it counts
        once for each audience of its events (a reader two of them admit counts it twice: still moved).
        """
        if any(event.seen_by_everyone for event in events):
            return Versions(self.row + 1, self.public + 1, self.audiences)
        audiences = dict(self.audiences)
        for audience in {event.audience for event in events}:
            audiences[audience] = audiences.get(audience, 0) + 1
        return Versions(self.row + 1, self.public, audiences)
