"""Alembic migrations: head on an empty database matches adapters.tables, on both backends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from adapters.db import create_engine
from adapters.migrations import MIGRATIONS_DIR, alembic_config, current, current_async, upgrade, upgrade_async
from adapters.tables import metadata


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
    assert await current_async(database_url) == head == "0003"
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
    assert current(database_url) == "0003"


def test_the_blocking_api_works_without_an_event_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    assert current(url) is None
    upgrade(url)
    upgrade(url, "head")
    assert current(url) == "0003"


def test_the_migrations_ship_inside_the_adapters_package() -> None:
    assert MIGRATIONS_DIR.parent.name == "adapters"
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("*.py")) == [
        "0001_initial.py",
        "0002_notifications.py",
        "0003_mail_limits.py",
    ]
