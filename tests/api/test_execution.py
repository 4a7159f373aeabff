"""The fast execution path (schema.common.execution) gives exactly graphql-core's results and errors.

Each document runs twice over the same values: with Strawberry's standard execution context and with
FastPlainFieldExecutionContext (plain fields read directly, plain selections projected whole).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry

from schema.common import FastPlainFieldExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    size: int
    colour: Colour
    note: str | None


@strawberry.type
class Branch:
    title: str
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    tags: list[str]
    first: Leaf | None
    required: Leaf

    @strawberry.field
    def shouted(self) -> str:
        return self.title.upper()

    @strawberry.field
    def sized(self, at_least: int) -> list[Leaf]:
        return [leaf for leaf in self.leaves if leaf.size >= at_least]


@dataclass
class World:
    branches: list[Any]


def leaf(name: str, size: int, colour: Colour = Colour.RED, note: str | None = None) -> Leaf:
    return Leaf(name=name, size=size, colour=colour, note=note)


def branch(title: str, **changes: Any) -> Branch:
    values: dict[str, Any] = {
        "title": title,
        "leaves": [leaf("a", 1), leaf("b", 2, Colour.BLUE, "n")],
        "maybe_leaves": [leaf("c", 3), None],
        "tags": ["x", "y"],
        "first": None,
        "required": leaf("r", 9),
    }
    values.update(changes)
    return Branch(**values)


WORLD = World([])


@strawberry.type
class Query:
    @strawberry.field
    def branches(self) -> list[Branch]:
        return WORLD.branches

    @strawberry.field
    def one(self) -> Branch | None:
        return WORLD.branches[0] if WORLD.branches else None


FAST = strawberry.Schema(query=Query, execution_context_class=FastPlainFieldExecutionContext)
STANDARD = strawberry.Schema(query=Query)

FULL = """{
  branches {
    __typename title tags
    leaves { __typename name size colour note }
    maybeLeaves { name ... on Leaf { size } }
    first { name }
    required { name colour }
    alias: leaves { n: name }
  }
  one { title shouted sized(atLeast: 2) { name } required { ...L } }
}
fragment L on Leaf { name size }"""


def results(document: str, variables: dict[str, Any] | None = None) -> tuple[Any, Any]:
    fast = FAST.execute_sync(document, variable_values=variables)
    standard = STANDARD.execute_sync(document, variable_values=variables)
    fast_errors = [(e.message, e.path) for e in fast.errors or []]
    standard_errors = [(e.message, e.path) for e in standard.errors or []]
    return (fast.data, fast_errors), (standard.data, standard_errors)


@pytest.mark.parametrize(
    "branches",
    [
        pytest.param([branch("one"), branch("two", first=leaf("f", 5))], id="regular"),
        pytest.param([], id="empty list"),
        pytest.param([branch("one", required=None)], id="null where null is not allowed"),
        pytest.param([branch("one", leaves=[leaf("a", 1), None])], id="null item in a non-null list"),
        pytest.param([branch("one", tags=None)], id="null list"),
        pytest.param([branch("one", leaves=[Leaf(name="a", size="big", colour=Colour.RED, note=None)])], id="bad int"),
        pytest.param([branch("one", leaves=[Leaf(name="a", size=1, colour="green", note=None)])], id="bad enum"),
        pytest.param([branch("one", first=Branch.__new__(Branch))], id="wrong type for an interface implementer"),
        pytest.param([branch("two", maybe_leaves=None)], id="null nullable list"),
    ],
)
def test_the_fast_path_answers_as_graphql_core_does(branches: list[Any]) -> None:
    WORLD.branches = branches
    fast, standard = results(FULL)
    assert fast == standard
    if branches and branches[0].required is None:
        assert fast[1], "a null in a non-null field is an error on both paths"


def test_skip_and_include_are_honoured() -> None:
    WORLD.branches = [branch("one")]
    document = "query($s: Boolean!) { branches { title @skip(if: $s) tags @include(if: $s) } }"
    for skip in (True, False):
        fast, standard = results(document, {"s": skip})
        assert fast == standard
        assert fast[0] == {"branches": [{"tags": ["x", "y"]} if skip else {"title": "one"}]}
