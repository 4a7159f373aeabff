"""What the command line prints: the demo's tables, notes on stderr, and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, TextIO

if TYPE_CHECKING:
    from ordergraph.demo import DemoLogin, DemoSummary

PROG: Final = "ordergraph"


class CliError(Exception):
    """An expected problem, reported as one line on stderr with exit code 1."""


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


def note(message: str) -> None:
    """Human-readable news on stderr, so stdout carries just the id for scripts."""
    print(message, file=sys.stderr)


def fail(message: str, *, code: int = 1) -> int:
    """Print the one-line error on stderr; returns the exit code."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
