"""Sign-in throttling: how many failed sign-ins an email and a client address may have, and the lockouts past them.

An attempt falls under three limits, each with its own lockout, each counting the failures of the current and the
previous minute of the domain's clock (so the one past a limit within any 60 seconds is always refused):

- the email from this client address: `Policy.sign_in_failures_per_email` failures (10);
- the email from every address together: EVERYWHERE times as many (50), so that guessing one user's password
  from many addresses is bounded too, while one address alone cannot lock a user out everywhere;
- this client address, whatever the emails: `Policy.sign_in_failures_per_address` failures (100).

The failure that reaches a limit locks its key out for FIRST_LOCKOUT, twice as long each time it happens again
(at most MAX_LOCKOUT), its strikes remembered for STRIKE_MEMORY. An attempt is counted before its password is
checked, so that attempts sent at once cannot all slip through, and a refused one is not checked at all (nor
counted: refusals never push anyone else's count). A success takes its own count back: from the address only
that (it says nothing of the address's other attempts), from the email all its failures and strikes (they were
the user's own typos). Nothing here looks at the user: known and unknown emails are counted and answered alike.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from domain.common import Clock, Counters, Policy, TooManyAttempts

WINDOW: Final = timedelta(minutes=1)
FIRST_LOCKOUT: Final = timedelta(minutes=1)
MAX_LOCKOUT: Final = timedelta(minutes=15)
STRIKE_MEMORY: Final = timedelta(days=1)
EVERYWHERE: Final = 5
"""The email from all addresses together may fail this many times as often as from one."""
_SLACK: Final = timedelta(minutes=1)
"""Counters are kept this much longer than the time they stand for (the store's clock is not the domain's)."""
_WINDOW: Final = WINDOW.total_seconds()
_KEPT: Final = 2 * WINDOW + _SLACK
"""A minute's count is read during the next minute too."""


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit an attempt falls under: its scope, its key (a digest: the store holds no email), failures allowed."""

    scope: str
    key: str
    allowed: int

    def counter(self, what: str) -> str:
        """The name of one of this limit's counters."""
        return f"sign-in:{self.scope}:{self.key}:{what}"


def limits_for(policy: Policy, email: str, address: str) -> tuple[Limit, ...]:
    """The limits an attempt with a (normalised) email from a client address falls under."""
    per_email = policy.sign_in_failures_per_email
    address = client_network(address)
    return (
        Limit("email-address", _digest(email, address), per_email),
        Limit("email", _digest(email), per_email * EVERYWHERE),
        Limit("address", _digest(address), policy.sign_in_failures_per_address),
    )


def client_network(address: str) -> str:
    """What the limits count an address as: an IPv4 address itself, an IPv6 one as its /64.

    One IPv6 subscriber is usually given a whole /64, so counting its addresses apart would give them
    2**64 addresses to try from.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP address (a Unix socket's, or none): counted as given
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def lockout(strikes: int) -> timedelta:
    """How long a key's `strikes`-th lockout lasts: FIRST_LOCKOUT, doubling each time, at most MAX_LOCKOUT."""
    return min(FIRST_LOCKOUT * (1 << min(max(strikes, 1) - 1, 30)), MAX_LOCKOUT)


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt let through: the limits it was counted under, in which window, and the counts it made."""

    limits: tuple[Limit, ...]
    window: int
    counts: tuple[int, ...]


class SignInThrottle:
    """The rule above, kept in `counters` (shared by every API process) and timed by `clock`."""

    def __init__(self, counters: Counters, clock: Clock, policy: Policy) -> None:
        self._counters, self._clock, self._policy = counters, clock, policy

    async def admit(self, email: str, address: str) -> Attempt:
        """Count an attempt; or refuse it (TooManyAttempts, saying when to retry) while one of its limits is spent."""
        now = self._now()
        limits = limits_for(self._policy, email, address)
        until = max([await self._locked_until(limit) for limit in limits])
        if until > now:
            raise TooManyAttempts(_seconds(until - now))
        window = math.floor(now / _WINDOW)
        counts: list[tuple[int, int]] = []
        for limit in limits:
            current = await self._counters.add(limit.counter(f"w{window}"), _KEPT)
            counts.append((current, await self._counters.value(limit.counter(f"w{window - 1}"))))
        if all(current + earlier <= limit.allowed for limit, (current, earlier) in zip(limits, counts, strict=True)):
            return Attempt(limits, window, tuple(current + earlier for current, earlier in counts))
        # Attempts sent together past a limit, its lockout not yet recorded: refused (and not counted) until
        # the earlier minute stops counting, or the one after if this minute's own attempts are too many.
        for limit in limits:
            await self._counters.add(limit.counter(f"w{window}"), _KEPT, -1)
        full = any(current > limit.allowed for limit, (current, _) in zip(limits, counts, strict=True))
        raise TooManyAttempts(_seconds((window + 1 + full) * _WINDOW - now))

    async def failed(self, attempt: Attempt) -> None:
        """The attempt's password was wrong: each limit it reached locks its key out, longer each time."""
        now = self._now()
        for limit, count in zip(attempt.limits, attempt.counts, strict=True):
            if count < limit.allowed:
                continue
            strikes = await self._counters.add(limit.counter("strikes"), STRIKE_MEMORY)
            length = lockout(strikes)
            # Strikes are counted atomically, so this lock counter has one writer; set, not added to.
            lock = limit.counter(f"lock{strikes}")
            await self._counters.remove(lock)
            await self._counters.add(lock, length + _SLACK, math.ceil(now + length.total_seconds()))
            # the lockout stands for the failures that caused it: after it, the count starts afresh
            await self._forget_failures(limit, attempt.window)

    async def succeeded(self, attempt: Attempt) -> None:
        """The attempt signed in: the email's failures and strikes are forgotten, the address keeps its others."""
        for limit in attempt.limits:
            if limit.scope == "address":
                await self._counters.add(limit.counter(f"w{attempt.window}"), _KEPT, -1)
            else:
                await self._forget_failures(limit, attempt.window)
                await self._counters.remove(limit.counter("strikes"))

    async def _forget_failures(self, limit: Limit, window: int) -> None:
        await self._counters.remove(limit.counter(f"w{window}"))
        await self._counters.remove(limit.counter(f"w{window - 1}"))

    async def _locked_until(self, limit: Limit) -> float:
        strikes = await self._counters.value(limit.counter("strikes"))
        return float(await self._counters.value(limit.counter(f"lock{strikes}"))) if strikes else 0.0

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]
