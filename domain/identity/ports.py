"""The ports of identity: the directory of programmes, organisations, users and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.common import UnitOfWork
from domain.identity.model import AccessToken, Organisation, Programme, User


class TokenHolders(Protocol):
    """Who holds a bearer token: the one lookup every request makes before anything else."""

    async def token_holder(self, digest: str) -> tuple[AccessToken, User, Organisation] | None:
        """An access token with its user and the user's organisation, or None for an unknown digest."""
        ...


class Directory(TokenHolders, Protocol):
    """Programmes, organisations, users and access tokens."""

    async def programme(self, programme_id: UUID) -> Programme | None:
        """A programme by id."""
        ...

    async def organisation(self, organisation_id: UUID) -> Organisation | None:
        """An organisation by id."""
        ...

    async def user(self, user_id: UUID) -> User | None:
        """A user by id."""
        ...

    async def user_by_email(self, email: str) -> User | None:
        """A user by normalised email."""
        ...

    async def token(self, digest: str) -> AccessToken | None:
        """An access token by digest."""
        ...

    async def add_programme(self, programme: Programme) -> None:
        """Insert a programme."""
        ...

    async def add_organisation(self, organisation: Organisation) -> None:
        """Insert an organisation."""
        ...

    async def add_user(self, user: User) -> None:
        """Insert a user; raises Duplicate when the email is taken."""
        ...

    async def add_token(self, token: AccessToken) -> None:
        """Insert an access token."""
        ...

    async def revoke_token(self, digest: str, when: datetime) -> bool:
        """Mark a token revoked; True when it was not revoked before (False: unknown or revoked already).

        A revocation is announced after the unit of work commits (a `TokenRevoked`), so that the
        connections still open with the token end at once.
        """
        ...


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """What identity's services use of a unit of work."""

    directory: Directory
