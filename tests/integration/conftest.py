"""Integration fixtures shared by several modules: the read side on the test's engine."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.orders.queries import SqlOrderQueries


@pytest.fixture
def queries(engine: AsyncEngine) -> SqlOrderQueries:
    return SqlOrderQueries(engine)
