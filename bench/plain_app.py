"""The floor: a plain Starlette endpoint running the same SQL as the GraphQL Manage Orders query.

It authenticates the same way and calls the same read-port queries (so the same SQL statements
run), then builds the same JSON by hand. Run by bench/manage_orders.py; not part of the product.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.settings import get_settings
from domain.common.lists import PageRequest, SortDirection
from domain.identity.model import Actor
from domain.orders.queries import OrderFilter, OrderSort, OrderSortField, viewer_for
from ordergraph.app import Runtime, bearer_token, build_runtime
from schema.common import to_global_id
from schema.orders import encode_cursor

SORT = OrderSort(OrderSortField.SUBMITTED_AT, SortDirection.DESC)


def create_app() -> Starlette:
    """The plain endpoint at POST /orders?first=N."""
    runtime = build_runtime(get_settings())

    async def orders(request: Request) -> Response:
        actor, error = await runtime.authenticate(bearer_token(request.headers))
        if actor is None:
            return JSONResponse({"errors": [{"message": error}]}, status_code=401)
        return JSONResponse(await manage_orders(runtime, actor, int(request.query_params.get("first", "50"))))

    return Starlette(routes=[Route("/orders", orders, methods=["POST"])])


async def manage_orders(runtime: Runtime, actor: Actor, first: int) -> dict[str, Any]:
    """The Manage Orders page as the GraphQL query returns it, built by hand from the same SQL."""
    sort = SORT
    viewer = viewer_for(actor)
    page = await runtime.queries.order_page(viewer, OrderFilter(), sort, PageRequest(first=first, with_total=True))
    orgs = {i for o in page.orders for i in (o.partner_id, o.provider_id) if i is not None}
    user_ids = {i for o in page.orders for i in (o.partner_contact_id, o.assignee_id) if i is not None}
    org_rows, user_rows, comments = await asyncio.gather(
        runtime.queries.organisations_by_id(viewer, sorted(orgs)),
        runtime.queries.users_by_id(viewer, sorted(user_ids)),
        runtime.queries.latest_comment_by_order(viewer, [o.id for o in page.orders]),
    )
    authors = await runtime.queries.users_by_id(viewer, sorted({c.author_id for c in comments if c}))
    org_by = {o.id: o for o in org_rows if o}
    user_by = {u.id: u for u in [*user_rows, *authors] if u}

    def org(org_id: Any) -> dict[str, Any] | None:
        found = org_by.get(org_id)
        return {"id": to_global_id("Organisation", found.id), "name": found.name} if found else None

    def user(user_id: Any, *fields: str) -> dict[str, Any] | None:
        found = user_by.get(user_id)
        if found is None:
            return None
        return {f: (to_global_id("User", found.id) if f == "id" else getattr(found, f)) for f in fields}

    edges = []
    for order, key, comment in zip(page.orders, page.keys, comments, strict=True):
        edges.append(
            {
                "cursor": encode_cursor(sort, key),
                "node": {
                    "id": to_global_id("Order", order.id),
                    "number": order.number,
                    "name": order.name,
                    "campaignName": order.campaign_name,
                    "status": order.status.value,
                    "submittedAt": order.submitted_at.isoformat() if order.submitted_at else None,
                    "lastActivityAt": order.last_activity_at.isoformat() if order.last_activity_at else None,
                    "estimatedCompletion": (
                        order.estimated_completion.isoformat() if order.estimated_completion else None
                    ),
                    "partner": org(order.partner_id),
                    "provider": org(order.provider_id),
                    "partnerContact": user(order.partner_contact_id, "name", "email"),
                    "assignee": user(order.assignee_id, "id", "name"),
                    "latestComment": (
                        {
                            "body": comment.body,
                            "createdAt": comment.created_at.isoformat(),
                            "author": user(comment.author_id, "name"),
                        }
                        if comment
                        else None
                    ),
                },
            }
        )
    end = edges[-1]["cursor"] if edges else None
    return {
        "data": {
            "orders": {
                "totalCount": page.total_count,
                "pageInfo": {"hasNextPage": page.has_next, "endCursor": end},
                "edges": edges,
            }
        }
    }
