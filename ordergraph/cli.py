"""The `ordergraph` command: serve the API, migrate the database, add organisations and users, load the demo.

Settings come from the environment (adapters.settings); `serve --host/--port` override
the bind address. Expected problems (bad arguments, an unusable DATABASE_URL, an unknown
organisation, a taken email...) print one line on stderr and exit 1 (2 for usage errors),
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Final, TextIO
from uuid import UUID, uuid4

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters import migrations as migrate
from adapters.db import create_engine
from adapters.identity import identity_tables
from adapters.settings import SETTINGS_DOC, Settings, get_settings
from domain.common import DomainError, Duplicate
from domain.identity import Organisation, OrgKind, Programme, Role, User, normalise_email
from ordergraph.app import GRAPHQL_PATH, build_runtime
from ordergraph.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoLogin, DemoSummary, load_demo

PROG: Final = "ordergraph"
MIN_PASSWORD_LENGTH: Final = 12
MAX_NAME_LENGTH: Final = 200
MAX_EMAIL_LENGTH: Final = 320
MAX_DEMO_ORDERS: Final = 10_000
SUPPORTED_DRIVERS: Final = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
URL_EXAMPLES: Final = "sqlite+aiosqlite:///./var/ordergraph.db or postgresql+asyncpg://user@host/db"


class CliError(Exception):
    """An expected problem, reported as one line on stderr with exit code 1."""


# ---- entry point --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has already printed the help, or the usage and the problem
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    command: Callable[[argparse.Namespace], int] = args.run
    try:
        return command(args)
    except CliError as exc:
        return _fail(str(exc))
    except DomainError as exc:
        return _fail(exc.message)
    except KeyboardInterrupt:
        return _fail("interrupted", code=130)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    settings_help = "\n".join(
        f"  {name:<28} {text} (default: {default or 'empty'})" for name, default, text in SETTINGS_DOC
    )
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="ordergraph: the GraphQL API for orders between a vendor, its partners and its providers.",
        epilog=f"settings (environment variables):\n{settings_help}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the API server (GraphQL over HTTP and WebSocket, GraphiQL)",
        description="Apply migrations, optionally load the demo data, and serve the API with uvicorn.",
    )
    serve.add_argument("--host", type=_non_empty, help="interface to bind (default: ORDERGRAPH_HOST)")
    serve.add_argument("--port", type=_port, help="port to listen on (default: ORDERGRAPH_PORT)")
    serve.add_argument("--demo", action="store_true", help="load the demo data first if the database has none")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply database migrations at start")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser(
        "worker",
        help="run the notification workers (Dramatiq) and the outbox relay",
        description="Send notification emails: a Dramatiq worker consuming ORDERGRAPH_BROKER_URL (Redis or "
        "RabbitMQ), plus the outbox relay and sweeper. Run as many as you like. Without a broker URL it runs "
        "the jobs in this process (as `serve` does). Stops cleanly on SIGINT or SIGTERM.",
    )
    worker.add_argument("--threads", type=_worker_threads, default=4, help="concurrent sends (default: 4)")
    worker.set_defaults(run=_worker)

    db = commands.add_parser("db", help="database migrations", description="Database migrations.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="migrate the database (creating the SQLite file and its folder if needed)",
        description="Migrate the database at DATABASE_URL; a SQLite file and its folder are created if missing.",
    )
    upgrade.add_argument("--revision", default="head", type=_non_empty, help="target revision (default: head)")
    upgrade.set_defaults(run=_db_upgrade)
    current = db_commands.add_parser("current", help="show the database's revision", description="Show the revision.")
    current.set_defaults(run=_db_current)

    org = commands.add_parser(
        "create-organisation",
        help="add a vendor, partner or provider (and its programme if new); prints the organisation id",
        description="Add an organisation to the programme named --programme, creating the programme if none "
        "has that name. Prints the new organisation's id.",
    )
    org.add_argument("--programme", required=True, type=_name, help="programme name")
    org.add_argument("--kind", required=True, type=str.upper, choices=[k.value for k in OrgKind])
    org.add_argument("--name", required=True, type=_name, help="organisation name")
    org.set_defaults(run=_create_organisation)

    user = commands.add_parser(
        "create-user",
        help="add a user to an organisation; prints the user id",
        description=f"Add a user to an organisation. Without --password, the password is asked twice on a "
        f"terminal, or read as one line from stdin otherwise; it has at least {MIN_PASSWORD_LENGTH} characters. "
        "Prints the new user's id.",
    )
    user.add_argument("--organisation", required=True, type=_uuid, help="organisation id")
    user.add_argument("--email", required=True, type=_email)
    user.add_argument("--name", required=True, type=_name, help="the person's name")
    user.add_argument("--role", default=Role.MEMBER.value, type=str.upper, choices=[r.value for r in Role])
    user.add_argument("--password", help="the password (prefer the prompt: arguments show in process lists)")
    user.set_defaults(run=_create_user)

    demo = commands.add_parser(
        "demo",
        help="load the demo programme into an empty database",
        description=f"Migrate the database, then load the demo programme: a vendor, two partners, two "
        f"providers, their users (password {DEMO_PASSWORD!r}) and orders in every status. Refuses a "
        f"database that already has a programme: use a fresh DATABASE_URL.",
    )
    demo.add_argument("--orders", type=_demo_orders, default=200, help="how many orders (default: 200)")
    demo.add_argument("--seed", type=int, default=7, help="random seed; the same seed, the same data (default: 7)")
    demo.set_defaults(run=_demo)
    return parser


# ---- commands -----------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace) -> int:
    settings, url = _database()
    with _database_errors(url):
        _create_sqlite_folder(url)
        migrate.upgrade(settings.database_url, args.revision)
        revision = migrate.current(settings.database_url)
    print(f"{_shown(url)} is at revision {_describe_revision(settings.database_url, revision)}")
    return 0


def _db_current(_args: argparse.Namespace) -> int:
    settings, url = _database()
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        print(f"none (no database file at {path})")
        return 0
    with _database_errors(url):
        revision = migrate.current(settings.database_url)
    print(_describe_revision(settings.database_url, revision))
    return 0


def _create_organisation(args: argparse.Namespace) -> int:
    settings, url = _database()
    kind = OrgKind(args.kind)
    with _database_errors(url):
        _require_migrated(settings, url)
        org, programme, new_programme = asyncio.run(_add_organisation(settings, args.programme, kind, args.name))
    where = "new programme" if new_programme else "programme"
    _note(f"Created {kind.value} organisation {org.name!r} in {where} {programme.name!r}.")
    print(org.id)
    return 0


def _create_user(args: argparse.Namespace) -> int:
    settings, url = _database()
    role = Role(args.role)
    with _database_errors(url):
        _require_migrated(settings, url)
        user, org = asyncio.run(_add_user(settings, args.organisation, args.email, args.name, role, args.password))
    _note(f"Created {role.value} {user.email} in {org.kind.value} organisation {org.name!r}.")
    print(user.id)
    return 0


def _demo(args: argparse.Namespace) -> int:
    settings, url = _database()
    with _database_errors(url):
        _create_sqlite_folder(url)
        migrate.upgrade(settings.database_url)
        programmes = asyncio.run(_count_programmes(settings))
        if programmes:
            raise CliError(
                f"the database at {_shown(url)} already has data ({programmes} programme(s)); the demo loads "
                "only into an empty database: set DATABASE_URL to a new one, e.g. "
                "DATABASE_URL=sqlite+aiosqlite:///./var/demo.db"
            )
        started = time.perf_counter()
        summary = asyncio.run(_load_demo(settings, args.orders, args.seed))
    print_demo_summary(summary, seconds=time.perf_counter() - started)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn  # only this command needs the server

    settings, url = _database()
    with _database_errors(url):
        if not args.no_migrate:
            _create_sqlite_folder(url)
            migrate.upgrade(settings.database_url)
        if args.demo:
            _demo_for_serve(settings, url)
    host: str = args.host or settings.host
    port: int = args.port or settings.port
    shown_host = "localhost" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host  # noqa: S104
    label = "GraphiQL" if settings.graphiql else "GraphQL endpoint"
    print(f"{label}: http://{shown_host}:{port}{GRAPHQL_PATH}", flush=True)
    uvicorn.run(
        "ordergraph.app:serve_app",
        factory=True,
        host=host,
        port=port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings, url = _database()
    with _database_errors(url):
        _require_migrated(settings, url)
    where = settings.broker_url.split("@")[-1] if settings.broker_url else "this process (no ORDERGRAPH_BROKER_URL)"
    mail = "SMTP" if settings.smtp_url else f".eml files in {settings.mail_dir}"
    print(f"ordergraph worker: jobs from {where}, email to {mail}; stop with Ctrl-C", flush=True)
    asyncio.run(_run_worker(settings, args.threads))
    return 0


async def _run_worker(settings: Settings, threads: int) -> None:
    """Run the worker and the relay until SIGINT or SIGTERM."""
    import signal

    runtime = build_runtime(settings)
    notifier = runtime.notifier
    if notifier is None:  # pragma: no cover - build_runtime always makes one
        raise CliError("no notification machinery configured")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await notifier.start(worker=True, threads=threads)
        await stop.wait()
    finally:
        await notifier.stop()
        await runtime.engine.dispose()


def _demo_for_serve(settings: Settings, url: URL) -> None:
    """Load the demo into an empty database; otherwise say why not (and the logins, if it is the demo's)."""
    programmes = asyncio.run(_count_programmes(settings))
    if not programmes:
        started = time.perf_counter()
        summary = asyncio.run(_load_demo(settings))
        print_demo_summary(summary, seconds=time.perf_counter() - started)
    elif asyncio.run(_has_user(settings, DEMO_LOGINS[0].email)):
        print("The demo data is already loaded.\n")
        print_logins(DEMO_LOGINS, DEMO_PASSWORD)
    else:
        print(f"The database at {_shown(url)} already has data; the demo was not loaded.")


# ---- database work ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _engine_of(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """A throwaway engine (no schema or ports built) for look-ups the ports have no method for."""
    engine = create_engine(settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _count_programmes(settings: Settings) -> int:
    async with _engine_of(settings) as engine, engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(identity_tables.programmes))).scalar_one())


async def _has_user(settings: Settings, email: str) -> bool:
    runtime = build_runtime(settings)
    try:
        async with runtime.ports.uow() as uow:
            return await uow.directory.user_by_email(email) is not None
    finally:
        await runtime.engine.dispose()


async def _add_organisation(
    settings: Settings, programme_name: str, kind: OrgKind, name: str
) -> tuple[Organisation, Programme, bool]:
    """Add the organisation, and its programme when no programme has that name."""
    runtime = build_runtime(settings)
    try:
        async with runtime.engine.connect() as conn:
            # The directory port finds programmes by id only; the name is the CLI's handle on them.
            programme_ids = list(
                (
                    await conn.execute(
                        select(identity_tables.programmes.c.id).where(
                            identity_tables.programmes.c.name == programme_name
                        )
                    )
                )
                .scalars()
                .all()
            )
            if len(programme_ids) > 1:
                raise CliError(f"{len(programme_ids)} programmes are named {programme_name!r}; rename one first")
            if programme_ids:
                await _check_new_organisation(conn, programme_ids[0], kind, name)
        async with runtime.ports.uow() as uow:
            programme = await uow.directory.programme(programme_ids[0]) if programme_ids else None
            created = programme is None
            if programme is None:
                programme = Programme(uuid4(), programme_name)
                await uow.directory.add_programme(programme)
            org = Organisation(uuid4(), programme.id, kind, name)
            await uow.directory.add_organisation(org)
            await uow.commit()
        return org, programme, created
    finally:
        await runtime.engine.dispose()


async def _check_new_organisation(conn: AsyncConnection, programme_id: UUID, kind: OrgKind, name: str) -> None:
    """One vendor per programme, and organisation names unique within it."""
    orgs = identity_tables.organisations
    rows = (await conn.execute(select(orgs.c.kind, orgs.c.name).where(orgs.c.programme_id == programme_id))).all()
    for row_kind, row_name in rows:
        if row_name.casefold() == name.casefold():
            raise CliError(f"the programme already has an organisation named {row_name!r}")
        if kind is OrgKind.VENDOR and row_kind == OrgKind.VENDOR.value:
            raise CliError(f"the programme already has a vendor, {row_name!r}; a programme has one vendor")


async def _add_user(
    settings: Settings, organisation_id: UUID, email: str, name: str, role: Role, password: str | None
) -> tuple[User, Organisation]:
    """Add a user; the organisation and the email are checked before the password is asked for."""
    runtime = build_runtime(settings)
    try:
        async with runtime.ports.uow() as uow:
            org = await uow.directory.organisation(organisation_id)
            if org is None:
                raise CliError(f"no organisation has the id {organisation_id}")
            if await uow.directory.user_by_email(email) is not None:
                raise CliError(_taken(email))
        if password is None:
            password = _ask_password()  # blocks the loop: nothing else runs in this process meanwhile
        _check_password(password)
        user = User(uuid4(), org.id, email, name, role, runtime.ports.passwords.hash(password))
        async with runtime.ports.uow() as uow:
            try:
                await uow.directory.add_user(user)
            except Duplicate:  # taken since we looked
                raise CliError(_taken(email)) from None
            await uow.commit()
        return user, org
    finally:
        await runtime.engine.dispose()


async def _load_demo(settings: Settings, orders: int = 200, seed: int = 7) -> DemoSummary:
    runtime = build_runtime(settings)
    try:
        return await load_demo(runtime.ports, orders=orders, seed=seed)
    finally:
        await runtime.engine.dispose()


def _require_migrated(settings: Settings, url: URL) -> None:
    path = _sqlite_path(url)
    missing = path is not None and not path.exists()
    if missing or migrate.current(settings.database_url) is None:
        raise CliError(f"the database at {_shown(url)} is not migrated; run `{PROG} db upgrade` first")


def _describe_revision(database_url: str, revision: str | None) -> str:
    if revision is None:
        return f"none (not migrated; run `{PROG} db upgrade`)"
    heads = ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_heads()
    if revision in heads:
        return f"{revision} (head)"
    return f"{revision} (head is {', '.join(heads)}; run `{PROG} db upgrade`)"


# ---- settings and the database URL ---------------------------------------------------------


def _database() -> tuple[Settings, URL]:
    """The settings and their database URL, checked to be one ordergraph can use."""
    try:
        settings = get_settings()
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise CliError(f"DATABASE_URL is not a database URL; expected e.g. {URL_EXAMPLES}") from None
    backend, _, driver = url.drivername.partition("+")
    if SUPPORTED_DRIVERS.get(backend) != driver:
        raise CliError(f"DATABASE_URL uses {url.drivername!r}, which ordergraph does not support; use {URL_EXAMPLES}")
    return settings, url


def _sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.query.get("uri") or url.database.startswith("file:"):
        return None  # a SQLite URI: leave it to SQLite
    return Path(url.database)


def _create_sqlite_folder(url: URL) -> None:
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


@contextlib.contextmanager
def _database_errors(url: URL) -> Iterator[None]:
    """Turn the failures of an unreachable or unusable database into one-line CLI errors."""
    try:
        yield
    except DBAPIError as exc:
        raise CliError(f"database error at {_shown(url)}: {_first_line(exc.orig or exc)}") from None
    except SQLAlchemyError as exc:
        raise CliError(f"database error at {_shown(url)}: {_first_line(exc)}") from None
    except CommandError as exc:
        raise CliError(f"migration failed: {_first_line(exc)}") from None
    except OSError as exc:
        raise CliError(f"cannot use the database at {_shown(url)}: {exc}") from None


# ---- input --------------------------------------------------------------------------------


def _ask_password() -> str:
    """Prompt twice on a terminal; otherwise read one line from stdin (for scripts)."""
    if not _stdin_is_terminal():
        line = sys.stdin.readline()
        if not line:
            raise CliError("no password given: pass --password, or one line on stdin")
        return line.rstrip("\r\n")
    try:
        first = getpass.getpass("Password: ")
        _check_password(first)
        second = getpass.getpass("Repeat password: ")
    except EOFError:
        raise CliError("no password given") from None
    if first != second:
        raise CliError("the passwords do not match")
    return first


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CliError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def _taken(email: str) -> str:
    return f"a user with the email {email} already exists"


def _non_empty(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value.strip()


def _name(value: str) -> str:
    text = _non_empty(value)
    if len(text) > MAX_NAME_LENGTH:
        raise argparse.ArgumentTypeError(f"at most {MAX_NAME_LENGTH} characters")
    return text


def _email(value: str) -> str:
    email = normalise_email(value)
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in email):
        raise argparse.ArgumentTypeError(f"{value!r} is not an email address")
    if len(email) > MAX_EMAIL_LENGTH:
        raise argparse.ArgumentTypeError(f"at most {MAX_EMAIL_LENGTH} characters")
    return email


def _uuid(value: str) -> UUID:
    try:
        return UUID(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an organisation id (a UUID)") from None


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is from 1 to 65535")
    return port


def _worker_threads(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError("from 1 to 64")
    return count


def _demo_orders(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 0 <= count <= MAX_DEMO_ORDERS:
        raise argparse.ArgumentTypeError(f"from 0 to {MAX_DEMO_ORDERS}")
    return count


# ---- output -------------------------------------------------------------------------------


def print_demo_summary(summary: DemoSummary, *, seconds: float | None = None, out: TextIO | None = None) -> None:
    """The demo's logins and its orders per status, as tables."""
    out = out or sys.stdout
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    print(
        f"Loaded the demo programme {summary.programme_name!r}{took}: {summary.orders} orders, "
        f"{summary.quotes} quotes and declines, {summary.comments} comments.\n",
        file=out,
    )
    print_logins(summary.logins, summary.password, out=out)
    print("\nOrders per status:", file=out)
    _table([("STATUS", "ORDERS"), *((s.value, str(n)) for s, n in summary.status_counts.items())], out)
    kinds = ", ".join(f"{n} {k.value}" for k, n in summary.kind_counts.items())
    print(f"  ({kinds})", file=out)


def print_logins(logins: Sequence[DemoLogin], password: str, *, out: TextIO | None = None) -> None:
    """The demo users as a table, with their shared password and how to sign in."""
    out = out or sys.stdout
    print(f"Demo users (password for all: {password}):", file=out)
    _table(
        [
            ("EMAIL", "NAME", "ORGANISATION", "KIND", "ROLE"),
            *((u.email, u.name, u.organisation, u.kind.value, u.role.value) for u in logins),
        ],
        out,
    )
    print(
        f'\nSign in: mutation {{ tokenCreate(input: {{email: "{logins[0].email}", password: "{password}"}}) '
        "{ token } }, then send the header Authorization: Bearer <token>.",
        file=out,
    )


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out)


def _note(message: str) -> None:
    """Human-readable news on stderr, so stdout carries just the id for scripts."""
    print(message, file=sys.stderr)


def _fail(message: str, *, code: int = 1) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


if __name__ == "__main__":
    raise SystemExit(main())
