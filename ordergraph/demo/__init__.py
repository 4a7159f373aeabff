"""The demo data set: one realistic programme, built through the domain's use cases.

Every order is driven by the services, each step as the user whose job it is (partner,
vendor or provider), so its timeline, quotes, comments and outbox rows are exactly those
the API would have written. Times come from `DemoClock`, which the loader moves forward
through the months before the moment of loading: steps of all orders run in time order.
`random.Random(seed)` makes every choice, so one seed always gives the same programme
(only ids, and timestamps relative to the moment of loading, differ).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ordergraph.demo.cast import DEMO_LOGINS, DEMO_PASSWORD, PROGRAMME_NAME, DemoLogin

if TYPE_CHECKING:
    from ordergraph.demo.loader import DemoSummary, History, load_demo
    from ordergraph.demo.steps import DemoClock

__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "PROGRAMME_NAME",
    "DemoClock",
    "DemoLogin",
    "DemoSummary",
    "History",
    "load_demo",
]

# The loader brings in the domain's services; the cast alone is what `ordergraph --help` needs.
_LAZY = {
    "DemoSummary": "ordergraph.demo.loader",
    "load_demo": "ordergraph.demo.loader",
    "History": "ordergraph.demo.loader",
    "DemoClock": "ordergraph.demo.steps",
}


def __getattr__(name: str) -> Any:
    """The loader's names, imported on first use."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
