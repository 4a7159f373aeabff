"""graphql-core 3.3.2: give every subscription event its own sub-field memo (memory stays flat).

`Executor.build_per_event_executor` makes a shallow copy of the subscription's executor, so every
event's executor shares one `_relevant_sub_fields` dictionary. It memoises collected sub-fields by
the identity of field lists that are built anew for every event, so it never hits across events and
keeps every event's entries alive: about 1 KB per delivered event, for the life of the subscription
(1,000 subscribers x 300 events took a server from 146 MiB to 540 MiB). An empty memo per event
keeps what each event needs and frees it with the event.

Applied once at start-up by the composition root. tests/api/test_subscription_memory.py fails when
an upgrade no longer needs it (then delete this module) and when the growth comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql.execution.executor import Executor

_ORIGINAL: Callable[[Executor[Any], Any], Executor[Any]] = Executor.build_per_event_executor
_MARK = "_ordergraph_fresh_memo"


def _build_per_event_executor(self: Executor[Any], payload: Any) -> Executor[Any]:
    """graphql-core's per-event executor, with a memo of its own."""
    executor = _ORIGINAL(self, payload)
    executor._relevant_sub_fields = {}
    return executor


setattr(_build_per_event_executor, _MARK, True)


def original_build_per_event_executor() -> Callable[[Executor[Any], Any], Executor[Any]]:
    """graphql-core's own method, unpatched (for the test that the patch is still needed)."""
    return _ORIGINAL


def apply() -> None:
    """Patch graphql-core's Executor (idempotent)."""
    Executor.build_per_event_executor = _build_per_event_executor  # type: ignore[method-assign]


def applied() -> bool:
    """True when the patch is in place."""
    return getattr(Executor.build_per_event_executor, _MARK, False) is True
