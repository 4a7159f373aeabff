"""What every context's types share: Relay's Node interface and the PERSONAL field marker."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import strawberry

PERSONAL: Final[Mapping[str, bool]] = MappingProxyType({"personal": True})
"""Metadata of a field whose value depends on which user reads it (or on the user's role), not only on its
organisation.

Live events are prepared once per audience (`domain.orders.live_audience`); a subscription that
selects a personal field is prepared for its own user instead (ordergraph.fanout).
"""


@strawberry.interface(description="An object with a global ID, fetchable with `node` and `nodes`.")
class Node:
    """Relay's Node interface."""

    id: strawberry.ID = strawberry.field(description="The object's opaque global ID.")
