"""The bearer-token lookup every request makes: one statement for the token, its user and organisation.

The directory runs it inside a unit of work; the read side (`SqlIdentityQueries`) runs it on its
own pooled connection, in autocommit on PostgreSQL, which is how each request authenticates.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select

from adapters.db import RowLike, row_mapping
from adapters.identity import mapping, tables
from domain.identity import AccessToken, Organisation, User


@cache
def token_holder_statement() -> Select[Any]:
    """Built once (its compiled form is then cached by SQLAlchemy); bind `digest`."""
    t, u, o = tables.access_tokens, tables.users, tables.organisations
    return (
        select(*t.c, *(c.label(f"u_{c.name}") for c in u.c), *(c.label(f"o_{c.name}") for c in o.c))
        .join_from(t, u, u.c.id == t.c.user_id)
        .join(o, o.c.id == u.c.organisation_id)
        .where(t.c.digest == bindparam("digest"))
    )


def token_holder_from_row(row: RowLike | None) -> tuple[AccessToken, User, Organisation] | None:
    """The token, its user and its organisation from a row of `token_holder_statement` (None: no row)."""
    if row is None:
        return None
    values = row_mapping(row)
    user = {c.name: values[f"u_{c.name}"] for c in tables.users.c}
    org = {c.name: values[f"o_{c.name}"] for c in tables.organisations.c}
    return mapping.token_from_row(values), mapping.user_from_row(user), mapping.organisation_from_row(org)
