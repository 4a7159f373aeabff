"""Quotas of live work in one API process: WebSocket connections and subscriptions per user and per organisation.

A user who opens connection after connection, or subscription after subscription, is refused once
past its quota (and so is an organisation whose users together are), with an error that says which
quota and how large it is; everyone else goes on. Quotas count what is open in this process: behind
a load balancer spreading connections over N processes, one user holds at most N times its quota.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal
from uuid import UUID

from domain.identity import Actor

Kind = Literal["connections", "subscriptions"]
_Key = tuple[Kind, Literal["user", "organisation"], UUID]

TOO_MANY_CONNECTIONS: Final = "TOO_MANY_CONNECTIONS"
TOO_MANY_SUBSCRIPTIONS: Final = "TOO_MANY_SUBSCRIPTIONS"


@dataclass(frozen=True, slots=True)
class QuotaLimits:
    """How much live work one user, and the users of one organisation together, may hold open."""

    connections_per_user: int = 10
    connections_per_organisation: int = 200
    subscriptions_per_user: int = 50
    subscriptions_per_organisation: int = 1000


class QuotaExceeded(Exception):
    """Refused: the caller's user or organisation holds as much as its quota allows."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class LiveQuotas:
    """What each user and organisation holds open now, against their limits."""

    def __init__(self, limits: QuotaLimits) -> None:
        self.limits = limits
        self._held: Counter[_Key] = Counter()

    def held_by_user(self, kind: Kind, user_id: UUID) -> int:
        """How many of `kind` the user holds now."""
        return self._held[kind, "user", user_id]

    def held_by_organisation(self, kind: Kind, organisation_id: UUID) -> int:
        """How many of `kind` the organisation's users hold now."""
        return self._held[kind, "organisation", organisation_id]

    def connection(self, actor: Actor) -> Hold:
        """A WebSocket connection of `actor`, held until released; QuotaExceeded past a quota."""
        limits = self.limits
        return self._hold("connections", actor, limits.connections_per_user, limits.connections_per_organisation)

    def subscription(self, actor: Actor) -> Hold:
        """A live subscription of `actor`, held until released; QuotaExceeded past a quota."""
        limits = self.limits
        return self._hold("subscriptions", actor, limits.subscriptions_per_user, limits.subscriptions_per_organisation)

    def _hold(self, kind: Kind, actor: Actor, per_user: int, per_organisation: int) -> Hold:
        user, organisation = (
            self.held_by_user(kind, actor.user_id),
            self.held_by_organisation(kind, actor.organisation_id),
        )
        code = TOO_MANY_CONNECTIONS if kind == "connections" else TOO_MANY_SUBSCRIPTIONS
        if user >= per_user:
            raise QuotaExceeded(f"You have {user} live {kind} open, the most one user may; end one first.", code)
        if organisation >= per_organisation:
            raise QuotaExceeded(
                f"Your organisation has {organisation} live {kind} open, the most one organisation may; end one first.",
                code,
            )
        keys: tuple[_Key, ...] = ((kind, "user", actor.user_id), (kind, "organisation", actor.organisation_id))
        for key in keys:
            self._held[key] += 1
        return Hold(self._held, keys)


class Hold:
    """One connection or subscription counted against its quotas until `release` (once; again is a no-op)."""

    __slots__ = ("_held", "_keys")

    def __init__(self, held: Counter[_Key], keys: tuple[_Key, ...]) -> None:
        self._held, self._keys = held, keys

    def release(self) -> None:
        """Count it no more."""
        for key in self._keys:
            self._held[key] -= 1
            if not self._held[key]:
                del self._held[key]
        self._keys = ()

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
