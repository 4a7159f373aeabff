"""The read side of identity: the organisations and users a caller may pick from (filters, pickers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol
from uuid import UUID

from domain.common import search_text
from domain.identity.model import Actor, Organisation, OrgKind, User
from domain.identity.ports import TokenHolders

MAX_DIRECTORY_ROWS: Final = 500
"""Most organisations or users one directory list returns (the first by name); narrow it with a search."""


@dataclass(frozen=True, slots=True)
class OrganisationFilter:
    """Which organisations of the caller's programme to list; empty means all."""

    kind: OrgKind | None = None
    search: str = ""
    """Text the name contains (any case)."""


@dataclass(frozen=True, slots=True)
class UserFilter:
    """Which of the users the caller may see to list; empty means all."""

    organisation_id: UUID | None = None
    search: str = ""
    """Text the name or the email contains (any case)."""


def directory_search(text: str | None) -> str:
    """A directory list's search text (domain.common.search_text)."""
    return search_text(text)


class IdentityQueries(TokenHolders, Protocol):
    """The directory as a caller may see it, each list in one read, by name, at most MAX_DIRECTORY_ROWS long.

    And who holds a bearer token (`TokenHolders`), read outside any transaction: the lookup of every request.
    """

    async def organisations(self, actor: Actor, flt: OrganisationFilter) -> list[Organisation]:
        """Organisations of the actor's programme (as `organisations_by_id` shows them), by name."""
        ...

    async def users(self, actor: Actor, flt: UserFilter) -> list[User]:
        """Active users the actor may see (its organisation's and `visible_user_kinds`'), by name."""
        ...
