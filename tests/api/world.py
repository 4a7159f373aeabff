"""A small programme for API tests: a vendor, two partners, two providers, their users and tokens."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from domain.common.ports import Ports
from domain.identity.model import (
    AccessToken,
    Organisation,
    OrgKind,
    Programme,
    Role,
    User,
    new_token_secret,
    token_digest,
)
from domain.orders.catalogue import Service

PASSWORD = "correct horse battery staple"


@dataclass
class Member:
    """A user of the world with a live bearer token."""

    user: User
    org: Organisation
    token: str


@dataclass
class World:
    """Everything a test needs to act as anyone."""

    programme: Programme
    members: dict[str, Member] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Member:
        return self.members[key]

    def org_id(self, key: str) -> UUID:
        return self.members[key].org.id


# key: (organisation key, kind, role)
PEOPLE = {
    "vendor": ("vendor", OrgKind.VENDOR, Role.ADMIN),
    "partner": ("partner", OrgKind.PARTNER, Role.ADMIN),
    "partner_colleague": ("partner", OrgKind.PARTNER, Role.MEMBER),
    "partner2": ("partner2", OrgKind.PARTNER, Role.ADMIN),
    "provider": ("provider", OrgKind.PROVIDER, Role.ADMIN),
    "provider_colleague": ("provider", OrgKind.PROVIDER, Role.MEMBER),
    "provider2": ("provider2", OrgKind.PROVIDER, Role.ADMIN),
    "outsider": ("outsider", OrgKind.VENDOR, Role.ADMIN),  # vendor of another programme
}


async def build_world(ports: Ports, *, threshold: Decimal | None = Decimal("10000")) -> World:
    """Create the programme, organisations, users (password PASSWORD) and tokens."""
    now = ports.clock.now()
    programme = Programme(uuid4(), "Marketplace", quote_approval_threshold=threshold)
    other_programme = Programme(uuid4(), "Elsewhere")
    world = World(programme)
    orgs: dict[str, Organisation] = {}
    password_hash = ports.passwords.hash(PASSWORD)
    async with ports.uow() as uow:
        await uow.directory.add_programme(programme)
        await uow.directory.add_programme(other_programme)
        for key, (org_key, kind, role) in PEOPLE.items():
            if org_key not in orgs:
                prog = other_programme if org_key == "outsider" else programme
                orgs[org_key] = Organisation(uuid4(), prog.id, kind, org_key.capitalize() + " Ltd")
                await uow.directory.add_organisation(orgs[org_key])
            name = key.replace("_", " ").title()
            user = User(uuid4(), orgs[org_key].id, f"{key}@example.com", name, role, password_hash)
            await uow.directory.add_user(user)
            secret = new_token_secret()
            await uow.directory.add_token(AccessToken(token_digest(secret), user.id, now, now + timedelta(days=1)))
            world.members[key] = Member(user, orgs[org_key], secret)
        for key, provider in (("webinar", "provider"), ("mailing", "provider2")):
            service = Service(uuid4(), orgs[provider].id, f"{key.title()} package", key.title(), Decimal("1500.00"))
            await uow.catalogue.add_service(service)
            world.services[key] = service
        await uow.commit()
    return world


async def add_colleague(ports: Ports, world: World, key: str, *, like: str) -> Member:
    """Another user of `like`'s organisation with the same role (and a token of its own), as `key`."""
    now = ports.clock.now()
    template = world[like]
    user = replace(template.user, id=uuid4(), email=f"{key}@example.com", name=key.replace("_", " ").title())
    secret = new_token_secret()
    async with ports.uow() as uow:
        await uow.directory.add_user(user)
        await uow.directory.add_token(AccessToken(token_digest(secret), user.id, now, now + timedelta(days=1)))
        await uow.commit()
    world.members[key] = Member(user, template.org, secret)
    return world.members[key]
