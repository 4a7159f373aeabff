"""Searching text in SQL: a user's search term matched literally, as a case-insensitive substring."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import BindParameter, ColumnElement

LIKE_ESCAPE: Final = "/"
"""The escape character of every LIKE pattern made by `contains_pattern`."""


def contains_pattern(term: str) -> str:
    """The LIKE pattern of text containing `term` literally: LIKE's wildcards and the escape character escaped."""
    e = LIKE_ESCAPE
    return "%" + term.replace(e, e + e).replace("%", e + "%").replace("_", e + "_") + "%"


def contains(column: ColumnElement[Any], pattern: BindParameter[Any]) -> ColumnElement[bool]:
    """True where `column` matches a `contains_pattern` parameter, in any case."""
    return column.ilike(pattern, escape=LIKE_ESCAPE)
