"""Alembic migrations: head on an empty database matches adapters.tables, on both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select

from adapters.db import create_engine
from adapters.identity import identity_tables
from adapters.migrations import MIGRATIONS_DIR, alembic_config, current, current_async, upgrade, upgrade_async
from adapters.orders import order_mapping, order_tables
from adapters.tables import metadata

programmes, organisations, users = identity_tables.programmes, identity_tables.organisations, identity_tables.users
orders = order_tables.orders


def _default(text: str | None) -> str | None:
    # Alembic's SQLite comparison reports '' against "''" as a change; compare the bare literal.
    if text is None:
        return None
    return re.sub(r"::[\w ]+$", "", text.strip().strip("()")).strip("'\"")


def _server_default_differs(
    _context: Any, _inspected: Any, _column: Any, inspected: str | None, _meta: Any, rendered: str | None
) -> bool | None:
    # Equal literals are equal; otherwise Alembic's own comparison decides (None).
    return False if _default(inspected) == _default(rendered) else None


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": _server_default_differs}
    )
    return list(compare_metadata(context, metadata))


async def test_head_on_an_empty_database_matches_the_tables(database_url: str) -> None:
    # given an empty database
    assert await current_async(database_url) is None
    # when it is upgraded to head
    await upgrade_async(database_url)
    # then it is at the one head, and the schema matches adapters.tables exactly
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert await current_async(database_url) == head == "0004"
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert names == set(metadata.tables) | {"alembic_version"}
    assert len(metadata.tables) == 14


async def test_upgrading_twice_is_a_no_op_even_from_inside_a_running_loop(database_url: str) -> None:
    await upgrade_async(database_url)
    # the blocking API works while this test's event loop is running (it runs on a thread of its own)
    upgrade(database_url)
    assert current(database_url) == "0004"


def test_the_blocking_api_works_without_an_event_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    assert current(url) is None
    upgrade(url)
    upgrade(url, "head")
    assert current(url) == "0004"


def test_the_migrations_ship_inside_the_adapters_package() -> None:
    assert MIGRATIONS_DIR.parent.name == "adapters"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")) == [
        "0001_initial.py",
        "0002_notifications.py",
        "0003_versions_by_side.py",
        "0004_mail_limits.py",
    ]


async def test_0003_starts_every_side_at_the_version_its_clients_hold(database_url: str) -> None:
    # given a database at 0002 holding an order at version 7
    await upgrade_async(database_url, "0002")
    ids = {name: uuid4() for name in ("programme", "partner", "user", "order")}
    now = datetime(2026, 12, 1, tzinfo=UTC)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(programmes.insert().values(id=ids["programme"], name="P"))
            await conn.execute(
                organisations.insert().values(
                    id=ids["partner"], programme_id=ids["programme"], kind="PARTNER", name="A"
                )
            )
            await conn.execute(
                users.insert().values(
                    id=ids["user"],
                    organisation_id=ids["partner"],
                    email="a@example.com",
                    name="A",
                    role="ADMIN",
                    password_hash="x",
                )
            )
            await conn.execute(
                orders.insert().values(
                    id=ids["order"],
                    programme_id=ids["programme"],
                    number=1,
                    kind="QUOTED",
                    status="DRAFT",
                    name="O",
                    partner_id=ids["partner"],
                    priority="NORMAL",
                    lines=[],
                    total=Decimal(0),
                    created_by=ids["user"],
                    created_at=now,
                    version=7,
                )
            )
        # when it is upgraded to head
        await upgrade_async(database_url)
        # then every side sees the version it saw before: 7, with nothing counted for one audience only
        async with engine.connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.id == ids["order"]))).mappings().one()
    finally:
        await engine.dispose()
    order = order_mapping.order_from_row(row)
    assert (order.version, order.public_version, order.audience_versions) == (7, 7, {})
