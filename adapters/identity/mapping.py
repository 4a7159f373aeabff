"""Pure conversions between identity's rows and domain objects."""

from __future__ import annotations

from typing import Any

from adapters.db import RowLike, money_or_none, row_mapping
from domain.identity import AccessToken, Organisation, OrgKind, Programme, Role, User


def programme_from_row(row: RowLike) -> Programme:
    """A programme from a `programmes` row."""
    m = row_mapping(row)
    return Programme(
        id=m["id"],
        name=m["name"],
        quote_approval_threshold=m["quote_approval_threshold"],
        currency=m["currency"],
    )


def programme_values(programme: Programme) -> dict[str, Any]:
    """Column values of a programme for INSERT (the order sequence starts at its default)."""
    return {
        "id": programme.id,
        "name": programme.name,
        "quote_approval_threshold": money_or_none(programme.quote_approval_threshold),
        "currency": programme.currency,
    }


def organisation_from_row(row: RowLike) -> Organisation:
    """An organisation from an `organisations` row."""
    m = row_mapping(row)
    return Organisation(
        id=m["id"],
        programme_id=m["programme_id"],
        kind=OrgKind(m["kind"]),
        name=m["name"],
        outside_recipients=bool(m.get("outside_recipients", False)),
    )


def organisation_values(organisation: Organisation) -> dict[str, Any]:
    """Column values of an organisation for INSERT."""
    return {
        "id": organisation.id,
        "programme_id": organisation.programme_id,
        "kind": organisation.kind.value,
        "name": organisation.name,
        "outside_recipients": organisation.outside_recipients,
    }


def user_from_row(row: RowLike) -> User:
    """A user from a `users` row."""
    m = row_mapping(row)
    return User(
        id=m["id"],
        organisation_id=m["organisation_id"],
        email=m["email"],
        name=m["name"],
        role=Role(m["role"]),
        password_hash=m["password_hash"],
        active=bool(m["active"]),
    )


def user_values(user: User) -> dict[str, Any]:
    """Column values of a user for INSERT."""
    return {
        "id": user.id,
        "organisation_id": user.organisation_id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "password_hash": user.password_hash,
        "active": user.active,
    }


def token_from_row(row: RowLike) -> AccessToken:
    """An access token from an `access_tokens` row."""
    m = row_mapping(row)
    return AccessToken(
        digest=m["digest"],
        user_id=m["user_id"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
    )


def token_values(token: AccessToken) -> dict[str, Any]:
    """Column values of an access token for INSERT."""
    return {
        "digest": token.digest,
        "user_id": token.user_id,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }
