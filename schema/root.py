"""The root Schema: every context's roots merged, with the defences of the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Final

import strawberry
from graphql import GraphQLError, is_specified_scalar_type
from graphql.utilities.print_schema import print_type
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from domain.common import MAX_PAGE_SIZE
from domain.orders import MAX_ATTACHMENTS_PER_COMMENT, MAX_LINES
from resolvers.common import CommonQuery
from resolvers.identity import IdentityMutation, IdentityQuery
from resolvers.notifications import NotificationsMutation, NotificationsQuery
from resolvers.orders import DEFAULT_PAGE_SIZE, OrdersMutation, OrdersQuery, OrdersSubscription
from schema.common import (
    USER_ERROR_TYPES,
    CostOptions,
    CostRules,
    FastPlainFieldExecutionContext,
    FreshOperation,
    QueryCost,
    log_errors,
)
from schema.identity import IDENTITY_ERROR_TYPES, Organisation, User
from schema.notifications import NOTIFICATION_ERROR_TYPES
from schema.orders import ORDER_ERROR_TYPES, Order, OrderAction, OrderStatus, Service, StreamingPublicErrors

# Each context's roots, merged; fields come in the order of the bases.


@strawberry.type(description="Reads.")
class Query(CommonQuery, IdentityQuery, OrdersQuery, NotificationsQuery):
    """The query root."""


@strawberry.type(description="Changes. Each returns a payload with the changed object and typed userErrors.")
class Mutation(IdentityMutation, OrdersMutation, NotificationsMutation):
    """The mutation root."""


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws); authenticate in connection_init.")
class Subscription(OrdersSubscription):
    """The subscription root."""


_SUGGESTION: Final = re.compile(r"\s*Did you mean [^?]*\?")
"""graphql-core's hint at the end of a message ("Did you mean 'viewer'?"): it names what the schema holds."""


class Schema(strawberry.Schema):
    """Strawberry's schema, logging errors our way: a client's mistake in one line, a bug with its traceback."""

    hide_suggestions = False
    """Leave graphql-core's "Did you mean ..." hints out of every message: they would tell a client without
    introspection the schema's field, argument, type and enum names one guess at a time."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Log each error once (Strawberry's default logs every one at ERROR, with a traceback)."""
        if self.hide_suggestions:
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)
        log_errors(errors)


COST_RULES: Final = CostRules(
    mutation_cost=10,
    # values read with their parent: no load of their own
    free_types=frozenset({"LineItem", "Attachment", "AllowedTransition", "OrderConnection", "OrderEdge", "PageInfo"})
    | {t.__name__ for t in (*USER_ERROR_TYPES, *ORDER_ERROR_TYPES, *NOTIFICATION_ERROR_TYPES)}
    | {"UserError"},
    list_bounds={
        ("Order", "lineItems"): MAX_LINES,
        ("Quote", "lineItems"): MAX_LINES,
        ("Comment", "attachments"): MAX_ATTACHMENTS_PER_COMMENT,
        ("Order", "allowedTransitions"): len(OrderAction),
        ("Query", "orderStatusCounts"): len(OrderStatus),
    },
    paged={("Query", "orders"): DEFAULT_PAGE_SIZE},
    page_maximums={("Query", "orders"): MAX_PAGE_SIZE},
    counted={("Query", "nodes"): ("ids", MAX_PAGE_SIZE)},
)
"""What each part of the schema costs (schema.common.cost); tests/test_query_cost.py checks every list is bounded."""


@dataclass(frozen=True, slots=True)
class SchemaOptions:
    """Defences and switches of the schema (from settings)."""

    debug: bool = False
    introspection: bool = True
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3000
    cost: CostOptions = field(default_factory=lambda: CostOptions(rules=COST_RULES))


def build_schema(options: SchemaOptions = SchemaOptions()) -> strawberry.Schema:
    """The GraphQL schema with its defences; extensions are factories, new for every operation."""
    # The limiters' rule classes are made once: the validation cache is keyed by the rule classes,
    # so new ones per request (what a limiter instance per request makes) would never hit it.
    rules = [
        *QueryDepthLimiter(max_depth=options.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=options.max_aliases).validation_rules,
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(StreamingPublicErrors, debug=options.debug),
        FreshOperation,
        partial(MaxTokensLimiter, max_token_count=options.max_tokens),
        partial(AddValidationRules, rules),
        partial(ParserCache, maxsize=256),
        partial(ValidationCache, maxsize=256),
        partial(QueryCost, options=options.cost),  # after validation (its hook is on_execute), before execution
    ]
    if not options.introspection:
        extensions.append(DisableIntrospection)
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            *USER_ERROR_TYPES,
            *IDENTITY_ERROR_TYPES,
            *ORDER_ERROR_TYPES,
            *NOTIFICATION_ERROR_TYPES,
            Order,
            Organisation,
            User,
            Service,
        ],
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=FastPlainFieldExecutionContext,
    )
    schema.hide_suggestions = not options.introspection  # where the schema is not shown, no hints of it either
    return schema


def schema_sdl() -> str:
    """The schema in SDL, as checked in at schema.graphql: every type, sorted by name."""
    graphql_schema = build_schema()._schema
    named = sorted(
        (
            t
            for name, t in graphql_schema.type_map.items()
            if not name.startswith("__") and not is_specified_scalar_type(t)
        ),
        key=lambda t: t.name,
    )
    return "\n\n".join(print_type(t) for t in named) + "\n"
