"""The limits of an operation, applied after validation and before execution, and `extensions.cost`.

- The per-request maximum: an operation whose cost (schema.common.cost) is over it is refused with
  QUERY_TOO_COSTLY (extensions: cost, limit); nothing of it runs.
- The organisation's budget (a `CostBudget`): each query and mutation spends its cost from its
  organisation's budget, which restores over time; one that finds too little left is refused with
  THROTTLED (extensions: cost, retryAfter in seconds; over HTTP also a Retry-After header).
- The time limit of a query: one still running after it is cancelled and answers OPERATION_TIMEOUT.
  Mutations have none: one cancelled after its commit was sent could not say whether it happened.

Every operation that gets this far answers with `extensions.cost` (Shopify's shape):
`{requestedQueryCost, throttleStatus: {maximumAvailable, currentlyAvailable, restoreRate} | null}`,
the status null for a caller without an organisation (signing in) or while the budget's store is down.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.common.context import Context
from schema.common.cost import CostRules, cost_plan
from schema.common.errors import PublicError

log = logging.getLogger("ordergraph.cost")


class Throttle(Protocol):
    """An organisation's budget after a request asked to spend from it."""

    @property
    def maximum(self) -> int:
        """The most points the budget holds."""
        ...

    @property
    def available(self) -> int:
        """The points left now."""
        ...

    @property
    def restore_rate(self) -> float:
        """Points restored per second."""
        ...

    @property
    def retry_after(self) -> float | None:
        """None when the cost was spent; else nothing was, and the seconds until it can be."""
        ...


class CostBudget(Protocol):
    """Per-organisation budgets of query cost."""

    async def spend(self, key: str, cost: int) -> Throttle | None:
        """Spend `cost` from the budget of `key` if it holds that much; None when the budget cannot be read."""
        ...


@dataclass(frozen=True, slots=True)
class CostOptions:
    """The cost limits of a schema (from settings)."""

    rules: CostRules = field(default_factory=CostRules)
    max_cost: int = 1000
    budget: CostBudget | None = None
    query_timeout: float | None = None
    """Seconds a query may run; None: no limit."""


def _coerced(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, raw: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The operation's variables as execution will see them (defaults applied), or None when they do not coerce."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (o for o in operations if operation_name is None or (o.name is not None and o.name.value == operation_name)),
        None,
    )
    if operation is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), raw or {}, max_errors=1)
    return None if isinstance(coerced, list) else dict(coerced.coerced)


class QueryCost(SchemaExtension):
    """Works out each operation's cost before it runs, applies the limits, and reports the cost."""

    def __init__(self, *, options: CostOptions) -> None:
        self.options = options
        self.requested: int | None = None
        self.throttle: Throttle | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is None:  # nothing validated: nothing to cost
            yield
            return
        options = self.options
        graphql_schema = execution.schema._schema
        plan = cost_plan(graphql_schema, options.rules, execution.query or "", document, execution.operation_name)
        variables: dict[str, Any] | None = {}
        if plan is not None and plan.fixed is None:
            variables = _coerced(graphql_schema, document, execution.operation_name, execution.variables)
        if variables is None:  # execution refuses them before anything runs, saying what is wrong
            yield
            return
        cost = self.requested = plan.cost(variables) if plan is not None else 0
        if cost > options.max_cost:
            raise PublicError(
                f"This operation would cost {cost} points, more than the {options.max_cost} one request may cost: "
                "ask for smaller pages (first/last) or fewer fields and aliases.",
                code="QUERY_TOO_COSTLY",
                details={"cost": cost, "limit": options.max_cost},
            )
        operation = execution.operation_type
        context = execution.context
        if operation is not OperationType.SUBSCRIPTION and options.budget is not None and isinstance(context, Context):
            await self._spend(options.budget, context, cost)
        if operation is not OperationType.QUERY or options.query_timeout is None:
            yield
            return
        timer = asyncio.timeout(options.query_timeout)
        try:
            async with timer:
                yield
        except TimeoutError:
            if not timer.expired():
                raise  # not ours
            raise PublicError(
                f"The query ran longer than the limit of {options.query_timeout:g} seconds and was stopped: "
                "ask for less (smaller pages, fewer fields) or narrow it with a filter.",
                code="OPERATION_TIMEOUT",
                details={"limit": options.query_timeout},
            ) from None

    async def _spend(self, budget: CostBudget, context: Context, cost: int) -> None:
        actor = context.actor
        if actor is None:
            return  # signing in (or refused for want of a token): no organisation to charge
        throttle = self.throttle = await budget.spend(str(actor.organisation_id), cost)
        if throttle is None or throttle.retry_after is None:
            return
        retry_after = max(1, math.ceil(throttle.retry_after))
        headers = getattr(context.response, "headers", None)
        if headers is not None and hasattr(context.response, "status_code"):  # HTTP (not a WebSocket)
            headers["Retry-After"] = str(retry_after)
        raise PublicError(
            f"Your organisation's query budget has {throttle.available} of the {cost} points this operation "
            f"costs; it restores {throttle.restore_rate:g} points a second: retry in {retry_after} s.",
            code="THROTTLED",
            details={"cost": cost, "retryAfter": retry_after},
        )

    def get_results(self) -> dict[str, Any]:
        """`extensions.cost` of the response, once the operation was costed."""
        if self.requested is None:
            return {}
        throttle = self.throttle
        status = (
            None
            if throttle is None
            else {
                "maximumAvailable": throttle.maximum,
                "currentlyAvailable": throttle.available,
                "restoreRate": throttle.restore_rate,
            }
        )
        return {"cost": {"requestedQueryCost": self.requested, "throttleStatus": status}}
