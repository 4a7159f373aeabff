"""The cost model over the real schema: every list is bounded, and documents cost what the README says."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
    parse,
)

from schema.common import compile_cost
from schema.root import COST_RULES, build_schema
from tests.api import documents
from tests.api.test_sql_count import DIRECTORY, MANAGE_ORDERS

SCHEMA = build_schema()._schema


def cost(document: str, **variables: Any) -> int:
    plan = compile_cost(SCHEMA, COST_RULES, parse(document), None)
    assert plan is not None
    return plan.cost(variables)


def test_every_list_of_objects_has_a_bound() -> None:
    unbounded = []
    for type_name, kind in SCHEMA.type_map.items():
        if type_name.startswith("__") or not isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for name, field in kind.fields.items():
            inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            item = get_named_type(inner)
            if not isinstance(inner, GraphQLList) or not isinstance(
                item, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType
            ):
                continue
            first = field.args.get("first")
            key = (type_name, name)
            if not (
                item.name in COST_RULES.free_types
                or key in COST_RULES.list_bounds
                or key in COST_RULES.paged
                or key in COST_RULES.counted
                or (first is not None and isinstance(first.default_value, int))
                or (type_name.endswith("Connection") and name in ("edges", "nodes"))
            ):
                unbounded.append(f"{type_name}.{name}")
    assert unbounded == [], "lists without a bound (cap them with `first`, or add them to COST_RULES)"


@pytest.mark.parametrize(("first", "expected"), [(50, 350), (20, 140), (100, 700)])
def test_the_manage_orders_page_costs_seven_points_an_order(first: int, expected: int) -> None:
    assert cost(MANAGE_ORDERS, first=first) == expected


def test_a_connection_without_a_size_costs_its_default_page() -> None:
    assert cost("{ orders { totalCount pageInfo { hasNextPage } edges { cursor node { id } } } }") == 20
    assert cost("{ orders(last: 5) { nodes { id partner { id } } } }") == 10


def test_fragments_aliases_and_variable_defaults_count() -> None:
    document = """
    query($size: Int = 30) {
      a: orders(first: $size) { nodes { ...Parties } }
      b: orders(first: 10) { nodes { ... on Order { owner { id } } } }
    }
    fragment Parties on Order { partner { id } provider { id } }"""
    assert cost(document) == 30 * 3 + 10 * 2
    assert cost(document, size=1) == 3 + 10 * 2


def test_capped_lists_cost_their_first_and_nodes_its_ids() -> None:
    detail = (
        'query($first: Int!) { order(id: "x") { comments(first: $first) { id author { id } } lineItems { total } } }'
    )
    assert cost(detail, first=5) == 1 + 5 * 2
    assert (
        cost('{ order(id: "x") { comments { id } activity { id actor { id } } quotes { id } } }')
        == 1 + 50 + 50 * 2 + 20
    )
    assert cost("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=["a", "b", "c"]) == 3
    assert cost(DIRECTORY) == 200 + 200 * 2
    assert cost("{ organisations { id } viewer { user { id } colleagues { id } } }") == 100 + 1 + 1 + 100


def test_a_mutation_costs_10_and_introspection_nothing() -> None:
    assert cost("mutation { tokenRevoke { userErrors { code message } } }") == 10
    assert cost("{ __schema { types { name fields { name type { name } } } } }") == 0


def test_more_than_a_field_takes_costs_nothing_for_the_field_refuses_it_unread() -> None:
    # orders refuses a page over 100 and nodes over 100 IDs with INVALID_INPUT, before reading anything
    assert cost("query($n: Int!) { orders(first: $n) { nodes { id partner { id } } } }", n=101) == 0
    assert cost("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=["x"] * 101) == 0
    assert cost("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=["x"] * 100) == 100


def test_the_figures_of_the_readme() -> None:
    # an order's detail, and the pickers with their default of 100 each (README: Query cost)
    assert cost(documents.ORDER_DETAIL, id="x") == 245
    assert cost("{ organisations { id name } users { id name organisation { id name } } }") == 300
    greedy = (
        "{ "
        + " ".join(
            f"a{i}: orders(first: 100) {{ nodes {{ id partner {{ id }} provider {{ id }} assignee {{ id }} "
            "latestComment { body author { name } } } }"
            for i in range(30)
        )
        + " }"
    )
    assert cost(greedy) == 18_000
