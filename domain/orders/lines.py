"""Order and quote lines: validation and totals in exact decimals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from domain.common import MAX_NAME, InvalidInput, check_line

MAX_LINES = 100


CENT = Decimal("0.01")


MAX_AMOUNT = Decimal("1000000000")  # money columns hold 12 digits before the point


@dataclass(frozen=True, slots=True)
class Line:
    """One line item: a service and its cost."""

    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        """Quantity times unit price, rounded half-up to the cent."""
        return (self.quantity * self.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def validate_lines(lines: Sequence[Line], *, field_name: str = "lines") -> tuple[Line, ...]:
    """Line items with a description, a positive quantity and a non-negative price."""
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"At most {MAX_LINES} line items.", field=field_name)
    for index, line in enumerate(lines):
        where = f"{field_name}.{index}"
        if not line.description.strip() or len(line.description) > MAX_NAME:
            raise InvalidInput(f"A line item needs a description of 1 to {MAX_NAME} characters.", field=where)
        check_line(line.description, where)
        if not line.quantity.is_finite() or line.quantity <= 0:
            raise InvalidInput("A line item's quantity must be greater than zero.", field=where)
        if not line.unit_price.is_finite() or line.unit_price < 0:
            raise InvalidInput("A line item's price cannot be negative.", field=where)
        if _places(line.unit_price) > 2 or _places(line.quantity) > 2:
            raise InvalidInput("Prices and quantities have at most two decimal places.", field=where)
        # each factor first: the product of two huge ones (1E+500000) overflows the decimal context
        if max(line.quantity, line.unit_price) >= MAX_AMOUNT or line.quantity * line.unit_price >= MAX_AMOUNT:
            raise InvalidInput(f"Quantity, price and total of a line item must stay below {MAX_AMOUNT}.", field=where)
    return tuple(Line(line.description.strip(), line.quantity, line.unit_price) for line in lines)


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def total_of(lines: Sequence[Line]) -> Decimal:
    """The sum of the line totals."""
    return sum((line.total for line in lines), Decimal(0))
