"""The per-request DataLoader every context's loaders are made from (as Saleor's `DataLoader`s are).

A loader class names one batched, viewer-scoped read (`OrderById`, `UserById`, ...) and lives in
its context's `loaders` module; `SomeLoader.of(context)` is the one instance of that class for the
request, created on first use and dropped with the context's other loaders (`Context.recheck`).
The context keeps them by class, so it needs to know none of them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from strawberry.dataloader import DataLoader

if TYPE_CHECKING:
    from schema.common.context import Context

K = TypeVar("K")
V = TypeVar("V")


class Loader(DataLoader[K, V], Generic[K, V]):
    """A DataLoader bound to one request's context; subclasses implement `fetch`."""

    def __init__(self, context: Context) -> None:
        self.context = context
        custom_key = type(self).key_of is not Loader.key_of
        super().__init__(load_fn=self.fetch, cache_key_fn=self.key_of if custom_key else None)

    @classmethod
    def of(cls, context: Context) -> Self:
        """The request's instance of the loader."""
        return context.loader(cls)

    def key_of(self, key: K) -> Hashable:
        """The cache key of a key (the key itself unless a loader says otherwise)."""
        return key

    async def fetch(self, keys: Sequence[K]) -> Sequence[V]:
        """The values of `keys`, in their order, in one read."""
        raise NotImplementedError


AnyLoader = Loader[Any, Any]
