"""Identity's per-request loaders: organisations and users by id, scoped to the viewer."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from domain.identity import Organisation, User
from schema.common import Loader


class OrganisationById(Loader[UUID, Organisation | None]):
    """Organisations of the viewer's programme; None for the rest."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[Organisation | None]:
        """Organisations in the order of `keys`."""
        return await self.context.queries.organisations_by_id(self.context.viewer, keys)


class UserById(Loader[UUID, User | None]):
    """Users the viewer may see; None for the rest."""

    async def fetch(self, keys: Sequence[UUID]) -> Sequence[User | None]:
        """Users in the order of `keys`."""
        return await self.context.queries.users_by_id(self.context.viewer, keys)
