"""The `ordergraph` command: serve the API, migrate the database, add organisations and users, load the demo.

Settings come from the environment (adapters.settings); `serve --host/--port` override
the bind address. Expected problems (bad arguments, an unusable DATABASE_URL, an unknown
organisation, a taken email...) print one line on stderr and exit 1 (2 for usage errors),
never a traceback.

Building the parser imports only what the help needs: each command imports its machinery (the
application, SQLAlchemy, Alembic...) when it runs, so `ordergraph --help` answers at once.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from adapters.settings import SETTINGS_DOC
from domain.common import DomainError
from domain.identity import OrgKind, Role
from ordergraph.cli import args, output
from ordergraph.cli.args import MIN_PASSWORD_LENGTH
from ordergraph.cli.output import PROG, CliError, print_demo_summary, print_logins
from ordergraph.demo import DEMO_PASSWORD

__all__ = ["PROG", "CliError", "build_parser", "main", "print_demo_summary", "print_logins"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]) and return the exit code."""
    parser = build_parser()
    try:
        parsed = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has already printed the help, or the usage and the problem
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        return _command(parsed.run)(parsed)
    except CliError as exc:
        return output.fail(str(exc))
    except DomainError as exc:
        return output.fail(exc.message)
    except KeyboardInterrupt:
        return output.fail("interrupted", code=130)


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
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = subcommands.add_parser(
        "serve",
        help="run the API server (GraphQL over HTTP and WebSocket, GraphiQL)",
        description="Apply migrations, optionally load the demo data, and serve the API with uvicorn.",
    )
    serve.add_argument("--host", type=args.non_empty, help="interface to bind (default: ORDERGRAPH_HOST)")
    serve.add_argument("--port", type=args.port, help="port to listen on (default: ORDERGRAPH_PORT)")
    serve.add_argument("--demo", action="store_true", help="load the demo data first if the database has none")
    serve.add_argument("--no-migrate", action="store_true", help="do not apply database migrations at start")
    serve.set_defaults(run="serve")

    worker = subcommands.add_parser(
        "worker",
        help="run the notification workers (Dramatiq) and the outbox relay",
        description="Send notification emails: a Dramatiq worker consuming ORDERGRAPH_BROKER_URL (Redis or "
        "RabbitMQ), plus the outbox relay and sweeper. Run as many as you like. Without a broker URL it runs "
        "the jobs in this process (as `serve` does). Stops cleanly on SIGINT or SIGTERM.",
    )
    worker.add_argument("--threads", type=args.worker_threads, default=4, help="concurrent sends (default: 4)")
    worker.set_defaults(run="worker")

    db = subcommands.add_parser("db", help="database migrations", description="Database migrations.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="migrate the database (creating the SQLite file and its folder if needed)",
        description="Migrate the database at DATABASE_URL; a SQLite file and its folder are created if missing.",
    )
    upgrade.add_argument("--revision", default="head", type=args.non_empty, help="target revision (default: head)")
    upgrade.set_defaults(run="db_upgrade")
    current = db_commands.add_parser("current", help="show the database's revision", description="Show the revision.")
    current.set_defaults(run="db_current")

    org = subcommands.add_parser(
        "create-organisation",
        help="add a vendor, partner or provider (and its programme if new); prints the organisation id",
        description="Add an organisation to the programme named --programme, creating the programme if none "
        "has that name. Prints the new organisation's id.",
    )
    org.add_argument("--programme", required=True, type=args.name, help="programme name")
    org.add_argument("--kind", required=True, type=str.upper, choices=[k.value for k in OrgKind])
    org.add_argument("--name", required=True, type=args.name, help="organisation name")
    org.set_defaults(run="create_organisation")

    outside = subcommands.add_parser(
        "outside-recipients",
        help="let an organisation's follow-ups go to addresses beyond an order's people and recipients, or not",
        description="By default a follow-up (orderMessageSend) may only be emailed to the order's people (users "
        "of the organisations on it, its watchers) and its notification recipients. 'on' lets the organisation's "
        "users email any address (still within the rate and recipient limits); 'off' restores the default.",
    )
    outside.add_argument("--organisation", required=True, type=args.uuid, help="organisation id")
    outside.add_argument("state", choices=["on", "off"], help="on: any address; off: the order's people only")
    outside.set_defaults(run="outside_recipients")

    user = subcommands.add_parser(
        "create-user",
        help="add a user to an organisation; prints the user id",
        description=f"Add a user to an organisation. Without --password, the password is asked twice on a "
        f"terminal, or read as one line from stdin otherwise; it has at least {MIN_PASSWORD_LENGTH} characters. "
        "Prints the new user's id.",
    )
    user.add_argument("--organisation", required=True, type=args.uuid, help="organisation id")
    user.add_argument("--email", required=True, type=args.email)
    user.add_argument("--name", required=True, type=args.name, help="the person's name")
    user.add_argument("--role", default=Role.MEMBER.value, type=str.upper, choices=[r.value for r in Role])
    user.add_argument("--password", help="the password (prefer the prompt: arguments show in process lists)")
    user.set_defaults(run="create_user")

    demo = subcommands.add_parser(
        "demo",
        help="load the demo programme into an empty database",
        description=f"Migrate the database, then load the demo programme: a vendor, two partners, two "
        f"providers, their users (password {DEMO_PASSWORD!r}) and orders in every status. Refuses a "
        f"database that already has a programme: use a fresh DATABASE_URL.",
    )
    demo.add_argument("--orders", type=args.demo_orders, default=200, help="how many orders (default: 200)")
    demo.add_argument("--seed", type=int, default=7, help="random seed; the same seed, the same data (default: 7)")
    demo.set_defaults(run="demo")
    return parser


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function of the command `name` in ordergraph.cli.commands, imported only now (it is heavy)."""
    from ordergraph.cli import commands

    command: Callable[[argparse.Namespace], int] = getattr(commands, name)
    return command
