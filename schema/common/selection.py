"""Looking into the client's selection, to fetch only what it asked for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types import Info


def _walk(selections: Iterable[Any]) -> Iterable[Any]:
    for selection in selections:
        name = getattr(selection, "name", None)
        if name is not None and hasattr(selection, "arguments"):
            yield selection
        else:  # inline fragments and fragment spreads
            yield from _walk(getattr(selection, "selections", ()))


def selects(info: Info[Any, Any], *path: str) -> bool:
    """True when the current field's selection reaches `path` (field names, as in the query)."""
    level: Iterable[Any] = info.selected_fields
    for name in path:
        found = [s for s in _walk(sel for f in level for sel in getattr(f, "selections", ())) if s.name == name]
        if not found:
            return False
        level = found
    return True
