"""Query cost: what an operation may cost, worked out from its validated document before it runs.

The model is Shopify's (GraphQL Admin API), an upper bound of the objects a response can hold:

- a scalar or enum (and a list of them) costs 0;
- an object costs 1 (a value object read with its parent, such as a line item or an edge, costs 0:
  `CostRules.free_types`), plus what is selected on it;
- a list costs its bound (the most items it can hold: `CostRules.list_bounds`, by field, or
  `item_bounds`, by item type) times the cost of one item; a list nobody declared a bound for counts
  `default_bound` items;
- a connection (`paged`) costs its page size (`first` or `last`, else its default) times the cost of
  one node, its edges and nodes holding that many; a list field in `paged`, or with a `first` argument
  that has a default (schema.common.caps), holds `first` (or `last`) items;
- a root field of a mutation costs `mutation_cost` in place of its payload object's 1;
- introspection (`__schema`, `__type`) costs 0: the schema is small, fixed and public where introspection is on.

Aliases and fragments count as often as they appear; @skip and @include are ignored (the bound holds
either way). A document's plan is compiled once and kept (`cost_plan`, keyed by its text); each
request only evaluates it with its variables, which set page sizes and the length of `nodes(ids:)`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)


@dataclass(frozen=True, slots=True)
class CostRules:
    """What each part of the schema costs (see the module's docstring)."""

    mutation_cost: int = 10
    free_types: frozenset[str] = frozenset()
    """Object types that cost nothing of their own: values read with their parent (no load of their own)."""
    list_bounds: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(type, field) -> the most items the list field returns."""
    item_bounds: Mapping[str, int] = field(default_factory=dict)
    """An item type (object, interface or union) -> the most items of any list of it, where no field says."""
    paged: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(type, field) -> the default page size of a connection (taking `first` and `last`)."""
    page_maximums: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(type, field) -> the largest page the field serves; it refuses a larger one before reading (costing 0)."""
    counted: Mapping[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    """(type, field) -> (list argument, its most items): the field returns one item per element, as nodes(ids:);
    more than the most it refuses before reading (costing 0)."""
    default_bound: int = 100


Size = int | tuple[str, Mapping[str, ValueNode], int, int | None]
"""How many items: a number, or (kind, arguments, default, most) evaluated with the variables."""


@dataclass(frozen=True, slots=True)
class _Term:
    """A selected field that costs something: `size` instances, each costing `own` plus its children."""

    size: Size
    own: int
    children: tuple[_Term, ...]


def _variable_value(node: ValueNode, variables: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        name = node.name.value
        return variables[name] if name in variables else defaults.get(name)
    if isinstance(node, ListValueNode):
        return [_variable_value(v, variables, defaults) for v in node.values]
    if isinstance(node, IntValueNode):
        return int(node.value)
    return value_from_ast_untyped(node)


def _count(value: Any, default: int) -> int:
    """A page size as the operation gives it: a whole number (at least 0), else the default."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    return default


@dataclass(frozen=True, slots=True)
class CostPlan:
    """An operation's cost as a function of its variables; `fixed` when no variable changes it."""

    terms: tuple[_Term, ...]
    defaults: Mapping[str, Any]
    fixed: int | None

    def cost(self, variables: Mapping[str, Any] | None) -> int:
        """The operation's cost with these variables."""
        if self.fixed is not None:
            return self.fixed
        values = variables or {}
        return sum(self._term(term, values) for term in self.terms)

    def _term(self, term: _Term, variables: Mapping[str, Any]) -> int:
        size = self._size(term.size, variables)
        if size == 0:
            return 0
        return size * (term.own + sum(self._term(child, variables) for child in term.children))

    def _size(self, size: Size, variables: Mapping[str, Any]) -> int:
        if isinstance(size, int):
            return size
        kind, arguments, default, most = size
        values = {name: _variable_value(node, variables, self.defaults) for name, node in arguments.items()}
        # More than a field takes is refused by the field itself (INVALID_INPUT) before it reads anything.
        if kind == "page":
            given = [values[name] for name in ("first", "last") if values.get(name) is not None]
            size = max((_count(value, default) for value in given), default=default)
            return 0 if most is not None and size > most else size
        listed = values.get("list")
        if not isinstance(listed, list):
            return 1
        return len(listed) if most is None or len(listed) <= most else 0


def _is_fixed(terms: tuple[_Term, ...]) -> bool:
    return all(isinstance(t.size, int) and _is_fixed(t.children) for t in terms)


class _Compiler:
    """Turns one operation's selections into cost terms."""

    def __init__(self, schema: GraphQLSchema, rules: CostRules, fragments: Mapping[str, FragmentDefinitionNode]):
        self.schema = schema
        self.rules = rules
        self.fragments = fragments

    def selection(
        self, parent: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType, selections: SelectionSetNode
    ) -> list[tuple[GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType, FieldNode]]:
        """Every field selected on `parent`, fragments expanded (each with the type it is selected on)."""
        found: list[tuple[Any, FieldNode]] = []
        stack: list[tuple[Any, SelectionSetNode, frozenset[str]]] = [(parent, selections, frozenset())]
        while stack:
            on, selection_set, seen = stack.pop()
            for selection in reversed(selection_set.selections):
                if isinstance(selection, FieldNode):
                    found.append((on, selection))
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    target = self.schema.get_type(condition.name.value) if condition else on
                    stack.append((target or on, selection.selection_set, seen))
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is None or name in seen:
                        continue  # validation refuses both; nothing to count
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    stack.append((target or on, fragment.selection_set, seen | {name}))
        found.reverse()
        return found

    def terms(self, parent: Any, selections: SelectionSetNode | None, page: Size | None = None) -> tuple[_Term, ...]:
        """The cost terms of a selection on `parent`; `page`: the page size when `parent` is a connection."""
        if selections is None:
            return ()
        terms: list[_Term] = []
        for on, node in self.selection(parent, selections):
            term = self.field(on, node, page)
            if term is not None:
                terms.append(term)
        return tuple(terms)

    def field(self, parent: Any, node: FieldNode, page: Size | None) -> _Term | None:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return None  # introspection and __typename cost nothing
        definition = parent.fields.get(name)
        if definition is None:
            return None
        field_type: GraphQLOutputType = definition.type
        named = get_named_type(field_type)
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            return None  # scalars and enums, and lists of them
        key = (parent.name, name)
        own = 0 if named.name in self.rules.free_types else 1
        if parent is self.schema.mutation_type:
            own = self.rules.mutation_cost
        arguments = {argument.name.value: argument.value for argument in node.arguments or ()}
        page_default = self.rules.paged.get(key)
        first = definition.args.get("first")
        if page_default is None and first is not None and isinstance(first.default_value, int):
            page_default = first.default_value  # a capped list: `first` items, by default its default
        if page_default is not None:
            size: Size = ("page", arguments, page_default, self.rules.page_maximums.get(key))
            if _is_list(field_type):  # a capped list: first/last items
                return _Term(size, own, self.terms(named, node.selection_set))
            return _Term(1, own, self.terms(named, node.selection_set, size))  # a connection
        if not _is_list(field_type):
            return _Term(1, own, self.terms(named, node.selection_set))
        if key in self.rules.counted:
            argument, most = self.rules.counted[key]
            size = ("list", {"list": arguments[argument]}, most, most) if argument in arguments else 1
        elif page is not None and name in ("edges", "nodes"):
            size = page
        elif key in self.rules.list_bounds:
            size = self.rules.list_bounds[key]
        else:
            size = self.rules.item_bounds.get(named.name, self.rules.default_bound)
        return _Term(size, own, self.terms(named, node.selection_set))


def _is_list(field_type: GraphQLOutputType) -> bool:
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    return isinstance(inner, GraphQLList)


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == operation_name), None)


def compile_cost(
    schema: GraphQLSchema, rules: CostRules, document: DocumentNode, operation_name: str | None
) -> CostPlan | None:
    """The cost plan of one operation of a validated document (None when the document does not name one)."""
    operation = _operation(document, operation_name)
    if operation is None:
        return None
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    if root is None:
        return None
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    terms = _Compiler(schema, rules, fragments).terms(root, operation.selection_set)
    defaults = {
        v.variable.name.value: value_from_ast_untyped(v.default_value)
        for v in operation.variable_definitions or ()
        if v.default_value is not None
    }
    plan = CostPlan(terms, defaults, None)
    return CostPlan(terms, defaults, plan.cost({})) if _is_fixed(terms) else plan


_PLAN_LIMIT: Final = 256
_PLANS: OrderedDict[tuple[int, str, str | None], tuple[GraphQLSchema, CostPlan | None]] = OrderedDict()
"""Plans by (schema, document text, operation name), least recently used first."""


def cost_plan(
    schema: GraphQLSchema, rules: CostRules, query: str, document: DocumentNode, operation_name: str | None
) -> CostPlan | None:
    """The cost plan of an operation, compiled on first sight of its document and kept for the next ones."""
    if not query:  # a document given without its text: nothing to key it by
        return compile_cost(schema, rules, document, operation_name)
    key = (id(schema), query, operation_name)
    found = _PLANS.get(key)
    if found is not None and found[0] is schema:
        _PLANS.move_to_end(key)
        return found[1]
    plan = compile_cost(schema, rules, document, operation_name)
    _PLANS[key] = (schema, plan)
    if len(_PLANS) > _PLAN_LIMIT:
        _PLANS.popitem(last=False)
    return plan
