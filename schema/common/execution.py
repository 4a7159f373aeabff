"""A faster path through graphql-core for plain fields.

Most fields of a Manage Orders page are values read straight off an object: Strawberry's "basic"
fields, with no resolver, arguments or extensions (schema.orders.build loads relations beforehand so that
even an order's partner or latest comment is one). For each of those, graphql-core's general path
builds a resolve-info object, calls the resolver through Strawberry's wrapper and probes the result
for awaitables: about fifteen hundred times a request. This execution context reads the attribute
itself and then coerces a scalar or enum, or executes an object's sub-fields, directly.

Everything else (resolvers, arguments, lists, abstract types) takes the standard path, and so
does any value that is null where null is not allowed, fails `is_type_of` or does not coerce;
errors are handled by graphql-core's own `handle_field_error`, so results and errors are the same.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.executor import to_nodes
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


@dataclass(frozen=True, slots=True)
class _Plan:
    attribute: str
    field_def: GraphQLField
    field_type: GraphQLOutputType  # as declared (maybe non-null)
    leaf: GraphQLLeafType | None  # the scalar or enum, for leaf fields
    object_type: GraphQLObjectType | None  # the object type, for object fields
    nullable: bool
    type_check_needs_info: bool  # False when there is no is_type_of, or it is Strawberry's (which ignores info)


def _strawberry_is_type_of(predicate: Any) -> bool:
    """True for the isinstance check Strawberry generates for types that implement interfaces."""
    return bool(
        getattr(predicate, "__module__", "") == "strawberry.schema.schema_converter"
        and getattr(predicate, "__qualname__", "").endswith("_get_is_type_of.<locals>.is_type_of")
    )


def _plan(field_def: GraphQLField | None) -> _Plan | None:
    """How to read a Strawberry basic field directly, or None when it needs the standard path."""
    if field_def is None or field_def.args:
        return None
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False):
        return None
    nullable = not isinstance(field_def.type, GraphQLNonNull)
    named = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
    leaf = named if is_leaf_type(named) else None
    object_type = named if isinstance(named, GraphQLObjectType) else None
    if leaf is None and object_type is None:
        return None
    cells = resolve.__closure__ or ()
    closure = dict(zip(resolve.__code__.co_freevars, (cell.cell_contents for cell in cells), strict=True))
    attribute = getattr(closure.get("field"), "python_name", None)
    if not isinstance(attribute, str):
        return None
    is_type_of = object_type.is_type_of if object_type is not None else None
    needs_info = is_type_of is not None and not _strawberry_is_type_of(is_type_of)
    return _Plan(attribute, field_def, field_def.type, leaf, object_type, nullable, needs_info)


_PLANS: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Plan | None]] = WeakKeyDictionary()


class FastPlainFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with a shortcut for plain fields."""

    _plans: dict[tuple[str, str], _Plan | None] | None = None

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        """Read plain fields directly; everything else goes the standard way."""
        node = field_details_list[0].node
        plans = self._plans
        if plans is None:
            plans = self._plans = _PLANS.setdefault(self.schema, {})
        key = (parent_type.name, node.name.value)
        try:
            plan = plans[key]
        except KeyError:
            plan = plans[key] = _plan(self.schema.get_field(parent_type, node.name.value))
        if plan is None or node.arguments:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        value = getattr(source, plan.attribute, None)
        if value is None:
            if plan.nullable:
                return None
        elif plan.leaf is not None:
            try:
                coerced = plan.leaf.coerce_output_value(value)
            except Exception:  # the standard path reports it, with its location
                coerced = None
            if coerced is not None:
                return coerced
        elif plan.object_type is not None:
            is_type_of = plan.object_type.is_type_of
            if is_type_of is None or (
                is_type_of(
                    value, self.build_resolve_info(plan.field_def, to_nodes(field_details_list), parent_type, path)
                )
                is True
            ):
                return self._object(plan, value, field_details_list, path, position_context)
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def _object(self, plan: _Plan, value: Any, field_details_list: Any, path: Any, position_context: Any) -> Any:
        """Execute an object's sub-fields, handling errors exactly as graphql-core's execute_field does."""
        assert plan.object_type is not None
        try:
            completed = self.collect_and_execute_subfields(
                plan.object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_type, field_details_list, path)
            return None
        if self.is_awaitable(completed):
            return self._await_object(plan, completed, field_details_list, path)
        return completed

    async def _await_object(self, plan: _Plan, completed: Awaitable[Any], field_details_list: Any, path: Any) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, plan.field_type, field_details_list, path)
            return None
