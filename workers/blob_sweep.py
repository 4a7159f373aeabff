"""The sweep of unreferenced blobs: what a transaction stored and then failed to commit is deleted later.

A comment stores its files only once every check has passed (domain.orders.store_uploads), so a
refusal stores nothing; a transaction that still fails after that leaves content-addressed blobs
no attachment references. Every SWEEP_EVERY seconds the relay's process deletes those untouched
for SWEEP_AFTER (see LocalBlobStore.sweep for why no reference can be lost to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.orders import order_tables

log = logging.getLogger("ordergraph.blobs")

SWEEP_EVERY: Final = 600.0
"""Seconds between two sweeps."""
SWEEP_AFTER: Final = 3600.0
"""Seconds an unreferenced blob is kept after it was last stored or reused: longer than any transaction."""


@runtime_checkable
class SweepableBlobs(Protocol):
    """A blob store that can delete what nothing references (adapters.files.LocalBlobStore)."""

    async def sweep(self, referenced: Callable[[list[str]], Awaitable[set[str]]], *, older_than: float) -> int:
        """Delete unreferenced blobs untouched for `older_than` seconds; how many went."""
        ...


def referenced_in(engine: AsyncEngine) -> Callable[[list[str]], Awaitable[set[str]]]:
    """Which of a batch of digests an attachment references, read from `engine`."""
    attachments = order_tables.attachments

    async def referenced(digests: list[str]) -> set[str]:
        statement = select(attachments.c.sha256).where(attachments.c.sha256.in_(digests)).distinct()
        async with engine.connect() as conn:
            return set((await conn.execute(statement)).scalars())

    return referenced


async def sweep_blobs(engine: AsyncEngine, blobs: SweepableBlobs, *, older_than: float = SWEEP_AFTER) -> int:
    """One sweep; how many files it deleted."""
    removed = await blobs.sweep(referenced_in(engine), older_than=older_than)
    if removed:
        log.info("deleted %d unreferenced blob file(s)", removed)
    return removed


async def run_sweeps(stop: asyncio.Event, engine: AsyncEngine, blobs: object, *, every: float = SWEEP_EVERY) -> None:
    """Sweep every `every` seconds until `stop` is set (nothing to do for a store that cannot sweep)."""
    if not isinstance(blobs, SweepableBlobs):
        return
    while not stop.is_set():
        try:
            await sweep_blobs(engine, blobs)
        except Exception:  # a failed sweep is tried again next time; it must never stop the relay's process
            log.exception("the sweep of unreferenced blobs failed; it runs again in %.0f s", every)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
