"""Settings, read once from the environment (the only module that reads it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlsplit

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
    (
        "ORDERGRAPH_INTROSPECTION",
        "true",
        "Allow schema introspection queries (off: errors suggest no field or type names either)",
    ),
    ("ORDERGRAPH_MAX_QUERY_DEPTH", "12", "Deepest selection nesting a query may have"),
    ("ORDERGRAPH_MAX_ALIASES", "30", "Most aliases a query may use"),
    ("ORDERGRAPH_MAX_TOKENS", "3000", "Most lexical tokens a query document may have"),
    (
        "ORDERGRAPH_MAX_QUERY_COST",
        "1000",
        "Most points one operation may cost (README: Query cost); more is refused with QUERY_TOO_COSTLY",
    ),
    (
        "ORDERGRAPH_COST_BUDGET",
        "10000",
        "Points of query cost an organisation may spend at once (at least ORDERGRAPH_MAX_QUERY_COST); "
        "an empty budget answers THROTTLED with retryAfter",
    ),
    ("ORDERGRAPH_COST_RESTORE_RATE", "500", "Points restored to each organisation's budget every second"),
    (
        "ORDERGRAPH_RATE_LIMIT_URL",
        "",
        "Where budgets and rate limits (sign-in throttling too) are kept: memory:// (each process its own) or "
        "redis://host:6379/0 (shared; empty: ORDERGRAPH_BROADCAST_URL when it is redis://, else memory://)",
    ),
    (
        "ORDERGRAPH_QUERY_TIMEOUT_SECONDS",
        "10",
        "Seconds a query may run before it is stopped with OPERATION_TIMEOUT (mutations are not stopped)",
    ),
    ("ORDERGRAPH_HOST", "127.0.0.1", "Interface the HTTP server binds to"),
    ("ORDERGRAPH_PORT", "8000", "Port the HTTP server listens on"),
    (
        "ORDERGRAPH_ALLOWED_ORIGINS",
        "",
        "Comma-separated origins allowed by CORS and for browser WebSocket subscriptions (empty: none)",
    ),
    ("ORDERGRAPH_DB_POOL_SIZE", "10", "Connection pool size (PostgreSQL)"),
    (
        "ORDERGRAPH_DB_POOL_TIMEOUT_SECONDS",
        "30",
        "Seconds a request waits for a pooled database connection before it fails",
    ),
    (
        "ORDERGRAPH_BROADCAST_URL",
        "memory://",
        "Pub/sub for live subscriptions: memory:// (one process) or redis://host:6379/0 (several)",
    ),
    ("ORDERGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION", "20", "Most operations one WebSocket connection may run at once"),
    (
        "ORDERGRAPH_WS_INIT_TIMEOUT_SECONDS",
        "60",
        "Seconds a WebSocket connection may stay open without its connection_init (either protocol)",
    ),
    (
        "ORDERGRAPH_LIVE_READINGS",
        "4",
        "Live events prepared at once per process, through a database pool of their own of this size "
        "(the rest wait their turn; requests never wait for them)",
    ),
    (
        "ORDERGRAPH_LIVE_CONNECTIONS_PER_USER",
        "10",
        "Most WebSocket connections one user may hold open on one API process",
    ),
    (
        "ORDERGRAPH_LIVE_CONNECTIONS_PER_ORGANISATION",
        "200",
        "Most WebSocket connections the users of one organisation may hold open on one API process",
    ),
    (
        "ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_USER",
        "50",
        "Most live subscriptions one user may run at once on one API process",
    ),
    (
        "ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_ORGANISATION",
        "1000",
        "Most live subscriptions the users of one organisation may run at once on one API process",
    ),
    (
        "ORDERGRAPH_SUBSCRIBER_QUEUE",
        "256",
        "Live events queued per subscription; a subscriber that falls this far behind is ended with an error",
    ),
    (
        "ORDERGRAPH_SIGN_IN_FAILURES_PER_EMAIL",
        "10",
        "Failed sign-ins an email may have from one client address in a minute, and 5 times as many from all "
        "together; the next are refused for a minute, twice as long each time again (at most 15 minutes)",
    ),
    (
        "ORDERGRAPH_SIGN_IN_FAILURES_PER_ADDRESS",
        "100",
        "Failed sign-ins one client address may have in a minute, whatever the emails (then refused likewise)",
    ),
    (
        "ORDERGRAPH_BROKER_URL",
        "",
        "Dramatiq broker for notification workers: redis://host:6379/0 or amqp://host "
        "(empty: the jobs run inside the API process)",
    ),
    (
        "ORDERGRAPH_SMTP_URL",
        "",
        "SMTP server for email: smtp://[user:password@]host[:port][?starttls=true&timeout=30] or smtps://... "
        "(empty: emails are written as .eml files to ORDERGRAPH_MAIL_DIR)",
    ),
    (
        "ORDERGRAPH_MAIL_DIR",
        "",
        "Folder emails are written to when ORDERGRAPH_SMTP_URL is empty (empty: mail/ beside ORDERGRAPH_FILES_DIR)",
    ),
    ("ORDERGRAPH_MAIL_FROM", "ordergraph <noreply@localhost>", "Sender (From) of notification emails"),
    (
        "ORDERGRAPH_PUBLIC_URL",
        "",
        "Base URL of the application, for the links in emails (empty: the address served, "
        "http://ORDERGRAPH_HOST:ORDERGRAPH_PORT or what `serve --host/--port` gives; set it behind a proxy)",
    ),
    (
        "ORDERGRAPH_SECRET_KEY",
        "",
        "Key that signs order links (empty: generated once and kept in secret_key beside ORDERGRAPH_FILES_DIR; "
        "set it when several machines serve)",
    ),
    (
        "ORDERGRAPH_MAIL_MAX_ATTEMPTS",
        "15",
        "Attempts to deliver one email before it is marked FAILED (notificationResend sends it again)",
    ),
    (
        "ORDERGRAPH_MAIL_RETRY_MAX_SECONDS",
        "600",
        "Longest wait between two attempts to deliver an email (the wait doubles from 1 second)",
    ),
    (
        "ORDERGRAPH_MAIL_LEASE_SECONDS",
        "60",
        "How long a worker holds an email it is sending: a worker that dies mid-send leaves its emails to the "
        "others after this (with SMTP never less than twice its timeout plus 10 s)",
    ),
    (
        "ORDERGRAPH_MAIL_REDELIVER_SECONDS",
        "60",
        "How long a queued email may wait for a worker before the sweeper queues it again "
        "(its message lost with the broker or a worker)",
    ),
    (
        "ORDERGRAPH_MAIL_MESSAGES_PER_USER_HOUR",
        "60",
        "Follow-ups and order links one user may send in any hour (more: RATE_LIMITED with retryAfter)",
    ),
    (
        "ORDERGRAPH_MAIL_MESSAGES_PER_ORG_DAY",
        "1000",
        "Follow-ups and order links the users of one organisation may send together in any 24 hours",
    ),
    (
        "ORDERGRAPH_MAIL_RECIPIENTS_PER_MESSAGE",
        "10",
        "Most addresses one follow-up may name in `to`, 1 to 20 (more: TOO_MANY_RECIPIENTS)",
    ),
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
    # Live subscriptions (defaulted, so code that builds Settings by hand need not know them).
    broadcast_url: str = _DEFAULTS["ORDERGRAPH_BROADCAST_URL"]
    max_subscriptions_per_connection: int = int(_DEFAULTS["ORDERGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION"])
    ws_init_timeout_seconds: int = int(_DEFAULTS["ORDERGRAPH_WS_INIT_TIMEOUT_SECONDS"])
    subscriber_queue: int = int(_DEFAULTS["ORDERGRAPH_SUBSCRIBER_QUEUE"])
    db_pool_timeout_seconds: int = int(_DEFAULTS["ORDERGRAPH_DB_POOL_TIMEOUT_SECONDS"])
    live_readings: int = int(_DEFAULTS["ORDERGRAPH_LIVE_READINGS"])
    live_connections_per_user: int = int(_DEFAULTS["ORDERGRAPH_LIVE_CONNECTIONS_PER_USER"])
    live_connections_per_organisation: int = int(_DEFAULTS["ORDERGRAPH_LIVE_CONNECTIONS_PER_ORGANISATION"])
    live_subscriptions_per_user: int = int(_DEFAULTS["ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_USER"])
    live_subscriptions_per_organisation: int = int(_DEFAULTS["ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_ORGANISATION"])
    sign_in_failures_per_email: int = int(_DEFAULTS["ORDERGRAPH_SIGN_IN_FAILURES_PER_EMAIL"])
    sign_in_failures_per_address: int = int(_DEFAULTS["ORDERGRAPH_SIGN_IN_FAILURES_PER_ADDRESS"])
    # Notifications (defaulted likewise).
    broker_url: str = ""
    smtp_url: str = field(default="", repr=False)  # may carry a password
    mail_dir: Path = Path("var/mail")
    mail_from: str = _DEFAULTS["ORDERGRAPH_MAIL_FROM"]
    public_url: str = _DEFAULTS["ORDERGRAPH_PUBLIC_URL"]
    secret_key: str = field(default="", repr=False)
    mail_max_attempts: int = int(_DEFAULTS["ORDERGRAPH_MAIL_MAX_ATTEMPTS"])
    mail_retry_max_seconds: int = int(_DEFAULTS["ORDERGRAPH_MAIL_RETRY_MAX_SECONDS"])
    mail_lease_seconds: int = int(_DEFAULTS["ORDERGRAPH_MAIL_LEASE_SECONDS"])
    mail_redeliver_seconds: int = int(_DEFAULTS["ORDERGRAPH_MAIL_REDELIVER_SECONDS"])
    # Query cost (defaulted likewise).
    max_query_cost: int = int(_DEFAULTS["ORDERGRAPH_MAX_QUERY_COST"])
    cost_budget: int = int(_DEFAULTS["ORDERGRAPH_COST_BUDGET"])
    cost_restore_rate: int = int(_DEFAULTS["ORDERGRAPH_COST_RESTORE_RATE"])
    rate_limit_url: str = _DEFAULTS["ORDERGRAPH_RATE_LIMIT_URL"]
    query_timeout_seconds: float = float(_DEFAULTS["ORDERGRAPH_QUERY_TIMEOUT_SECONDS"])
    # What users may send by email (issue 8, item 6).
    mail_messages_per_user_hour: int = int(_DEFAULTS["ORDERGRAPH_MAIL_MESSAGES_PER_USER_HOUR"])
    mail_messages_per_org_day: int = int(_DEFAULTS["ORDERGRAPH_MAIL_MESSAGES_PER_ORG_DAY"])
    mail_recipients_per_message: int = int(_DEFAULTS["ORDERGRAPH_MAIL_RECIPIENTS_PER_MESSAGE"])

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
        files_dir = parsed("ORDERGRAPH_FILES_DIR", _path)
        max_query_cost = parsed("ORDERGRAPH_MAX_QUERY_COST", _positive_int)
        cost_budget = parsed("ORDERGRAPH_COST_BUDGET", _positive_int)
        if cost_budget < max_query_cost:
            raise ValueError(
                f"ORDERGRAPH_COST_BUDGET={cost_budget} is invalid: it must be at least ORDERGRAPH_MAX_QUERY_COST "
                f"({max_query_cost}), else an allowed operation could never be paid for"
            )
        return cls(
            database_url=database_url,
            debug=parsed("ORDERGRAPH_DEBUG", _bool),
            files_dir=files_dir,
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
            broadcast_url=parsed("ORDERGRAPH_BROADCAST_URL", _broadcast_url),
            max_subscriptions_per_connection=parsed("ORDERGRAPH_MAX_SUBSCRIPTIONS_PER_CONNECTION", _positive_int),
            ws_init_timeout_seconds=parsed("ORDERGRAPH_WS_INIT_TIMEOUT_SECONDS", _positive_int),
            subscriber_queue=parsed("ORDERGRAPH_SUBSCRIBER_QUEUE", _positive_int),
            db_pool_timeout_seconds=parsed("ORDERGRAPH_DB_POOL_TIMEOUT_SECONDS", _positive_int),
            live_readings=parsed("ORDERGRAPH_LIVE_READINGS", _positive_int),
            live_connections_per_user=parsed("ORDERGRAPH_LIVE_CONNECTIONS_PER_USER", _positive_int),
            live_connections_per_organisation=parsed("ORDERGRAPH_LIVE_CONNECTIONS_PER_ORGANISATION", _positive_int),
            live_subscriptions_per_user=parsed("ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_USER", _positive_int),
            live_subscriptions_per_organisation=parsed("ORDERGRAPH_LIVE_SUBSCRIPTIONS_PER_ORGANISATION", _positive_int),
            sign_in_failures_per_email=parsed("ORDERGRAPH_SIGN_IN_FAILURES_PER_EMAIL", _positive_int),
            sign_in_failures_per_address=parsed("ORDERGRAPH_SIGN_IN_FAILURES_PER_ADDRESS", _positive_int),
            broker_url=parsed("ORDERGRAPH_BROKER_URL", _broker_url),
            smtp_url=parsed("ORDERGRAPH_SMTP_URL", _smtp_url),
            mail_dir=Path(raw("ORDERGRAPH_MAIL_DIR")) if raw("ORDERGRAPH_MAIL_DIR") else files_dir.parent / "mail",
            mail_from=parsed("ORDERGRAPH_MAIL_FROM", _mail_from),
            public_url=parsed("ORDERGRAPH_PUBLIC_URL", _public_url),
            secret_key=raw("ORDERGRAPH_SECRET_KEY"),
            mail_max_attempts=parsed("ORDERGRAPH_MAIL_MAX_ATTEMPTS", _positive_int),
            mail_retry_max_seconds=parsed("ORDERGRAPH_MAIL_RETRY_MAX_SECONDS", _positive_int),
            mail_lease_seconds=parsed("ORDERGRAPH_MAIL_LEASE_SECONDS", _positive_int),
            mail_redeliver_seconds=parsed("ORDERGRAPH_MAIL_REDELIVER_SECONDS", _positive_int),
            max_query_cost=max_query_cost,
            cost_budget=cost_budget,
            cost_restore_rate=parsed("ORDERGRAPH_COST_RESTORE_RATE", _positive_int),
            rate_limit_url=parsed("ORDERGRAPH_RATE_LIMIT_URL", _rate_limit_url),
            query_timeout_seconds=parsed("ORDERGRAPH_QUERY_TIMEOUT_SECONDS", _positive_float),
            mail_messages_per_user_hour=parsed("ORDERGRAPH_MAIL_MESSAGES_PER_USER_HOUR", _positive_int),
            mail_messages_per_org_day=parsed("ORDERGRAPH_MAIL_MESSAGES_PER_ORG_DAY", _positive_int),
            mail_recipients_per_message=parsed("ORDERGRAPH_MAIL_RECIPIENTS_PER_MESSAGE", _recipients_per_message),
        )

    @property
    def rate_limits_url(self) -> str:
        """Where budgets are kept: ORDERGRAPH_RATE_LIMIT_URL, else the broadcast's Redis, else memory://."""
        if self.rate_limit_url:
            return self.rate_limit_url
        return self.broadcast_url if self.broadcast_url.startswith(("redis://", "rediss://")) else "memory://"

    @property
    def links_url(self) -> str:
        """The base URL of the links in emails: ORDERGRAPH_PUBLIC_URL, else the address served."""
        return self.public_url or f"http://{url_host(self.host)}:{self.port}"


def url_host(host: str) -> str:
    """`host` as it goes into a URL that a browser opens: a wildcard address as localhost, IPv6 in brackets."""
    if host in ("0.0.0.0", "::"):  # noqa: S104 - naming the wildcard addresses, not binding to them
        return "localhost"
    return f"[{host}]" if ":" in host else host


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


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("expected a number") from None
    if not number > 0 or number == float("inf"):
        raise ValueError("expected a number above 0")
    return number


def _rate_limit_url(value: str) -> str:
    if value and ("://" not in value or value.split("://", 1)[0] not in ("memory", "redis", "rediss")):
        raise ValueError("expected empty, memory:// or a redis:// (rediss://) URL")
    return value


def _recipients_per_message(value: str) -> int:
    number = _positive_int(value)
    if number > 20:  # domain.notifications' MAX_RECIPIENTS: no list of addresses is longer
        raise ValueError("expected a number from 1 to 20")
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


def _broadcast_url(value: str) -> str:
    if value.split("://", 1)[0] not in ("memory", "redis", "rediss") or "://" not in value:
        raise ValueError("expected memory:// or a redis:// (rediss://) URL")
    return value


def _broker_url(value: str) -> str:
    if value and value.split("://", 1)[0].lower() not in ("redis", "rediss", "amqp", "amqps"):
        raise ValueError("expected empty, redis://, rediss://, amqp:// or amqps://")
    return value


def _smtp_url(value: str) -> str:
    if value and (value.split("://", 1)[0].lower() not in ("smtp", "smtps") or not urlsplit(value).hostname):
        raise ValueError("expected empty, smtp://host[:port] or smtps://host[:port]")
    return value


def _mail_from(value: str) -> str:
    _name, address = parseaddr(value)
    if "@" not in address:
        raise ValueError("expected an address such as 'ordergraph <noreply@example.com>'")
    return value


def _public_url(value: str) -> str:
    if not value:
        return value
    if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise ValueError("expected an http:// or https:// URL")
    return value.rstrip("/")


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())
