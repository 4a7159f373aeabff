"""The programme's catalogue: the services an order may be placed for."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Service:
    """A flat-fee service a provider publishes with a price."""

    id: UUID
    provider_id: UUID
    name: str
    activity_type: str
    price: Decimal
    active: bool = True
