"""The composition root: settings become ports, the schema and the Starlette application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from adapters.db import create_engine, session_factory
from adapters.files import ContentTypeSniffer, LocalBlobStore
from adapters.queries import SqlOrderQueries
from adapters.security import Argon2PasswordHasher, SystemClock
from adapters.settings import Settings, get_settings
from adapters.uow import sql_uow_factory
from domain.errors import Unauthenticated
from domain.identity import Actor
from domain.ports import Policy, Ports
from domain.queries import Viewer, viewer_for
from domain.services.identity import actor_for_token
from ordergraph.downloads import download_route
from ordergraph.limits import BodySizeLimit, graphql_body_limit
from schema.context import Context
from schema.root import SchemaOptions, build_schema

log = logging.getLogger("ordergraph")

GRAPHQL_PATH = "/graphql"


@dataclass
class Runtime:
    """Everything one process serves with, built once from the settings."""

    settings: Settings
    engine: AsyncEngine
    ports: Ports
    queries: SqlOrderQueries
    schema: strawberry.Schema

    async def authenticate(self, token: str | None) -> tuple[Actor | None, str | None]:
        """The actor behind a bearer token, or why there is none."""
        if not token:
            return None, None
        async with self.ports.uow() as uow:
            try:
                return await actor_for_token(uow, token, self.ports), None
            except Unauthenticated as exc:
                return None, exc.message

    async def viewer_for_token(self, token: str) -> Viewer | None:
        """The read scopes behind a bearer token (for file downloads)."""
        actor, _ = await self.authenticate(token)
        return viewer_for(actor) if actor else None

    def context(self, actor: Actor | None, token: str | None, auth_error: str | None, **extra: Any) -> Context:
        """A fresh request context: new DataLoaders every time."""
        return Context(ports=self.ports, queries=self.queries, actor=actor, token=token, auth_error=auth_error, **extra)


def build_runtime(settings: Settings) -> Runtime:
    """Wire the adapters into the ports. Creates the engine object; connects nothing yet."""
    engine = create_engine(settings.database_url, echo=False, pool_size=settings.db_pool_size)
    ports = Ports(
        uow=sql_uow_factory(session_factory(engine)),
        clock=SystemClock(),
        passwords=Argon2PasswordHasher(),
        blobs=LocalBlobStore(settings.files_dir / "blobs"),
        sniffer=ContentTypeSniffer(),
        policy=Policy(token_ttl=timedelta(hours=settings.token_ttl_hours)),
    )
    schema = build_schema(
        SchemaOptions(
            debug=settings.debug,
            introspection=settings.introspection,
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
        )
    )
    return Runtime(settings, engine, ports, SqlOrderQueries(engine), schema)


def bearer_token(headers: Any) -> str | None:
    """The token of an 'Authorization: Bearer <token>' header."""
    scheme, _, token = str(headers.get("authorization", "")).partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our per-request context."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        super().__init__(
            runtime.schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=True,
            allowed_origins=settings.allowed_origins,
        )
        self.runtime = runtime

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket | None) -> Context:
        """Authenticate the request and build its context."""
        token = bearer_token(request.headers)
        actor, error = await self.runtime.authenticate(token)
        return self.runtime.context(actor, token, error, request=request, response=response)


async def health(_request: Request) -> Response:
    """Liveness probe."""
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI application (uvicorn: `ordergraph.app:create_app`, factory=True)."""
    runtime = build_runtime(settings or get_settings())
    graphql_app = GraphQLApp(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        runtime.settings.files_dir.mkdir(parents=True, exist_ok=True)
        yield
        await runtime.engine.dispose()

    # The first middleware is the outermost: CORS wraps the body limit so a 413 still carries CORS headers.
    middleware = []
    if runtime.settings.allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(runtime.settings.allowed_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                expose_headers=["content-disposition", "etag"],
            )
        )
    middleware.append(Middleware(BodySizeLimit, max_bytes=graphql_body_limit(), paths=[GRAPHQL_PATH]))
    app = Starlette(
        debug=runtime.settings.debug,
        routes=[
            Route(GRAPHQL_PATH, graphql_app, methods=["GET", "POST"]),
            WebSocketRoute(GRAPHQL_PATH, graphql_app),
            download_route(runtime.viewer_for_token, runtime.queries, runtime.ports.blobs),
            Route("/healthz", health),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
