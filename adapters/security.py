"""Password hashing (argon2id) and the system clock."""

from __future__ import annotations

from datetime import UTC, datetime

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    """domain.common.PasswordHasher with argon2id (argon2-cffi's recommended parameters by default)."""

    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        self._hasher = hasher or argon2.PasswordHasher()

    @classmethod
    def fast(cls) -> Argon2PasswordHasher:
        """Cheap parameters for tests and fixtures; never for real passwords."""
        return cls(argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

    def hash(self, password: str) -> str:
        """The stored form of `password`."""
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """True when `password` matches `stored`; False on a mismatch or a malformed hash."""
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

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
