"""The read side of identity: who a caller may see of the directory, in SQL, and the lists of its pickers.

The scope predicates are the one statement of the rule in SQL (`domain.identity.visible_user_kinds`):
the orders context's `organisations_by_id` and `users_by_id` apply the same ones. Each list is one
statement, by name (ties by id), at most `MAX_DIRECTORY_ROWS` rows; users come back with an empty
`password_hash`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.db import contains, contains_pattern
from adapters.identity.mapping import organisation_from_row, user_from_row
from adapters.identity.tables import organisations, users
from adapters.identity.tokens import token_holder_from_row, token_holder_statement
from domain.identity import (
    MAX_DIRECTORY_ROWS,
    AccessToken,
    Actor,
    Organisation,
    OrganisationFilter,
    OrgKind,
    User,
    UserFilter,
    visible_user_kinds,
)


def directory_params(programme_id: UUID, organisation_id: UUID, user_kinds: Collection[OrgKind]) -> dict[str, Any]:
    """The caller's values for the scope predicates' bind parameters."""
    return {
        "v_programme": programme_id,
        "v_org": organisation_id,
        "v_user_kinds": sorted(kind.value for kind in user_kinds),
    }


def organisation_scope() -> ColumnElement[bool]:
    """The organisations a caller sees: those of its programme."""
    return organisations.c.programme_id == bindparam("v_programme")


def user_scope(user: FromClause = users, org: FromClause = organisations) -> ColumnElement[bool]:
    """The users a caller sees: in its programme, its own or of kinds it may see (`org`: `user`'s organisation)."""
    return and_(
        org.c.programme_id == bindparam("v_programme"),
        or_(
            user.c.organisation_id == bindparam("v_org"),
            org.c.kind.in_(bindparam("v_user_kinds", expanding=True)),
        ),
    )


def user_columns(user: FromClause = users, prefix: str = "") -> list[ColumnElement[Any]]:
    """A user's columns (labelled `prefix` + name) with an empty `password_hash`: the read side never needs it."""
    columns: list[ColumnElement[Any]] = [c.label(prefix + c.key) for c in user.c if c.key != "password_hash"]
    columns.append(literal("", Text).label(prefix + "password_hash"))
    return columns


class SqlIdentityQueries:
    """`domain.identity.IdentityQueries` over SQLAlchemy Core; one pooled connection per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def organisations(self, actor: Actor, flt: OrganisationFilter) -> list[Organisation]:
        """Organisations of the actor's programme under the filter, by name, at most MAX_DIRECTORY_ROWS."""
        params = _params(actor, flt.search) | {"f_kind": flt.kind.value if flt.kind else None}
        shape = _Shape(by_kind=flt.kind is not None, search=bool(flt.search))
        rows = await self._directory_rows(_organisations_statement(shape), params)
        return [organisation_from_row(row) for row in rows]

    async def users(self, actor: Actor, flt: UserFilter) -> list[User]:
        """Active users the actor may see under the filter, by name, at most MAX_DIRECTORY_ROWS."""
        params = _params(actor, flt.search) | {"f_org": flt.organisation_id}
        shape = _Shape(by_organisation=flt.organisation_id is not None, search=bool(flt.search))
        return [user_from_row(row) for row in await self._directory_rows(_users_statement(shape), params)]

    async def token_holder(self, digest: str) -> tuple[AccessToken, User, Organisation] | None:
        """Who holds a token, on a connection of its own (no BEGIN and ROLLBACK around it on PostgreSQL)."""
        async with self._engine.connect() as conn:
            return token_holder_from_row((await conn.execute(token_holder_statement(), {"digest": digest})).first())

    async def _directory_rows(self, stmt: Select[Any], params: dict[str, Any]) -> list[Any]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(stmt, params)).mappings().all())


def _params(actor: Actor, search: str) -> dict[str, Any]:
    params = directory_params(actor.programme_id, actor.organisation_id, visible_user_kinds(actor))
    return params | {"f_search": contains_pattern(search), "p_limit": MAX_DIRECTORY_ROWS}


@dataclass(frozen=True, slots=True)
class _Shape:
    """Which filters are set (the statement cache key; values go in parameters)."""

    by_kind: bool = False
    by_organisation: bool = False
    search: bool = False


@cache
def _organisations_statement(shape: _Shape) -> Select[Any]:
    clauses = [organisation_scope()]
    if shape.by_kind:
        clauses.append(organisations.c.kind == bindparam("f_kind"))
    if shape.search:
        clauses.append(contains(organisations.c.name, bindparam("f_search")))
    return (
        select(organisations)
        .where(*clauses)
        .order_by(organisations.c.name, organisations.c.id)
        .limit(bindparam("p_limit", type_=Integer))
    )


@cache
def _users_statement(shape: _Shape) -> Select[Any]:
    clauses = [user_scope(), users.c.active.is_(True)]
    if shape.by_organisation:
        clauses.append(users.c.organisation_id == bindparam("f_org"))
    if shape.search:
        pattern: BindParameter[str] = bindparam("f_search")
        clauses.append(or_(contains(users.c.name, pattern), contains(users.c.email, pattern)))
    return (
        select(*user_columns())
        .join_from(users, organisations, organisations.c.id == users.c.organisation_id)
        .where(*clauses)
        .order_by(users.c.name, users.c.id)
        .limit(bindparam("p_limit", type_=Integer))
    )
