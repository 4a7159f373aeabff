"""The list machinery (adapters.db.lists) over a list of its own, on real SQLite and PostgreSQL.

A toy `things` table declares a Listing the way a context would: sort keys with and without
NULLs, a filter and a search. Every page is walked forwards and backwards and checked against the
same sort done in Python; each page is one statement whatever its size.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    FromClause,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    event,
    true,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import (
    Listing,
    SortKey,
    UtcDateTime,
    contains,
    contains_pattern,
    count_by,
    create_engine,
    fetch_page,
)
from domain.common import InvalidInput, Keyset, PageRequest, SortDirection

things_metadata = MetaData()
things = Table(
    "things",
    things_metadata,
    Column("id", Uuid, primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("due", Date, nullable=True),
    Column("seen_at", UtcDateTime, nullable=True),
    Column("colour", String(10), nullable=False),
    Column("label", String(40), nullable=False),
)

Where = tuple[bool, bool]
"""(only red, with a search term)."""


def _where(t: FromClause, shape: Where) -> ColumnElement[bool]:
    red, search = shape
    clauses: list[ColumnElement[bool]] = [true()]
    if red:
        clauses.append(t.c.colour == "red")
    if search:
        clauses.append(contains(t.c.label, bindparam("q")))
    return and_(*clauses)


THINGS: Listing[str, Where] = Listing(
    name="things",
    table=things,
    sorts={
        "rank": SortKey("rank", "int", nullable=False),
        "due": SortKey("due", "date"),
        "seen_at": SortKey("seen_at", "datetime"),
    },
    where=_where,
    columns=lambda t, _shape: list(t.c),
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(23):
        rows.append(
            {
                "id": uuid4(),
                "rank": i % 7,  # ties, broken by id
                "due": None if i % 4 == 0 else date(2026, 3, 1) + timedelta(days=i % 5),
                "seen_at": None if i % 3 == 0 else T0 + timedelta(hours=i % 6),
                "colour": "red" if i % 2 else "blue",
                "label": f"thing {i} {'50%_off' if i % 5 == 0 else 'plain'}",
            }
        )
    return rows


@pytest.fixture
async def listed(database_url: str) -> AsyncIterator[tuple[AsyncEngine, list[dict[str, Any]]]]:
    engine = create_engine(database_url)
    rows = _rows()
    async with engine.begin() as conn:
        await conn.run_sync(things_metadata.create_all)
        await conn.execute(things.insert(), rows)
    yield engine, rows
    await engine.dispose()


def expected(rows: list[dict[str, Any]], column: str, ascending: bool) -> list[UUID]:
    """The machinery's order: by the value in the direction, NULLs last either way, ties by id."""
    present = sorted((r for r in rows if r[column] is not None), key=lambda r: (r[column], r["id"]))
    if not ascending:
        present = sorted(present, key=lambda r: r["id"], reverse=True)
        present = sorted(present, key=lambda r: r[column], reverse=True)
    nulls = sorted((r for r in rows if r[column] is None), key=lambda r: r["id"], reverse=not ascending)
    return [r["id"] for r in present + nulls]


async def walk(engine: AsyncEngine, sort: str, direction: SortDirection, size: int, *, forward: bool) -> list[UUID]:
    seen: list[UUID] = []
    cursor: Keyset | None = None
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for _ in range(30):
        request = PageRequest(first=size, after=cursor) if forward else PageRequest(last=size, before=cursor)
        before = len(statements)
        async with engine.connect() as conn:
            page = await fetch_page(conn, THINGS, (False, False), {}, sort, direction, request)
        assert len([s for s in statements[before:] if s.lstrip().upper().startswith("SELECT")]) == 1
        ids = [row["id"] for row in page.rows]
        seen = seen + ids if forward else ids + seen
        more = page.has_next if forward else page.has_previous
        if not more:
            return seen
        cursor = page.keys[-1] if forward else page.keys[0]
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("sort", ["rank", "due", "seen_at"])
@pytest.mark.parametrize("direction", [SortDirection.ASC, SortDirection.DESC])
@pytest.mark.parametrize("size", [1, 4, 23, 50])
async def test_pages_walk_the_whole_list_in_order_both_ways(
    listed: tuple[AsyncEngine, list[dict[str, Any]]], sort: str, direction: SortDirection, size: int
) -> None:
    engine, rows = listed
    want = expected(rows, sort, direction is SortDirection.ASC)
    assert await walk(engine, sort, direction, size, forward=True) == want
    assert await walk(engine, sort, direction, size, forward=False) == want


async def test_totals_neighbours_filters_and_literal_search(listed: tuple[AsyncEngine, list[dict[str, Any]]]) -> None:
    engine, rows = listed
    async with engine.connect() as conn:
        red = await fetch_page(
            conn, THINGS, (True, False), {}, "rank", SortDirection.ASC, PageRequest(first=3, with_total=True)
        )
        assert red.total_count == sum(1 for r in rows if r["colour"] == "red")
        assert red.has_next and not red.has_previous
        after = await fetch_page(
            conn, THINGS, (True, False), {}, "rank", SortDirection.ASC, PageRequest(first=3, after=red.keys[-1])
        )
        assert after.has_previous and {r["id"] for r in after.rows}.isdisjoint({r["id"] for r in red.rows})
        # "%" and "_" in the term are matched literally
        found = await fetch_page(
            conn,
            THINGS,
            (False, True),
            {"q": contains_pattern("50%_o")},
            "rank",
            SortDirection.ASC,
            PageRequest(first=50),
        )
        assert {r["label"] for r in found.rows} == {r["label"] for r in rows if "50%_off" in r["label"]}
        # past the end: an empty page still knows what lies before it, and the total
        last = await fetch_page(
            conn,
            THINGS,
            (False, False),
            {},
            "rank",
            SortDirection.ASC,
            PageRequest(first=5, after=Keyset(99, UUID(int=0)), with_total=True),
        )
        assert last.rows == [] and last.has_previous and last.total_count == len(rows)
        counts = await count_by(conn, THINGS, (False, False), {}, "colour")
        assert counts == {"red": 11, "blue": 12}


@pytest.mark.parametrize(
    ("sort", "value"),
    [("rank", "3"), ("rank", True), ("rank", 2**40), ("due", T0), ("seen_at", date(2026, 1, 1)), ("rank", None)],
)
async def test_a_cursor_of_another_sort_is_refused(
    listed: tuple[AsyncEngine, list[dict[str, Any]]], sort: str, value: Any
) -> None:
    engine, _rows = listed
    async with engine.connect() as conn:
        with pytest.raises(InvalidInput) as raised:
            await fetch_page(
                conn, THINGS, (False, False), {}, sort, SortDirection.ASC, PageRequest(after=Keyset(value, uuid4()))
            )
    assert raised.value.field == "after"


@pytest.mark.parametrize("request_", [PageRequest(first=101), PageRequest(last=-1), PageRequest(first=1, last=1)])
async def test_page_sizes_out_of_bounds_are_refused(
    listed: tuple[AsyncEngine, list[dict[str, Any]]], request_: PageRequest
) -> None:
    engine, _rows = listed
    async with engine.connect() as conn:
        with pytest.raises(InvalidInput):
            await fetch_page(conn, THINGS, (False, False), {}, "rank", SortDirection.ASC, request_)
