"""`ordergraph <command>` for bench/fanout.py, printing the moment each live hint is published.

    python bench/fanout_server.py serve --no-migrate --port 8000

The application is the real one; only the after-commit hint publisher is wrapped, to print
`PUBLISHED <event id> <time.perf_counter()>` on stdout just before it publishes. perf_counter is
CLOCK_MONOTONIC on Linux, one clock for every process of the machine, so the benchmark (another
process) measures each delivery from the publish itself, on memory:// as on redis://.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.orders.events import OrderEvent
from domain.orders.order import Order
from ordergraph import hints
from ordergraph.cli import main

_publish = hints.HintPublisher.__call__


async def _stamped(self: hints.HintPublisher, committed: Sequence[tuple[OrderEvent, Order]]) -> None:
    if self.enabled:
        at = time.perf_counter()
        for event, _ in committed:
            print(f"PUBLISHED {event.id} {at:.6f}", flush=True)
    await _publish(self, committed)


hints.HintPublisher.__call__ = _stamped  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
