"""Settings, read once from the environment (the only module that reads it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, TypeVar

T = TypeVar("T")

SETTINGS_DOC: Final[tuple[tuple[str, str, str], ...]] = (
    (
        "DATABASE_URL",
        "sqlite+aiosqlite:///./var/ordergraph.db",
        "SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    ),
    ("ORDERGRAPH_DEBUG", "false", "Debug mode: unmasked errors and tracebacks (never in production)"),
    ("ORDERGRAPH_FILES_DIR", "./var/files", "Folder for uploaded attachments and generated files"),
    ("ORDERGRAPH_TOKEN_TTL_HOURS", "168", "Lifetime of a bearer token, in hours"),
    ("ORDERGRAPH_GRAPHIQL", "true", "Serve the GraphiQL IDE on GET /graphql"),
    ("ORDERGRAPH_INTROSPECTION", "true", "Allow schema introspection queries"),
    ("ORDERGRAPH_MAX_QUERY_DEPTH", "12", "Deepest selection nesting a query may have"),
    ("ORDERGRAPH_MAX_ALIASES", "30", "Most aliases a query may use"),
    ("ORDERGRAPH_MAX_TOKENS", "3000", "Most lexical tokens a query document may have"),
    ("ORDERGRAPH_HOST", "127.0.0.1", "Interface the HTTP server binds to"),
    ("ORDERGRAPH_PORT", "8000", "Port the HTTP server listens on"),
    ("ORDERGRAPH_ALLOWED_ORIGINS", "", "Comma-separated origins allowed by CORS (empty: none)"),
    ("ORDERGRAPH_DB_POOL_SIZE", "10", "Connection pool size (PostgreSQL)"),
)
"""(environment variable, default, description) rows; the README's settings table comes from these."""

_DEFAULTS: Final = {name: default for name, default, _ in SETTINGS_DOC}
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of the application, typed and validated."""

    database_url: str
    debug: bool
    files_dir: Path
    token_ttl_hours: int
    graphiql: bool
    introspection: bool
    max_query_depth: int
    max_aliases: int
    max_tokens: int
    host: str
    port: int
    allowed_origins: tuple[str, ...]
    db_pool_size: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Settings from `environ`; a bad value raises ValueError naming its variable."""

        def raw(name: str) -> str:
            return environ.get(name, _DEFAULTS[name]).strip()

        def parsed(name: str, parse: Callable[[str], T]) -> T:
            value = raw(name)
            try:
                return parse(value)
            except ValueError as exc:
                raise ValueError(f"{name}={value!r} is invalid: {exc}") from None

        database_url = raw("DATABASE_URL")
        if not database_url:
            raise ValueError("DATABASE_URL is empty; set a SQLAlchemy URL such as sqlite+aiosqlite:///./var/og.db")
        return cls(
            database_url=database_url,
            debug=parsed("ORDERGRAPH_DEBUG", _bool),
            files_dir=parsed("ORDERGRAPH_FILES_DIR", _path),
            token_ttl_hours=parsed("ORDERGRAPH_TOKEN_TTL_HOURS", _positive_int),
            graphiql=parsed("ORDERGRAPH_GRAPHIQL", _bool),
            introspection=parsed("ORDERGRAPH_INTROSPECTION", _bool),
            max_query_depth=parsed("ORDERGRAPH_MAX_QUERY_DEPTH", _positive_int),
            max_aliases=parsed("ORDERGRAPH_MAX_ALIASES", _positive_int),
            max_tokens=parsed("ORDERGRAPH_MAX_TOKENS", _positive_int),
            host=parsed("ORDERGRAPH_HOST", _non_empty),
            port=parsed("ORDERGRAPH_PORT", _port),
            allowed_origins=parsed("ORDERGRAPH_ALLOWED_ORIGINS", _csv),
            db_pool_size=parsed("ORDERGRAPH_DB_POOL_SIZE", _positive_int),
        )


def settings_markdown() -> str:
    """The settings as a Markdown table (variable, default, meaning), for the README."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [
        f"| `{name}` | {f'`{default}`' if default else '(empty)'} | {description} |"
        for name, default, description in SETTINGS_DOC
    ]
    return "\n".join(rows) + "\n"


@cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_env()


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected one of true/false, 1/0, yes/no, on/off")


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError("expected a whole number") from None
    if number < 1:
        raise ValueError("expected a number of at least 1")
    return number


def _port(value: str) -> int:
    number = _positive_int(value)
    if number > 65535:
        raise ValueError("expected a port from 1 to 65535")
    return number


def _non_empty(value: str) -> str:
    if not value:
        raise ValueError("expected a value")
    return value


def _path(value: str) -> Path:
    return Path(_non_empty(value))


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())
