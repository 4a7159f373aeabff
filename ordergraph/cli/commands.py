"""The subcommands: each takes the parsed arguments and returns the exit code."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import time

from sqlalchemy.engine import URL

from adapters import migrations as migrate
from adapters.settings import Settings, url_host
from domain.identity import OrgKind, Role
from ordergraph.cli import database, output
from ordergraph.cli.output import CliError, print_demo_summary, print_logins
from ordergraph.demo import DEMO_LOGINS, DEMO_PASSWORD


def db_upgrade(args: argparse.Namespace) -> int:
    """`db upgrade`: migrate the database, creating a SQLite file and its folder if needed."""
    settings, url = database.settings_and_url()
    with database.database_errors(url):
        database.create_sqlite_folder(url)
        migrate.upgrade(settings.database_url, args.revision)
        revision = migrate.current(settings.database_url)
    print(f"{database.shown(url)} is at revision {database.describe_revision(settings.database_url, revision)}")
    return 0


def db_current(_args: argparse.Namespace) -> int:
    """`db current`: the database's revision."""
    settings, url = database.settings_and_url()
    path = database.sqlite_path(url)
    if path is not None and not path.exists():
        print(f"none (no database file at {path})")
        return 0
    with database.database_errors(url):
        revision = migrate.current(settings.database_url)
    print(database.describe_revision(settings.database_url, revision))
    return 0


def create_organisation(args: argparse.Namespace) -> int:
    """`create-organisation`: add an organisation (and its programme if new); prints its id."""
    settings, url = database.settings_and_url()
    kind = OrgKind(args.kind)
    with database.database_errors(url):
        database.require_migrated(settings, url)
        org, programme, new_programme = asyncio.run(
            database.add_organisation(settings, args.programme, kind, args.name)
        )
    where = "new programme" if new_programme else "programme"
    output.note(f"Created {kind.value} organisation {org.name!r} in {where} {programme.name!r}.")
    print(org.id)
    return 0


def outside_recipients(args: argparse.Namespace) -> int:
    """`outside-recipients`: whether an organisation's follow-ups may go to outside addresses."""
    settings, url = database.settings_and_url()
    allowed = args.state == "on"
    with database.database_errors(url):
        database.require_migrated(settings, url)
        org = asyncio.run(database.set_outside_recipients(settings, args.organisation, allowed))
    if allowed:
        output.note(f"{org.name!r} may now send follow-ups to any address.")
    else:
        output.note(f"{org.name!r} now sends follow-ups only to an order's people and recipients.")
    return 0


def create_user(args: argparse.Namespace) -> int:
    """`create-user`: add a user to an organisation; prints its id."""
    settings, url = database.settings_and_url()
    role = Role(args.role)
    with database.database_errors(url):
        database.require_migrated(settings, url)
        user, org = asyncio.run(
            database.add_user(settings, args.organisation, args.email, args.name, role, args.password)
        )
    output.note(f"Created {role.value} {user.email} in {org.kind.value} organisation {org.name!r}.")
    print(user.id)
    return 0


def demo(args: argparse.Namespace) -> int:
    """`demo`: migrate, then load the demo programme into an empty database."""
    settings, url = database.settings_and_url()
    with database.database_errors(url):
        database.create_sqlite_folder(url)
        migrate.upgrade(settings.database_url)
        programmes = asyncio.run(database.count_programmes(settings))
        if programmes:
            raise CliError(
                f"the database at {database.shown(url)} already has data ({programmes} programme(s)); the demo loads "
                "only into an empty database: set DATABASE_URL to a new one, e.g. "
                "DATABASE_URL=sqlite+aiosqlite:///./var/demo.db"
            )
        started = time.perf_counter()
        summary = asyncio.run(database.load_demo_into(settings, args.orders, args.seed))
    print_demo_summary(summary, seconds=time.perf_counter() - started)
    return 0


def serve(args: argparse.Namespace) -> int:
    """`serve`: migrate (unless --no-migrate), load the demo if asked, and serve the API with uvicorn."""
    import uvicorn  # only this command needs the server

    from ordergraph.app import GRAPHQL_PATH, serve_app

    settings, url = database.settings_and_url()
    with database.database_errors(url):
        if not args.no_migrate:
            database.create_sqlite_folder(url)
            migrate.upgrade(settings.database_url)
        if args.demo:
            _demo_for_serve(settings, url)
    # The served address, which the links in emails follow unless ORDERGRAPH_PUBLIC_URL is set.
    served = dataclasses.replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    label = "GraphiQL" if settings.graphiql else "GraphQL endpoint"
    print(f"{label}: http://{url_host(served.host)}:{served.port}{GRAPHQL_PATH}", flush=True)
    uvicorn.run(
        functools.partial(serve_app, served),
        factory=True,
        host=served.host,
        port=served.port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
    )
    return 0


def worker(args: argparse.Namespace) -> int:
    """`worker`: run the notification workers and the outbox relay until stopped."""
    settings, url = database.settings_and_url()
    with database.database_errors(url):
        database.require_migrated(settings, url)
    where = settings.broker_url.split("@")[-1] if settings.broker_url else "this process (no ORDERGRAPH_BROKER_URL)"
    mail = "SMTP" if settings.smtp_url else f".eml files in {settings.mail_dir}"
    print(f"ordergraph worker: jobs from {where}, email to {mail}; stop with Ctrl-C", flush=True)
    asyncio.run(_run_worker(settings, args.threads))
    return 0


async def _run_worker(settings: Settings, threads: int) -> None:
    """Run the worker and the relay until SIGINT or SIGTERM."""
    import signal

    from ordergraph.app import build_runtime

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
    programmes = asyncio.run(database.count_programmes(settings))
    if not programmes:
        started = time.perf_counter()
        summary = asyncio.run(database.load_demo_into(settings))
        print_demo_summary(summary, seconds=time.perf_counter() - started)
    elif asyncio.run(database.has_user(settings, DEMO_LOGINS[0].email)):
        print("The demo data is already loaded.\n")
        print_logins(DEMO_LOGINS, DEMO_PASSWORD)
    else:
        print(f"The database at {database.shown(url)} already has data; the demo was not loaded.")
