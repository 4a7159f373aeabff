"""A faster path through graphql-core for plain fields.

Most fields of a Manage Orders page are values read straight off an object: Strawberry's "basic"
fields, with no resolver, arguments or extensions (schema.orders.build loads relations beforehand so that
even an order's partner or latest comment is one). For each of those, graphql-core's general path
builds a resolve-info object, calls the resolver through Strawberry's wrapper and probes the result
for awaitables: about fifteen hundred times a request. This execution context reads the attribute
itself and then coerces a scalar or enum, or executes an object's sub-fields, directly.

Whole selections go faster still: when every field selected on an object is plain (leaves, plain
objects and lists of either, `__typename`; no arguments, no @defer), the selection is compiled
once per operation into a projector, a tree of closures that builds the object's result without
graphql-core's per-field machinery: a Manage Orders page of fifty orders is one call. A projector
that meets anything irregular (a null where null is not allowed, a value that fails `is_type_of`
or does not coerce) gives up and the object takes the standard path, which reports the error
exactly as graphql-core does; projecting has no side effects, so nothing is done twice.

Everything else (resolvers, arguments, abstract types) takes the standard path.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from types import CodeType
from typing import Any, Final
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
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


def _default_attribute(field_def: GraphQLField) -> str | None:
    """The attribute a Strawberry basic field reads (no resolver, no extensions), or None."""
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False):
        return None
    cells = resolve.__closure__ or ()
    closure = dict(zip(resolve.__code__.co_freevars, (cell.cell_contents for cell in cells), strict=True))
    attribute = getattr(closure.get("field"), "python_name", None)
    return attribute if isinstance(attribute, str) else None


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
    attribute = _default_attribute(field_def)
    if attribute is None:
        return None
    is_type_of = object_type.is_type_of if object_type is not None else None
    needs_info = is_type_of is not None and not _strawberry_is_type_of(is_type_of)
    return _Plan(attribute, field_def, field_def.type, leaf, object_type, nullable, needs_info)


_PLANS: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Plan | None]] = WeakKeyDictionary()

Projector = Callable[[Any], dict[str, Any]]
"""Builds one object's result from its source value, or raises `_Irregular`."""


class _Irregular(Exception):
    """A projector met a value it does not handle; the standard path takes over."""


_IRREGULAR = _Irregular()


def _irregular() -> Any:
    raise _IRREGULAR


def _coerce_leaf(leaf: GraphQLLeafType, nullable: bool) -> Callable[[Any], Any]:
    """Complete one leaf value (a list item): null where allowed, else coerced; anything else is irregular."""
    coerce = leaf.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise _IRREGULAR
        try:
            coerced = coerce(value)
        except Exception:
            raise _IRREGULAR from None
        if coerced is None:
            raise _IRREGULAR
        return coerced

    return complete


def _fast_check(leaf: GraphQLLeafType) -> str | None:
    """A test under which a value is its own coerced output (skips the scalar's serialize), or None."""
    if leaf is GraphQLString or leaf is GraphQLID:
        return "type(v) is str"
    if leaf is GraphQLInt:
        return "type(v) is int and -2147483648 <= v <= 2147483647"
    if leaf is GraphQLBoolean:
        return "type(v) is bool"
    return None


@lru_cache(maxsize=1024)
def _code(source: str) -> CodeType:
    """Compiled once: a selection yields the same source in every operation (only its names differ)."""
    return compile(source, "<projector>", "exec")


class _Source:
    """The source of one generated projector: its lines and the names its code refers to."""

    def __init__(self, object_type: GraphQLObjectType) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"IRR": _IRREGULAR, "Irregular": _Irregular, "irregular": _irregular}
        self.results: list[tuple[str, str]] = []
        is_type_of = object_type.is_type_of
        if is_type_of is not None:
            self.names["is_type_of"] = is_type_of
            self.lines.append("if is_type_of(src, None) is not True: raise IRR")

    def name(self, value: Any) -> str:
        key = f"n{len(self.names)}"
        self.names[key] = value
        return key

    def read(self, attribute: str, nullable: bool) -> str:
        """Lines reading `attribute` into `v`; they leave a None in `v` for the caller to handle."""
        result = f"r{len(self.results)}"
        self.lines.append(f"v = getattr(src, {attribute!r}, None)")
        self.lines.append(f"if v is None: {result} = None" if nullable else "if v is None: raise IRR")
        return result

    def leaf(self, response: str, attribute: str, leaf: GraphQLLeafType, nullable: bool) -> None:
        result = self.read(attribute, nullable)
        coerce = self.name(leaf.coerce_output_value)
        fast = _fast_check(leaf)
        if fast is not None:
            self.lines.append(f"elif {fast}: {result} = v")
        self.lines.append("else:")
        self.lines.append(f"    {result} = {coerce}(v)")
        self.lines.append(f"    if {result} is None: raise IRR")
        self.results.append((response, result))

    def object(self, response: str, attribute: str, project: Projector, nullable: bool) -> None:
        result = self.read(attribute, nullable)
        self.lines.append(f"else: {result} = {self.name(project)}(v)")
        self.results.append((response, result))

    def listed(self, response: str, attribute: str, item: str, nullable: bool) -> None:
        result = self.read(attribute, nullable)
        self.lines.append("elif type(v) is not list and type(v) is not tuple: raise IRR")
        self.lines.append(f"else: {result} = [{item} for x in v]")
        self.results.append((response, result))

    def typename(self, response: str, type_name: str) -> None:
        self.results.append((response, repr(type_name)))

    def build(self) -> Projector:
        body = "\n".join(f"        {line}" for line in self.lines)
        result = ", ".join(f"{response!r}: {value}" for response, value in self.results)
        source = (
            "def project(src):\n"
            "    try:\n"
            f"{body}\n"
            f"        return {{{result}}}\n"
            "    except Irregular:\n"
            "        raise\n"
            "    except Exception:\n"
            "        raise IRR from None\n"
        )
        namespace = dict(self.names)
        exec(_code(source), namespace)  # noqa: S102 - our own code, generated from the schema
        project: Projector = namespace["project"]
        return project


def _unwrap(field_type: GraphQLOutputType) -> tuple[GraphQLOutputType, bool]:
    if isinstance(field_type, GraphQLNonNull):
        return field_type.of_type, False
    return field_type, True


_SHARED_LIMIT: Final = 2048
_SharedKey = tuple[int, str, tuple[int, ...], tuple[tuple[str, bool | None], ...]]
_SHARED_PROJECTORS: OrderedDict[_SharedKey, tuple[Any, tuple[Any, ...], Projector | None]] = OrderedDict()
"""Projectors by (schema, type, selection nodes, directive variables), least recently used first."""


def _directive_variables(variables: dict[str, Any]) -> tuple[tuple[str, bool | None], ...]:
    """The variables that can steer a selection: those @skip, @include and @defer's `if` may take.

    Those arguments are Boolean, so only a variable whose value is a boolean (or null) can reach them;
    the others (texts, ids, files) never change what a selection collects, and are left out of the key.
    """
    return tuple(sorted((name, value) for name, value in variables.items() if value is None or type(value) is bool))


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

    def collect_and_execute_subfields(
        self, return_type: GraphQLObjectType, field_details_list: Any, path: Any, result: Any, position_context: Any
    ) -> Any:
        """Project the whole selection when it is plain; otherwise execute it the standard way."""
        project = self._projector(return_type, field_details_list)
        if project is not None:
            try:
                return project(result)
            except _Irregular:
                pass
        return super().collect_and_execute_subfields(return_type, field_details_list, path, result, position_context)

    def _projector(self, object_type: GraphQLObjectType, field_details_list: Any) -> Projector | None:
        """The compiled projector of this selection on `object_type`, or None when it is not plain.

        Compiled once per operation for each field group (keyed by its identity, which graphql-core keeps
        for the whole execution, as its own `collect_subfields` memo does).
        """
        cache: dict[tuple[str, int], tuple[Any, Projector | None]] | None = self.__dict__.get("_projectors")
        if cache is None:
            cache = self.__dict__["_projectors"] = {}
        key = (object_type.name, id(field_details_list))
        found = cache.get(key)
        if found is not None:
            return found[1]
        project = self._shared_projector(object_type, field_details_list)
        cache[key] = (field_details_list, project)
        return project

    def _shared_projector(self, object_type: GraphQLObjectType, field_details_list: Any) -> Projector | None:
        """The projector of a selection as an earlier operation compiled it, if one did.

        A projector depends on the schema, the selection's nodes and (through @skip, @include and
        @defer) the boolean variables only. With ParserCache the same document text gives the same nodes in
        every operation, so (node identities, variables) names a selection across operations; the
        nodes are kept alive with the entry, so their identities are never reused while it lives.
        """
        variables = self.__dict__.get("_directive_variables")
        if variables is None:
            variables = self.__dict__["_directive_variables"] = _directive_variables(self.variable_values.coerced)
        nodes = tuple(details.node for details in field_details_list)
        key = (id(self.schema), object_type.name, tuple(map(id, nodes)), variables)
        found = _SHARED_PROJECTORS.get(key)
        if found is not None and found[0] is self.schema:
            _SHARED_PROJECTORS.move_to_end(key)
            return found[2]
        project = self._compile(object_type, field_details_list)
        _SHARED_PROJECTORS[key] = (self.schema, nodes, project)
        if len(_SHARED_PROJECTORS) > _SHARED_LIMIT:
            _SHARED_PROJECTORS.popitem(last=False)
        return project

    def _compile(self, object_type: GraphQLObjectType, field_details_list: Any) -> Projector | None:
        is_type_of = object_type.is_type_of
        if is_type_of is not None and not _strawberry_is_type_of(is_type_of):
            return None  # Strawberry's ignores `info`; another might not
        grouped, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        source = _Source(object_type)
        for response_name, details in grouped.items():
            if not self._read_into(source, object_type, response_name, details):
                return None
        return source.build()

    def _read_into(self, source: _Source, object_type: GraphQLObjectType, response: str, details: Any) -> bool:
        """Add the code reading one selected field; False when it needs the standard path."""
        node = details[0].node
        if node.arguments or any(d.defer_usage is not None for d in details):
            return False
        name = node.name.value
        if name == "__typename":
            source.typename(response, object_type.name)
            return True
        field_def = self.schema.get_field(object_type, name)
        if field_def is None or field_def.args:
            return False
        attribute = _default_attribute(field_def)
        if attribute is None:
            return False
        named, nullable = _unwrap(field_def.type)
        if is_leaf_type(named):
            source.leaf(response, attribute, named, nullable)
            return True
        if isinstance(named, GraphQLObjectType):
            child = self._projector(named, details)
            if child is None:
                return False
            source.object(response, attribute, child, nullable)
            return True
        if not isinstance(named, GraphQLList):
            return False
        inner, inner_nullable = _unwrap(named.of_type)
        if is_leaf_type(inner):
            complete = source.name(_coerce_leaf(inner, inner_nullable))
            item = f"{complete}(x)"
        elif isinstance(inner, GraphQLObjectType):
            project = self._projector(inner, details)
            if project is None:
                return False
            call = f"{source.name(project)}(x)"
            item = f"None if x is None else {call}" if inner_nullable else f"{call} if x is not None else irregular()"
        else:
            return False
        source.listed(response, attribute, item, nullable)
        return True

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
