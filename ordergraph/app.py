"""The composition root: settings become ports, the schema and the Starlette application."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType

from adapters.cost_budget import CostBudgets
from adapters.db import create_engine, for_reading, session_factory
from adapters.email import Links
from adapters.eventbus import BroadcastEventBus
from adapters.files import ContentTypeSniffer, LocalBlobStore
from adapters.queries import SqlQueries
from adapters.ratelimit import LimitsCounters
from adapters.secrets import signing_key
from adapters.security import Argon2PasswordHasher, SystemClock
from adapters.settings import Settings, get_settings
from adapters.uow import sql_uow_factory
from domain.common import Policy, Ports, Unauthenticated
from domain.identity import AccessToken, Actor, bearer_for_token
from domain.orders import Order, OrderEvent, Viewer, viewer_for
from ordergraph.bodies import attach_files, parse_request_json
from ordergraph.downloads import download_route
from ordergraph.fanout import FanOut
from ordergraph.fanout_protocol import FanOutHandler
from ordergraph.hints import HintPublisher
from ordergraph.limits import MAX_OPERATION_BYTES, BodySizeLimit, graphql_body_limit
from ordergraph.live_quotas import LiveQuotas, QuotaExceeded, QuotaLimits
from ordergraph.revocations import Revocations
from ordergraph.sockets import REFUSAL, LegacyWSHandler, SocketAdapter, close_reason
from schema.common import AppPorts, Context, CostOptions, LiveOptions, apply_graphql_core_patch, to_global_id
from schema.root import COST_RULES, SchemaOptions, build_schema
from workers.delivery import DeliveryPolicy
from workers.runtime import Notifier, NotifierConfig

log = logging.getLogger("ordergraph")

GRAPHQL_PATH = "/graphql"


@dataclass
class Runtime:
    """Everything one process serves with, built once from the settings."""

    settings: Settings
    engine: AsyncEngine
    ports: AppPorts
    queries: SqlQueries
    schema: strawberry.Schema
    bus: BroadcastEventBus
    hints: HintPublisher
    revocations: Revocations
    """This process's WebSocket connections by token, ended when their token is revoked (anywhere) or expires."""
    live: LiveOptions = field(init=False)
    notifier: Notifier | None = None
    """Notification relay and workers; started by the lifespan (or `ordergraph worker`)."""
    live_engine: AsyncEngine | None = None
    """The pool live events are read through (ORDERGRAPH_LIVE_READINGS connections): never the requests'."""
    live_queries: SqlQueries = field(init=False)
    budgets: CostBudgets | None = None
    """Each organisation's query-cost budget (closed by the lifespan)."""
    counters: LimitsCounters | None = None
    """The rate limits' counters (also in `ports`), closed by the lifespan."""

    def __post_init__(self) -> None:
        self.live = LiveOptions(
            self.bus,
            self.authenticate,
            queue_size=self.settings.subscriber_queue,
            readings=asyncio.Semaphore(self.settings.live_readings),
        )
        self.live_queries = self.queries if self.live_engine is None else SqlQueries(for_reading(self.live_engine))

    async def authenticate(self, token: str | None) -> tuple[Actor | None, str | None]:
        """The actor behind a bearer token, or why there is none."""
        actor, _, error = await self.bearer(token)
        return actor, error

    async def bearer(self, token: str | None) -> tuple[Actor | None, AccessToken | None, str | None]:
        """The actor behind a bearer token and the stored token (its expiry), or why there is none."""
        if not token:
            return None, None, None
        try:
            actor, stored = await bearer_for_token(self.queries, token, self.ports.clock)
        except Unauthenticated as exc:
            return None, None, exc.message
        return actor, stored, None

    async def viewer_for_token(self, token: str) -> Viewer | None:
        """The read scopes behind a bearer token (for file downloads)."""
        actor, _ = await self.authenticate(token)
        return viewer_for(actor) if actor else None

    def audience_context(self, audience: Actor) -> Context:
        """The context a live audience's events are prepared in (ordergraph.fanout): no token to re-check."""
        return Context(ports=self.ports, queries=self.live_queries, actor=audience, live=self.live)

    def context(self, actor: Actor | None, token: str | None, auth_error: str | None, **extra: Any) -> Context:
        """A fresh request context: new DataLoaders every time."""
        return Context(
            ports=self.ports,
            queries=self.queries,
            actor=actor,
            token=token,
            auth_error=auth_error,
            live=self.live,
            authenticated_at=time.monotonic(),
            **extra,
        )


def build_runtime(settings: Settings) -> Runtime:
    """Wire the adapters into the ports. Creates the engine object; connects nothing yet."""
    engine = create_engine(
        settings.database_url, pool_size=settings.db_pool_size, pool_timeout=settings.db_pool_timeout_seconds
    )
    # Live events are read through a pool of their own, one connection per turn (LiveOptions.readings):
    # a flood of subscriptions waits for its turns there and never for, or instead of, a request.
    live_engine = create_engine(settings.database_url, pool_size=settings.live_readings)
    bus = BroadcastEventBus(settings.broadcast_url, queue_size=settings.subscriber_queue)
    hints = HintPublisher(bus)
    link_key = functools.cache(lambda: signing_key(settings.secret_key, settings.files_dir.parent / "secret_key"))
    clock, blobs = SystemClock(), LocalBlobStore.in_files_dir(settings.files_dir)
    notifier = Notifier(notifier_config(settings, link_key), engine, blobs, clock)
    revocations = Revocations(bus, clock)
    counters = LimitsCounters.from_url(settings.rate_limits_url)

    async def after_commit(committed: Sequence[tuple[OrderEvent, Order]]) -> None:
        await notifier.after_commit(committed)  # first: a nudge of the relay, which cannot fail
        await hints(committed)

    ports = Ports(
        uow=sql_uow_factory(
            session_factory(engine), after_commit=after_commit, after_revocation=revocations.after_revocation
        ),
        clock=clock,
        passwords=Argon2PasswordHasher(),
        blobs=blobs,
        sniffer=ContentTypeSniffer(),
        counters=counters,
        policy=Policy(
            token_ttl=timedelta(hours=settings.token_ttl_hours),
            sign_in_failures_per_email=settings.sign_in_failures_per_email,
            sign_in_failures_per_address=settings.sign_in_failures_per_address,
            order_link_key=link_key,
            messages_per_user_per_hour=settings.mail_messages_per_user_hour,
            messages_per_organisation_per_day=settings.mail_messages_per_org_day,
            recipients_per_message=settings.mail_recipients_per_message,
        ),
    )
    budgets = CostBudgets.at(settings.rate_limits_url, settings.cost_budget, settings.cost_restore_rate)
    schema = build_schema(
        SchemaOptions(
            debug=settings.debug,
            introspection=settings.introspection,
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            cost=CostOptions(
                rules=COST_RULES,
                max_cost=settings.max_query_cost,
                budget=budgets,
                query_timeout=settings.query_timeout_seconds,
            ),
        )
    )
    queries = SqlQueries(for_reading(engine))
    return Runtime(
        settings,
        engine,
        ports,
        queries,
        schema,
        bus,
        hints,
        revocations,
        notifier,
        live_engine,
        budgets=budgets,
        counters=counters,
    )


def notifier_config(settings: Settings, link_key: Callable[[], bytes]) -> NotifierConfig:
    """The notification machinery's share of the settings."""

    def order_url(order: Order) -> str:
        return f"{settings.links_url}/orders/{to_global_id('Order', order.id)}"

    return NotifierConfig(
        database_url=settings.database_url,
        broker_url=settings.broker_url,
        smtp_url=settings.smtp_url,
        mail_dir=settings.mail_dir,
        mail_from=settings.mail_from,
        links=Links(public_url=settings.links_url, order_url=order_url, secret=link_key),
        policy=DeliveryPolicy(
            lease=timedelta(seconds=settings.mail_lease_seconds),
            redeliver_after=timedelta(seconds=settings.mail_redeliver_seconds),
            max_attempts=settings.mail_max_attempts,
            max_backoff=timedelta(seconds=settings.mail_retry_max_seconds),
        ),
    )


def bearer_token(headers: Any) -> str | None:
    """The token of an 'Authorization: Bearer <token>' header."""
    scheme, _, token = str(headers.get("authorization", "")).partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def connection_token(params: dict[str, Any] | None) -> str | None:
    """The bearer token of a connection_init payload: {"authorization": "Bearer <token>"} or {"token": "<token>"}."""
    params = params or {}
    header = params.get("authorization", params.get("Authorization"))
    if isinstance(header, str):
        return bearer_token({"authorization": header})
    token = params.get("token")
    return token.strip() or None if isinstance(token, str) else None


_CONNECTION_HELD: Final = "ordergraph.ws_connection_held"
"""ASGI scope key: the connection's hold on its user's and organisation's quotas, released when it ends."""
_HOW_TO_AUTHENTICATE: Final = (
    'send {"authorization": "Bearer <token>"} in connection_init (get a token with tokenCreate).'
)


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our per-request context; WebSockets authenticate in connection_init."""

    websocket_adapter_class = SocketAdapter
    graphql_transport_ws_handler_class = FanOutHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        super().__init__(
            runtime.schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=False,
            multipart_uploads_enabled=True,
            allowed_origins=settings.allowed_origins,
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
        )
        self.runtime = runtime
        self.fan_out = FanOut(
            runtime.schema,
            runtime.audience_context,
            queue_size=settings.subscriber_queue,
            max_tokens=settings.max_tokens,
            quotas=LiveQuotas(
                QuotaLimits(
                    connections_per_user=settings.live_connections_per_user,
                    connections_per_organisation=settings.live_connections_per_organisation,
                    subscriptions_per_user=settings.live_subscriptions_per_user,
                    subscriptions_per_organisation=settings.live_subscriptions_per_organisation,
                )
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's ASGI handling, closing uploaded files once the response is built."""
        if scope["type"] != "http":
            try:
                await super().__call__(scope, receive, send)
            finally:
                held = scope.pop(_CONNECTION_HELD, None)  # counted against its quotas by on_ws_connect
                if held is not None:
                    held.release()
            return
        request = Request(scope=scope, receive=receive)
        try:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                # the client's mistake (a body that is no GraphQL request): one quiet line, as for GraphQL errors
                log.info("refused (HTTP %s) at %s: %s", exc.status_code, request.url.path, exc.reason)
                response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        finally:
            await request.close()  # Strawberry leaves multipart upload files open otherwise
        await response(scope, receive, send)

    def parse_json(self, data: str | bytes) -> dict[str, Any] | list[Any]:
        """A request's JSON, an object (or a batch, refused by Strawberry); any other body is a 400 saying why."""
        return parse_request_json(data)

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, Any]:
        """One operation with its files at their placeholders (ordergraph.bodies); any other shape is a 400."""
        try:
            form = await request.get_form_data()
        except ValueError as exc:
            raise HTTPException(400, "Unable to parse the multipart body.") from exc
        operations, files_map = form.form.get("operations"), form.form.get("map", "{}")
        if not isinstance(operations, str | bytes) or not isinstance(files_map, str | bytes):
            raise HTTPException(400, "A multipart request needs the `operations` and `map` fields as text.")
        return attach_files(self.parse_json(operations), self.parse_json(files_map), form.files)

    def encode_json(self, data: object) -> bytes:
        """Responses serialised with orjson (measured: a page of 50 orders several times faster than json)."""
        return orjson.dumps(data)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket | None) -> Context:
        """Authenticate the request and build its context (a WebSocket's is authenticated by on_ws_connect)."""
        if isinstance(request, WebSocket):
            return self.runtime.context(None, None, None, request=request, response=response, per_connection=True)
        token = bearer_token(request.headers)
        actor, error = await self.runtime.authenticate(token)
        return self.runtime.context(actor, token, error, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket connection with the bearer token of its connection_init; refuse it otherwise."""
        token = connection_token(context.connection_params)
        actor, stored, error = await self.runtime.bearer(token)
        if actor is None or stored is None:
            reason = close_reason(f"Unauthenticated: {error or _HOW_TO_AUTHENTICATE}")
            context.request.scope[REFUSAL] = reason
            raise ConnectionRejectionError({"message": reason, "code": "UNAUTHENTICATED"})
        try:
            held = self.fan_out.quotas.connection(actor)
        except QuotaExceeded as refusal:
            context.request.scope[REFUSAL] = close_reason(refusal.message)
            raise ConnectionRejectionError({"message": refusal.message, "code": refusal.code}) from None
        context.request.scope[_CONNECTION_HELD] = held
        context.actor, context.token, context.token_expires_at = actor, token, stored.expires_at
        context.mark_authenticated()
        plain_ack: UnsetType = UNSET
        return plain_ack

    def watch_access(self, context: Context, end: Callable[[str], None]) -> Callable[[], None]:
        """Call `end` when the token of a connection (acknowledged) is revoked or expires (revocations.AccessWatch).

        The connection then no longer counts against its user's and organisation's quotas: it may
        do nothing more, whether or not its client closes it.
        """
        if context.token is None:
            return lambda: None
        scope = context.request.scope

        def ended(message: str) -> None:
            held = scope.pop(_CONNECTION_HELD, None)
            if held is not None:
                held.release()
            end(message)

        return self.runtime.revocations.watch(context.token, context.token_expires_at, ended)


async def health(request: Request) -> Response:
    """Liveness probe (200 while the process serves), and whether live updates are flowing.

    Losing the event bus does not fail the probe: queries and mutations still work, the bus reconnects
    by itself, and restarting every API process during a Redis outage would only add to it.
    """
    runtime: Runtime = request.app.state.runtime
    return JSONResponse({"status": "ok", "liveUpdates": "ok" if runtime.bus.healthy else "interrupted"})


FULL_COLLECTION_EVERY: Final = 100
"""Middle-generation collections between two full ones when serving (CPython's default: 10)."""


def serve_app(settings: Settings | None = None) -> Starlette:
    """The application as `ordergraph serve` runs it (uvicorn: `ordergraph.app:serve_app`, factory=True).

    `settings`: those of the command, whose --host and --port the links in emails follow; by default the
    environment's.
    """
    return create_app(settings, freeze_gc=True)


def create_app(settings: Settings | None = None, *, freeze_gc: bool = False) -> Starlette:
    """The ASGI application; `freeze_gc` for a process that serves only it (see serve_app)."""
    apply_graphql_core_patch()
    runtime = build_runtime(settings or get_settings())
    graphql_app = GraphQLApp(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        runtime.settings.files_dir.mkdir(parents=True, exist_ok=True)
        await runtime.bus.connect()
        runtime.hints.enabled = runtime.revocations.enabled = True
        revocations = asyncio.create_task(runtime.revocations.listen(), name="revocation listener")
        if runtime.notifier is not None:  # on the embedded default this also starts the Dramatiq worker
            await runtime.notifier.start()
        if freeze_gc:
            # What start-up built lives as long as the process: out of the collector's sight, so that its
            # full collections (which stall every connection) scan only what serving creates. Measured with
            # 1,000 live subscribers: a full collection took 90-280 ms before, 40-150 ms after. Those still
            # stall every subscriber's event when one falls inside it, so they are also made rarer.
            gc.freeze()
            young, middle, _ = gc.get_threshold()
            gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
        try:
            yield
        finally:
            runtime.hints.enabled = runtime.revocations.enabled = False
            revocations.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await revocations
            await graphql_app.fan_out.close()
            if runtime.notifier is not None:
                await runtime.notifier.stop()
            await runtime.bus.disconnect()
            if runtime.budgets is not None:
                await runtime.budgets.close()
            if runtime.counters is not None:
                await runtime.counters.close()
            await runtime.engine.dispose()
            if runtime.live_engine is not None:
                await runtime.live_engine.dispose()

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
    middleware.append(
        Middleware(
            BodySizeLimit, max_bytes=graphql_body_limit(), paths=[GRAPHQL_PATH], operation_bytes=MAX_OPERATION_BYTES
        )
    )
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
    app.state.fan_out = graphql_app.fan_out
    return app
