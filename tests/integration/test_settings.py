"""Settings read once from the environment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapters.settings import SETTINGS_DOC, Settings, get_settings, settings_markdown


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s == Settings(
        database_url="sqlite+aiosqlite:///./var/ordergraph.db",
        debug=False,
        files_dir=Path("./var/files"),
        token_ttl_hours=168,
        graphiql=True,
        introspection=True,
        max_query_depth=12,
        max_aliases=30,
        max_tokens=3000,
        host="127.0.0.1",
        port=8000,
        allowed_origins=(),
        db_pool_size=10,
    )


def test_every_variable_is_read() -> None:
    env = {
        "DATABASE_URL": "postgresql+asyncpg://og@db/og",
        "ORDERGRAPH_DEBUG": "TRUE",
        "ORDERGRAPH_FILES_DIR": "/srv/files",
        "ORDERGRAPH_TOKEN_TTL_HOURS": "24",
        "ORDERGRAPH_GRAPHIQL": "off",
        "ORDERGRAPH_INTROSPECTION": "0",
        "ORDERGRAPH_MAX_QUERY_DEPTH": "8",
        "ORDERGRAPH_MAX_ALIASES": "5",
        "ORDERGRAPH_MAX_TOKENS": "1000",
        "ORDERGRAPH_HOST": "0.0.0.0",
        "ORDERGRAPH_PORT": "9000",
        "ORDERGRAPH_ALLOWED_ORIGINS": " https://a.example , https://b.example,, ",
        "ORDERGRAPH_DB_POOL_SIZE": "20",
    }
    s = Settings.from_env(env)
    assert s.database_url == "postgresql+asyncpg://og@db/og"
    assert s.debug is True
    assert s.files_dir == Path("/srv/files")
    assert s.token_ttl_hours == 24
    assert (s.graphiql, s.introspection) == (False, False)
    assert (s.max_query_depth, s.max_aliases, s.max_tokens) == (8, 5, 1000)
    assert (s.host, s.port, s.db_pool_size) == ("0.0.0.0", 9000, 20)
    assert s.allowed_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ORDERGRAPH_DEBUG", "maybe"),
        ("ORDERGRAPH_TOKEN_TTL_HOURS", "a week"),
        ("ORDERGRAPH_TOKEN_TTL_HOURS", "0"),
        ("ORDERGRAPH_MAX_QUERY_DEPTH", "-1"),
        ("ORDERGRAPH_PORT", "70000"),
        ("ORDERGRAPH_PORT", "http"),
        ("ORDERGRAPH_DB_POOL_SIZE", "1.5"),
        ("ORDERGRAPH_HOST", "  "),
        ("ORDERGRAPH_FILES_DIR", ""),
        ("DATABASE_URL", ""),
        ("ORDERGRAPH_COST_BUDGET", "999"),  # less than one request may cost
        ("ORDERGRAPH_QUERY_TIMEOUT_SECONDS", "0"),
        ("ORDERGRAPH_QUERY_TIMEOUT_SECONDS", "inf"),
        ("ORDERGRAPH_RATE_LIMIT_URL", "memcached://cache"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.from_env({}).port = 1  # type: ignore[misc]


def test_the_documentation_table_covers_every_setting_with_its_real_default() -> None:
    names = [name for name, _, _ in SETTINGS_DOC]
    assert len(names) == len(set(names)) == len(dataclasses.fields(Settings))
    assert all(description for _, _, description in SETTINGS_DOC)
    defaults = Settings.from_env({})
    # every documented default, given explicitly, yields the same settings as leaving it out
    assert Settings.from_env({name: default for name, default, _ in SETTINGS_DOC}) == defaults
    # and every documented variable is actually read
    for name, default, _ in SETTINGS_DOC:
        changed = {"ORDERGRAPH_PORT": "1"} if name == "ORDERGRAPH_PORT" else {"ORDERGRAPH_PORT": "8000"}
        probe = _different_value(name, default)
        assert Settings.from_env({**changed, name: probe}) != Settings.from_env(changed), name


_VALID_PROBES = {
    "ORDERGRAPH_BROKER_URL": "redis://127.0.0.1:6379/1",
    "ORDERGRAPH_SMTP_URL": "smtp://mail.example",
    "ORDERGRAPH_PUBLIC_URL": "https://orders.example",
    "ORDERGRAPH_RATE_LIMIT_URL": "redis://127.0.0.1:6379/2",
}
"""Values of settings whose empty default cannot simply have a character appended."""


def _different_value(name: str, default: str) -> str:
    if default in ("true", "false"):
        return "false" if default == "true" else "true"
    if default.isdigit():
        return str(int(default) + 1)
    if name == "ORDERGRAPH_ALLOWED_ORIGINS":
        return "https://x.example"
    if name in _VALID_PROBES:
        return _VALID_PROBES[name]
    return default + "x"


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("ORDERGRAPH_PORT", "8123")
    try:
        first = get_settings()
        monkeypatch.setenv("ORDERGRAPH_PORT", "8124")
        assert get_settings() is first
        assert first.port == 8123
    finally:
        get_settings.cache_clear()


def test_the_markdown_table_has_a_row_per_setting() -> None:
    table = settings_markdown().splitlines()
    assert table[0] == "| variable | default | meaning |"
    assert len(table) == 2 + len(SETTINGS_DOC)
    assert "| `ORDERGRAPH_PORT` | `8000` | Port the HTTP server listens on |" in table


@pytest.mark.parametrize(
    ("env", "links"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"ORDERGRAPH_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"ORDERGRAPH_HOST": "0.0.0.0", "ORDERGRAPH_PORT": "9000"}, "http://localhost:9000"),
        ({"ORDERGRAPH_HOST": "::1"}, "http://[::1]:8000"),
        ({"ORDERGRAPH_PUBLIC_URL": "https://orders.example/", "ORDERGRAPH_PORT": "9000"}, "https://orders.example"),
    ],
)
def test_links_point_at_the_public_url_else_at_the_served_address(env: dict[str, str], links: str) -> None:
    assert Settings.from_env(env).links_url == links


def test_the_email_lease_and_the_sweeper_delay_are_settings() -> None:
    s = Settings.from_env({"ORDERGRAPH_MAIL_LEASE_SECONDS": "5", "ORDERGRAPH_MAIL_REDELIVER_SECONDS": "7"})
    assert (s.mail_lease_seconds, s.mail_redeliver_seconds) == (5, 7)
    with pytest.raises(ValueError, match="ORDERGRAPH_MAIL_LEASE_SECONDS"):
        Settings.from_env({"ORDERGRAPH_MAIL_LEASE_SECONDS": "0"})


@pytest.mark.parametrize(
    ("env", "store"),
    [
        ({}, "memory://"),
        ({"ORDERGRAPH_BROADCAST_URL": "redis://bus:6379/0"}, "redis://bus:6379/0"),
        (
            {"ORDERGRAPH_BROADCAST_URL": "redis://bus:6379/0", "ORDERGRAPH_RATE_LIMIT_URL": "redis://limits:6379/3"},
            "redis://limits:6379/3",
        ),
        ({"ORDERGRAPH_BROADCAST_URL": "redis://bus:6379/0", "ORDERGRAPH_RATE_LIMIT_URL": "memory://"}, "memory://"),
    ],
)
def test_budgets_are_kept_with_the_broadcast_unless_a_store_is_named(env: dict[str, str], store: str) -> None:
    assert Settings.from_env(env).rate_limits_url == store


def test_the_query_cost_limits_are_settings() -> None:
    s = Settings.from_env(
        {
            "ORDERGRAPH_MAX_QUERY_COST": "500",
            "ORDERGRAPH_COST_BUDGET": "500",
            "ORDERGRAPH_COST_RESTORE_RATE": "7",
            "ORDERGRAPH_QUERY_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert (s.max_query_cost, s.cost_budget, s.cost_restore_rate, s.query_timeout_seconds) == (500, 500, 7, 2.5)
