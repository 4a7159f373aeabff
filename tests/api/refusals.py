"""For the tests of refusals: a refused request's top-level error, the rows written, the fuzzers' settings."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from sqlalchemy import func, select

from adapters.orders import tables as order_tables
from tests.api.conftest import Api


async def row_counts(api: Api) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with api.runtime.engine.connect() as conn:
        for table in (
            order_tables.orders,
            order_tables.quotes,
            order_tables.comments,
            order_tables.order_activity,
            order_tables.outbox,
        ):
            counts[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return counts


def top_level(body: dict[str, Any]) -> dict[str, Any]:
    """The first top-level error of a refused request (whose data, if any, is all null)."""
    assert body.get("data") is None or all(v is None for v in body["data"].values()), body
    assert len(body["errors"]) >= 1, body
    error: dict[str, Any] = body["errors"][0]
    return error


FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples every run: CI stays reproducible; known finds have their own tests
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
"""Hypothesis settings of the fuzz tests."""
