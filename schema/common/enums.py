"""Enums every context's lists share, registered with Strawberry (the domain's own classes)."""

from __future__ import annotations

import strawberry

from domain.common import SortDirection

strawberry.enum(SortDirection, description="Ascending or descending.")

__all__ = ["SortDirection"]
