"""The ports of orders: repositories of orders, comments and the providers' catalogue."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from domain.common import UnitOfWork
from domain.identity import Directory
from domain.orders.catalogue import Service
from domain.orders.comments import Comment
from domain.orders.order import Order


class OrderRepository(Protocol):
    """Orders as aggregates (with their quotes)."""

    async def get(self, order_id: UUID) -> Order | None:
        """The order, or None."""
        ...

    async def add(self, order: Order) -> None:
        """Insert a new order."""
        ...

    async def order_id_of_quote(self, quote_id: UUID) -> UUID | None:
        """The id of the order a quote belongs to, or None."""
        ...

    async def save(self, order: Order) -> None:
        """Write a changed order; raises VersionConflict if someone else wrote it first."""
        ...

    async def next_number(self, programme_id: UUID) -> int:
        """The next human-readable order number of the programme."""
        ...


class CommentRepository(Protocol):
    """Comments with their attachments (append-only)."""

    async def add(self, comment: Comment) -> None:
        """Insert a comment and its attachments."""
        ...


class Catalogue(Protocol):
    """The flat-fee services providers publish."""

    async def service(self, service_id: UUID) -> Service | None:
        """A provider's flat-fee service by id."""
        ...

    async def add_service(self, service: Service) -> None:
        """Insert a flat-fee service."""
        ...


class OrdersUnitOfWork(UnitOfWork, Protocol):
    """What the order services use of a unit of work."""

    orders: OrderRepository
    comments: CommentRepository
    catalogue: Catalogue
    directory: Directory
