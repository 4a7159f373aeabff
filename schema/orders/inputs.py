"""Input types shared by several operations."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from domain.orders import Line


@strawberry.input(description="One line item: a service and its cost.")
class LineItemInput:
    """A line item."""

    description: str = strawberry.field(description="What is provided.")
    quantity: Decimal = strawberry.field(default=Decimal(1), description="How many (greater than zero).")
    unit_price: Decimal = strawberry.field(description="Price of one (not negative).")

    def to_domain(self) -> Line:
        """The domain line item."""
        return Line(self.description, self.quantity, self.unit_price)
