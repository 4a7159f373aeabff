"""The fast execution path (schema.common.execution) gives exactly graphql-core's results and errors.

Each document runs twice over the same values: with Strawberry's standard execution context and with
FastPlainFieldExecutionContext (plain fields read directly, plain selections projected whole).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache

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


CACHED = strawberry.Schema(
    query=Query, execution_context_class=FastPlainFieldExecutionContext, extensions=[partial(ParserCache, maxsize=16)]
)


def test_a_document_seen_before_is_projected_without_compiling_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a schema that parses each document text once (as the API's does), and a count of compilations
    compiled: list[str] = []
    compile_ = FastPlainFieldExecutionContext._compile

    def counting(self: FastPlainFieldExecutionContext, object_type: Any, details: Any) -> Any:
        compiled.append(object_type.name)
        return compile_(self, object_type, details)

    monkeypatch.setattr(FastPlainFieldExecutionContext, "_compile", counting)
    WORLD.branches = [branch("one"), branch("two", first=leaf("f", 5))]
    document = """query($s: Boolean!, $n: Int!) {
      branches { title @skip(if: $s) tags @include(if: $s) leaves { name size } sized(atLeast: $n) { name } }
    }"""
    runs = [(True, 1), (False, 1), (True, 2), (False, 2), (True, 1)]
    expected = {run: STANDARD.execute_sync(document, variable_values={"s": run[0], "n": run[1]}).data for run in runs}
    # when the same document runs again and again, with variables that change its selection and others
    for skip, at_least in runs:
        result = CACHED.execute_sync(document, variable_values={"s": skip, "n": at_least})
        # then every answer is graphql-core's, for its own variables
        assert result.errors is None
        assert result.data == expected[skip, at_least]
    # and each selection was compiled once for each value of $s (Branch, its leaves and its sized
    # leaves), never again for another $n, which cannot change what a selection collects
    assert sorted(compiled) == ["Branch", "Branch", "Leaf", "Leaf", "Leaf", "Leaf"]
