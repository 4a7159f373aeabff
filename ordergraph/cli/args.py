"""What the user gives: the types of the arguments, and the password (prompted, or read from stdin)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Final
from uuid import UUID

from domain.identity import normalise_email
from ordergraph.cli.output import CliError

MIN_PASSWORD_LENGTH: Final = 12
MAX_NAME_LENGTH: Final = 200
MAX_EMAIL_LENGTH: Final = 320
MAX_DEMO_ORDERS: Final = 10_000


def ask_password() -> str:
    """Prompt twice on a terminal; otherwise read one line from stdin (for scripts)."""
    if not _stdin_is_terminal():
        line = sys.stdin.readline()
        if not line:
            raise CliError("no password given: pass --password, or one line on stdin")
        return line.rstrip("\r\n")
    try:
        first = getpass.getpass("Password: ")
        check_password(first)
        second = getpass.getpass("Repeat password: ")
    except EOFError:
        raise CliError("no password given") from None
    if first != second:
        raise CliError("the passwords do not match")
    return first


def _stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def check_password(password: str) -> None:
    """Refuse a password shorter than MIN_PASSWORD_LENGTH."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CliError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def non_empty(value: str) -> str:
    """The text, stripped; refused when blank."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value.strip()


def name(value: str) -> str:
    """A name: not blank, at most MAX_NAME_LENGTH characters."""
    text = non_empty(value)
    if len(text) > MAX_NAME_LENGTH:
        raise argparse.ArgumentTypeError(f"at most {MAX_NAME_LENGTH} characters")
    return text


def email(value: str) -> str:
    """An email address, normalised."""
    email = normalise_email(value)
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in email):
        raise argparse.ArgumentTypeError(f"{value!r} is not an email address")
    if len(email) > MAX_EMAIL_LENGTH:
        raise argparse.ArgumentTypeError(f"at most {MAX_EMAIL_LENGTH} characters")
    return email


def uuid(value: str) -> UUID:
    """An organisation id."""
    try:
        return UUID(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an organisation id (a UUID)") from None


def port(value: str) -> int:
    """A TCP port number."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is from 1 to 65535")
    return port


def worker_threads(value: str) -> int:
    """How many sends a worker runs at once: 1 to 64."""
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError("from 1 to 64")
    return count


def demo_orders(value: str) -> int:
    """How many demo orders: 0 to MAX_DEMO_ORDERS."""
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 0 <= count <= MAX_DEMO_ORDERS:
        raise argparse.ArgumentTypeError(f"from 0 to {MAX_DEMO_ORDERS}")
    return count
