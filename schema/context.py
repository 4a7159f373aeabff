"""The per-request (per-operation, for subscriptions) context the resolvers see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain.errors import Unauthenticated
from domain.identity import Actor
from domain.ports import Ports
from domain.queries import OrderQueries, Viewer, viewer_for

if TYPE_CHECKING:
    from schema.loaders import Loaders


@dataclass
class Context:
    """Who is calling and the ports to serve them; built fresh for every request."""

    ports: Ports
    queries: OrderQueries
    actor: Actor | None = None
    token: str | None = None
    request: Any = None
    response: Any = None
    auth_error: str | None = None
    _loaders: Loaders | None = field(default=None, repr=False)

    def require_actor(self) -> Actor:
        """The authenticated actor, or the UNAUTHENTICATED error."""
        if self.actor is None:
            raise Unauthenticated(
                self.auth_error
                or "Authentication required: send 'Authorization: Bearer <token>' (get one with tokenCreate)."
            )
        return self.actor

    @property
    def viewer(self) -> Viewer:
        """The read-side scopes of the authenticated actor."""
        return viewer_for(self.require_actor())

    @property
    def loaders(self) -> Loaders:
        """DataLoaders for this request, created on first use."""
        if self._loaders is None:
            from schema.loaders import Loaders

            self._loaders = Loaders(self.queries, self.viewer, self.require_actor())
        return self._loaders
