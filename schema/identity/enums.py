"""Identity's GraphQL enums: the domain's own enums, registered with Strawberry (same classes, same members)."""

from __future__ import annotations

from typing import TypeAlias

import strawberry

from domain.identity import OrgKind, Role

strawberry.enum(OrgKind, name="OrganisationKind", description="The kind of organisation.")
strawberry.enum(Role, description="A user's role in its organisation.")

OrganisationKind: TypeAlias = OrgKind

__all__ = ["OrganisationKind", "Role"]
