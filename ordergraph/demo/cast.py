"""The demo's cast: its programme, the organisations and their people, and the providers' services."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from domain.identity import OrgKind, Role

DEMO_PASSWORD: Final = "ordergraph-demo"  # noqa: S105 - published on purpose: demo data only
"""The password of every demo user."""

PROGRAMME_NAME: Final = "Northwind Partner Marketplace"
APPROVAL_THRESHOLD: Final = Decimal("15000.00")
"""Accepted quotes above this need the vendor's approval."""


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """One demo user to sign in as."""

    email: str
    name: str
    organisation: str
    kind: OrgKind
    role: Role


def _cast(organisation: str, kind: OrgKind, domain: str, *names: str) -> tuple[DemoLogin, ...]:
    """The first person named is the organisation's admin; emails are first names at `domain`."""
    return tuple(
        DemoLogin(
            email=f"{name.split()[0].lower()}@{domain}",
            name=name,
            organisation=organisation,
            kind=kind,
            role=Role.ADMIN if index == 0 else Role.MEMBER,
        )
        for index, name in enumerate(names)
    )


DEMO_LOGINS: Final = (
    *_cast("Northwind Software", OrgKind.VENDOR, "northwind.example", "Olivia Hart", "Marcus Webb", "Priya Nair"),
    *_cast(
        "Bluefin IT Solutions",
        OrgKind.PARTNER,
        "bluefin-it.example",
        "Daniel Okafor",
        "Sophie Laurent",
        "Tom Becker",
        "Aisha Rahman",
    ),
    *_cast(
        "Summit Cloud Partners", OrgKind.PARTNER, "summitcloud.example", "Grace Kim", "Luis Moreno", "Hannah Schultz"
    ),
    *_cast(
        "Brightwave Marketing",
        OrgKind.PROVIDER,
        "brightwave.example",
        "Chloe Bennett",
        "Ravi Patel",
        "Emma Lindqvist",
        "Jack Turner",
    ),
    *_cast("Stagecraft Events", OrgKind.PROVIDER, "stagecraft.example", "Noah Fischer", "Mia Rossi", "Ethan Clarke"),
)
"""Every demo user (password DEMO_PASSWORD), vendor first, in organisation order."""

# Flat-fee services: provider -> (name, activity type, price).
SERVICES: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "Brightwave Marketing": (
        ("Email nurture campaign (3 sends)", "Email campaign", "2400.00"),
        ("Content syndication (100 MQLs)", "Content syndication", "5500.00"),
        ("Telemarketing sprint (10 calling days)", "Telemarketing", "6500.00"),
        ("Webinar in a box", "Webinar", "3200.00"),
        ("Social media boost (4 weeks)", "Social media campaign", "1900.00"),
    ),
    "Stagecraft Events": (
        ("Turnkey trade show booth (10x10)", "Trade show", "12500.00"),
        ("Executive roundtable dinner (12 guests)", "Executive roundtable", "8900.00"),
        ("Virtual webinar production", "Webinar", "2750.00"),
        ("Regional lunch and learn", "Field event", "4200.00"),
    ),
}

SPECIALTIES: Final[dict[str, frozenset[str]]] = {
    "Brightwave Marketing": frozenset(
        {"Webinar", "Email campaign", "Content syndication", "Telemarketing", "Social media campaign"}
    ),
    "Stagecraft Events": frozenset({"Webinar", "Trade show", "Executive roundtable", "Field event"}),
}
