"""What identity announces after a commit: tokens that stopped working before their time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TokenRevoked:
    """A bearer token was revoked: connections still open with it must end (`digest`: its stored form)."""

    digest: str
    revoked_at: datetime
