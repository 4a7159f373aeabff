"""The command line's database work: the URL checked, errors made one line, and the look-ups and writes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final
from uuid import UUID, uuid4

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import func, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters import migrations as migrate
from adapters.db import create_bulk_engine, create_engine, session_factory
from adapters.identity import identity_mapping, identity_tables
from adapters.settings import Settings, get_settings
from adapters.uow import SqlHistory, sql_uow_factory
from domain.common import Duplicate, Ports
from domain.identity import Organisation, OrgKind, Programme, Role, User
from ordergraph.cli import args, output
from ordergraph.cli.output import PROG, CliError

if TYPE_CHECKING:
    from ordergraph.app import Runtime
    from ordergraph.demo import DemoSummary
    from schema.common import AppPorts

SUPPORTED_DRIVERS: Final = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
URL_EXAMPLES: Final = "sqlite+aiosqlite:///./var/ordergraph.db or postgresql+asyncpg://user@host/db"


@contextlib.asynccontextmanager
async def _engine_of(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """A throwaway engine (no schema or ports built) for look-ups the ports have no method for."""
    engine = create_engine(settings.database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _runtime(settings: Settings) -> Runtime:
    """The application's ports (imported only now: the commands that just migrate need no GraphQL)."""
    from ordergraph.app import build_runtime

    return build_runtime(settings)


async def count_programmes(settings: Settings) -> int:
    """How many programmes the database has."""
    async with _engine_of(settings) as engine, engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(identity_tables.programmes))).scalar_one())


async def has_user(settings: Settings, email: str) -> bool:
    """True when a user has this email."""
    runtime = _runtime(settings)
    try:
        async with runtime.ports.uow() as uow:
            return await uow.directory.user_by_email(email) is not None
    finally:
        await runtime.engine.dispose()


async def add_organisation(
    settings: Settings, programme_name: str, kind: OrgKind, name: str
) -> tuple[Organisation, Programme, bool]:
    """Add the organisation, and its programme when no programme has that name."""
    runtime = _runtime(settings)
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


async def set_outside_recipients(settings: Settings, organisation_id: UUID, allowed: bool) -> Organisation:
    """Allow (or stop) the organisation's follow-ups to addresses beyond an order's people and recipients."""
    orgs = identity_tables.organisations
    async with _engine_of(settings) as engine, engine.begin() as conn:
        # The operator's switch, not a tenant's: the directory port has no method for it on purpose.
        await conn.execute(update(orgs).where(orgs.c.id == organisation_id).values(outside_recipients=allowed))
        row = (await conn.execute(select(orgs).where(orgs.c.id == organisation_id))).first()
    if row is None:
        raise CliError(f"no organisation has the id {organisation_id}")
    return identity_mapping.organisation_from_row(row)


async def _check_new_organisation(conn: AsyncConnection, programme_id: UUID, kind: OrgKind, name: str) -> None:
    """One vendor per programme, and organisation names unique within it."""
    orgs = identity_tables.organisations
    rows = (await conn.execute(select(orgs.c.kind, orgs.c.name).where(orgs.c.programme_id == programme_id))).all()
    for row_kind, row_name in rows:
        if row_name.casefold() == name.casefold():
            raise CliError(f"the programme already has an organisation named {row_name!r}")
        if kind is OrgKind.VENDOR and row_kind == OrgKind.VENDOR.value:
            raise CliError(f"the programme already has a vendor, {row_name!r}; a programme has one vendor")


async def add_user(
    settings: Settings, organisation_id: UUID, email: str, name: str, role: Role, password: str | None
) -> tuple[User, Organisation]:
    """Add a user; the organisation and the email are checked before the password is asked for."""
    runtime = _runtime(settings)
    try:
        async with runtime.ports.uow() as uow:
            org = await uow.directory.organisation(organisation_id)
            if org is None:
                raise CliError(f"no organisation has the id {organisation_id}")
            if await uow.directory.user_by_email(email) is not None:
                raise CliError(_taken(email))
        if password is None:
            password = args.ask_password()  # blocks the loop: nothing else runs in this process meanwhile
        args.check_password(password)
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


async def load_demo_into(settings: Settings, orders: int = 200, seed: int = 7) -> DemoSummary:
    """Load the demo programme into the database of `settings`, in one transaction, its past never notified.

    It needs no GraphQL (nor the application's notifier): the ports the services use, and an
    engine of its own made for bulk writing, since nothing else runs meanwhile.
    """
    from adapters.files import ContentTypeSniffer, LocalBlobStore
    from adapters.ratelimit import LimitsCounters
    from adapters.security import Argon2PasswordHasher, SystemClock
    from ordergraph.demo import load_demo

    bulk = create_bulk_engine(settings.database_url)
    clock = SystemClock()
    history = SqlHistory(session_factory(bulk), clock)
    ports: AppPorts = Ports(
        uow=sql_uow_factory(session_factory(bulk)),  # unused: the demo writes through `history`
        clock=clock,
        passwords=Argon2PasswordHasher(),
        blobs=LocalBlobStore.in_files_dir(settings.files_dir),
        sniffer=ContentTypeSniffer(),
        counters=LimitsCounters.from_url("memory://"),  # unused: the demo signs nobody in
    )
    try:
        return await load_demo(ports, history, orders=orders, seed=seed)
    finally:
        await bulk.dispose()


def require_migrated(settings: Settings, url: URL) -> None:
    """Refuse a database that is missing or not migrated."""
    path = sqlite_path(url)
    missing = path is not None and not path.exists()
    if missing or migrate.current(settings.database_url) is None:
        raise CliError(f"the database at {shown(url)} is not migrated; run `{PROG} db upgrade` first")


def describe_revision(database_url: str, revision: str | None) -> str:
    """A revision, and whether it is the head."""
    if revision is None:
        return f"none (not migrated; run `{PROG} db upgrade`)"
    heads = ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_heads()
    if revision in heads:
        return f"{revision} (head)"
    return f"{revision} (head is {', '.join(heads)}; run `{PROG} db upgrade`)"


def settings_and_url() -> tuple[Settings, URL]:
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


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.query.get("uri") or url.database.startswith("file:"):
        return None  # a SQLite URI: leave it to SQLite
    return Path(url.database)


def create_sqlite_folder(url: URL) -> None:
    """Create a SQLite file's folder if it is missing."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def shown(url: URL) -> str:
    """The URL as it may be shown (no password)."""
    return url.render_as_string(hide_password=True)


@contextlib.contextmanager
def database_errors(url: URL) -> Iterator[None]:
    """Turn the failures of an unreachable or unusable database into one-line CLI errors."""
    try:
        yield
    except DBAPIError as exc:
        raise CliError(f"database error at {shown(url)}: {output.first_line(exc.orig or exc)}") from None
    except SQLAlchemyError as exc:
        raise CliError(f"database error at {shown(url)}: {output.first_line(exc)}") from None
    except CommandError as exc:
        raise CliError(f"migration failed: {output.first_line(exc)}") from None
    except OSError as exc:
        raise CliError(f"cannot use the database at {shown(url)}: {exc}") from None


def _taken(email: str) -> str:
    return f"a user with the email {email} already exists"
