"""node and nodes: any object by global ID, re-checking type and tenant."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.common import MAX_PAGE_SIZE, InvalidInput
from schema.common import Context, Node, parse_global_id
from schema.identity import Organisation, User
from schema.orders import OrderById, build_one


async def _node(info: Info[Context, None], global_id: str) -> Node | None:
    type_name, value = parse_global_id(global_id)
    if type_name == "Order":
        return await build_one(info, await OrderById.of(info.context).load(value))
    if type_name == "Organisation":
        return await Organisation.load(info.context, value)
    if type_name == "User":
        return await User.load(info.context, value)
    return None


async def resolve_node(
    info: Info[Context, None], id: Annotated[strawberry.ID, strawberry.argument(description="A global ID.")]
) -> Node | None:
    """One object, if it exists and you may see it."""
    info.context.require_actor()
    return await _node(info, id)


async def resolve_nodes(
    info: Info[Context, None],
    ids: Annotated[list[strawberry.ID], strawberry.argument(description="Up to 100 global IDs.")],
) -> list[Node | None]:
    """Several objects, in the order asked; null for each you may not see."""
    info.context.require_actor()
    if len(ids) > MAX_PAGE_SIZE:
        raise InvalidInput(f"At most {MAX_PAGE_SIZE} IDs at once.", field="ids")
    # Gathered, so the loaders batch every ID of a type into one query.
    return list(await asyncio.gather(*(_node(info, global_id) for global_id in ids)))


node = strawberry.field(resolver=resolve_node, description="Fetch an Order, Organisation or User by global ID.")
nodes = strawberry.field(resolver=resolve_nodes, description="Fetch up to 100 objects by global ID.")
