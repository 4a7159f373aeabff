"""Password hashing (argon2id) and the system clock."""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    """domain.common.PasswordHasher with argon2id (argon2-cffi's recommended parameters by default).

    Verifications run on threads of their own, at most `concurrency` at once (argon2-cffi releases the
    GIL): thirty sign-ins at once queue there instead of stalling the event loop for everyone else.
    """

    def __init__(self, hasher: argon2.PasswordHasher | None = None, *, concurrency: int | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher()
        self._pool = ThreadPoolExecutor(max_workers=concurrency or os.cpu_count() or 1, thread_name_prefix="argon2")
        self._nothing: str | None = None

    @classmethod
    def fast(cls) -> Argon2PasswordHasher:
        """Cheap parameters for tests and fixtures; never for real passwords."""
        return cls(argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

    def hash(self, password: str) -> str:
        """The stored form of `password`."""
        return self._hasher.hash(password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; False on a mismatch, a malformed hash or no hash (None)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        if self._nothing is None:  # made once, on the first sign-in of either kind
            self._nothing = self._hasher.hash(secrets.token_urlsafe(16))
        try:
            matched = self._hasher.verify(self._nothing if stored is None else stored, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and stored is not None

    def needs_rehash(self, stored: str) -> bool:
        """True when `stored` was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


class SystemClock:
    """domain.common.Clock: the real time, timezone-aware UTC."""

    def now(self) -> datetime:
        """Now, in UTC."""
        return datetime.now(UTC)
