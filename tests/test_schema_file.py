"""schema.graphql is generated from the code and checked in; it must never be stale."""

from pathlib import Path

from schema.root import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_checked_in_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == schema_sdl(), "schema.graphql is stale: run `uv run python -m schema`"


def test_every_type_and_field_has_a_description() -> None:
    from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

    from schema.root import build_schema

    missing: list[str] = []
    for name, type_ in build_schema()._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            missing += [f"{name}.{f}" for f, field in type_.fields.items() if not field.description]
            if not isinstance(type_, GraphQLInputObjectType):
                missing += [
                    f"{name}.{f}({a})"
                    for f, field in type_.fields.items()
                    for a, arg in field.args.items()
                    if not arg.description
                ]
        if isinstance(type_, GraphQLEnumType):
            pass  # enum values are self-describing SCREAMING_SNAKE names
    assert missing == []
