"""The root Schema, assembled from the one-operation-per-file resolvers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import strawberry
from graphql import is_specified_scalar_type
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

from resolvers import (
    comment_added,
    comment_create,
    notification_resend,
    order_approve,
    order_archive,
    order_assign,
    order_cancel,
    order_create,
    order_link,
    order_link_send,
    order_message_send,
    order_recipients_update,
    order_reject,
    order_status_change,
    order_status_counts,
    order_submit,
    order_unwatch,
    order_update,
    order_updated,
    order_watch,
    quote_accept,
    quote_decline,
    quote_reject,
    quote_submit,
    token_create,
    token_revoke,
)
from resolvers import node as _node
from resolvers import order as _order
from resolvers import orders as _orders
from resolvers import viewer as _viewer
from schema.context import FreshOperation
from schema.errors import USER_ERROR_TYPES
from schema.execution import FastPlainFieldExecutionContext
from schema.live import StreamingPublicErrors
from schema.types import Order, Organisation, Service, User


@strawberry.type(description="Reads.")
class Query:
    """The query root."""

    node = _node.node
    nodes = _node.nodes
    viewer = _viewer.field
    order = _order.field
    orders = _orders.field
    order_status_counts = order_status_counts.field
    order_link = order_link.field


@strawberry.type(description="Changes. Each returns a payload with the changed object and typed userErrors.")
class Mutation:
    """The mutation root."""

    token_create = token_create.field
    token_revoke = token_revoke.field
    order_create = order_create.field
    order_update = order_update.field
    order_submit = order_submit.field
    order_approve = order_approve.field
    order_reject = order_reject.field
    order_status_change = order_status_change.field
    order_cancel = order_cancel.field
    order_archive = order_archive.field
    order_assign = order_assign.field
    quote_submit = quote_submit.field
    quote_decline = quote_decline.field
    quote_accept = quote_accept.field
    quote_reject = quote_reject.field
    comment_create = comment_create.field
    order_recipients_update = order_recipients_update.field
    order_watch = order_watch.field
    order_unwatch = order_unwatch.field
    order_message_send = order_message_send.field
    order_link_send = order_link_send.field
    notification_resend = notification_resend.field


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws); authenticate in connection_init.")
class Subscription:
    """The subscription root."""

    order_updated = order_updated.field
    comment_added = comment_added.field


@dataclass(frozen=True, slots=True)
class SchemaOptions:
    """Defences and switches of the schema (from settings)."""

    debug: bool = False
    introspection: bool = True
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3000


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
    ]
    if not options.introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[*USER_ERROR_TYPES, Order, Organisation, User, Service],
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=FastPlainFieldExecutionContext,
    )


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
