"""Regenerate schema.graphql: `python -m schema` (or `--check` to fail when it is stale)."""

from __future__ import annotations

import sys
from pathlib import Path

from schema.root import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def main(argv: list[str]) -> int:
    """Write the SDL, or with --check compare it to the checked-in file."""
    sdl = schema_sdl()
    if "--check" in argv:
        if SCHEMA_FILE.read_text() != sdl:
            print("schema.graphql is stale: run `uv run python -m schema`", file=sys.stderr)
            return 1
        return 0
    SCHEMA_FILE.write_text(sdl)
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
