"""Result rows as every context's mapping reads them: a SQLAlchemy `Row` or any mapping."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Row

RowLike = Row[Any] | Mapping[Any, Any]
"""A result row: `Row` (read through its `_mapping`) or a `RowMapping` / plain mapping."""


def row_mapping(row: RowLike) -> Mapping[Any, Any]:
    """A row as a mapping of column name to value."""
    return row._mapping if isinstance(row, Row) else row


CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    """An amount as a Money column holds it: to the cent, halves away from zero (as PostgreSQL rounds).

    Rounding here, not in the database, makes SQLite (text) and PostgreSQL (NUMERIC) hold the same value.
    """
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money_or_none(amount: Decimal | None) -> Decimal | None:
    """`money`, passing None through."""
    return None if amount is None else money(amount)
