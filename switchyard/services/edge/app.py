"""The REST edge: OpenAI- and Anthropic-compatible HTTP in front of the router's gRPC API, as a plain ASGI app.

Thin by design (DESIGN §1): parse and validate, call the router, render JSON or SSE, map errors to
error bodies. Each client API is a `WireFormat` (switchyard.services.edge.formats: OpenAI Chat Completions,
Anthropic Messages); both share one request skeleton, so routing, cache, failover, cancellation and
accounting are the same.
A raw ASGI callable rather than a framework keeps the per-request cost low.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import grpc
import orjson
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.trace import SpanKind

from switchyard.common.v1 import context_pb2, errors_pb2
from switchyard.router.v1 import router_pb2, router_pb2_grpc
from switchyard.runtime import attributes as attr
from switchyard.runtime import grpcio, metrics
from switchyard.runtime.errors import SwitchyardError, from_rpc_error, internal_error
from switchyard.runtime.logs import REQUEST_ID
from switchyard.runtime.telemetry import Telemetry, extract_context
from switchyard.runtime.tls import Identity
from switchyard.services.edge import dashboard, evaluation, extra_routes
from switchyard.services.edge.admin import AdminRoutes
from switchyard.services.edge.asgi import (
    JSON,
    SSE,
    Message,
    Receive,
    Scope,
    Send,
    cancel_on_disconnect,
    json_reply,
    parse_json,
    read_body,
    respond,
    send_events,
)
from switchyard.services.edge.evaluation import FEEDBACK_PATH, QUALITY_PATH, EvaluationRoutes, report_name
from switchyard.services.edge.extra_routes import ExtraRoutes
from switchyard.services.edge.formats import FORMATS, OPENAI, WireFormat
from switchyard.services.edge.guards import Guards, check_json_content_type
from switchyard.services.edge.responses import routes as responses
from switchyard.services.edge.route_header import route_header
from switchyard.services.edge.translate import (
    credentials,
    header_map,
    request_id_of,
    route_headers,
)
from switchyard.wire.openai.requests import CacheDirectives, cache_directives

log = logging.getLogger(__name__)

_JSON = JSON
_READY_TTL = 1.0
# The longest a chat request waits for a disconnected router: longer than the channel's reconnect backoff (1 s).
ROUTER_WAIT_S = 2.0


_PLAIN_ROUTES = frozenset({"/v1/models", "/models", "/metrics", "/healthz", "/readyz"})
# Answered whatever the load and whoever asks: load balancers and scrapers must see an overloaded edge.
_ALWAYS_SERVED = frozenset({"/metrics", "/healthz", "/readyz"})
_BUSY = SwitchyardError(
    errors_pb2.ERROR_REASON_SERVICE_UNAVAILABLE,
    "The gateway is serving as many requests as it may at once; retry shortly.",
    retry_after_s=1.0,
)


class Edge:
    """The ASGI application: /v1/chat/completions, /v1/messages, /v1/models, the admin API
    (switchyard.services.edge.admin), /dashboard, /metrics, /healthz and /readyz."""

    def __init__(
        self,
        router: aio.Channel,
        telemetry: Telemetry,
        max_body_bytes: int,
        request_timeout: float,
        health_targets: dict[str, str],
        *,
        body_timeout: float = 60.0,
        max_requests: int = 2048,
        guards: Guards | None = None,
        identity: Identity | None = None,
    ) -> None:
        self._router = router
        self._stub = router_pb2_grpc.RouterServiceStub(router)
        self._admin = AdminRoutes(router, max_body_bytes, body_timeout)
        self._evaluation = EvaluationRoutes(router, max_body_bytes, body_timeout)
        self._telemetry = telemetry
        self._max_body = max_body_bytes
        self._body_timeout = body_timeout
        self._max_requests = max_requests
        self._in_flight = 0
        self._guards = guards or Guards()
        # The edge waits a little longer than the router's own deadline so the router reports it.
        self._timeout = request_timeout + 5.0
        self._extras = ExtraRoutes(router, max_body_bytes, body_timeout, self._timeout)
        self._responses = responses.ResponsesRoutes(router, max_body_bytes, body_timeout, self._timeout)
        self._health_targets = health_targets
        # identity: the edge's certificate for the readiness checks' own channels (None: plaintext).
        self._identity = identity
        self._ready: tuple[float, int, bytes] = (0.0, 503, b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started, status = time.perf_counter(), 0

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._admit(scope, receive, send_counted)
        except Exception as exc:
            # A bug: one rate-limited log line, and a 500 in the route's format if nothing was sent yet.
            err = internal_error(exc, "edge")
            if status == 0:
                with contextlib.suppress(Exception):
                    fmt = FORMATS.get(scope["path"], OPENAI)
                    await _error(send_counted, fmt, err, request_id_of(header_map(scope["headers"])))
        finally:
            metrics.observe_http(self._route_of(scope["path"]), scope["method"], status, time.perf_counter() - started)

    async def _admit(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serves a request unless max_requests are already in flight (then a 503 with Retry-After)."""
        path = scope["path"]
        if path in _ALWAYS_SERVED:
            await self._dispatch(scope, receive, send)
            return
        if self._in_flight >= self._max_requests:
            await _error(send, FORMATS.get(path, OPENAI), _BUSY, request_id_of(header_map(scope["headers"])))
            return
        self._in_flight += 1
        try:
            await self._dispatch(scope, receive, send)
        finally:
            self._in_flight -= 1

    def _route_of(self, path: str) -> str:
        """Returns the route a path is counted under: itself when Switchyard serves it, else "unmatched"."""
        if report_name(path) is not None:
            return "/experiments/{name}/report"
        if self._extras.handles(path):
            return self._extras.route_of(path)
        if self._responses.handles(path):
            return self._responses.route_of(path)
        known = path in FORMATS or path in _PLAIN_ROUTES or path in dashboard.PATHS or self._admin.handles(path)
        return path if known or path in (FEEDBACK_PATH, QUALITY_PATH) else "unmatched"

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        fmt = FORMATS.get(path)
        headers = header_map(scope["headers"])
        if path not in _ALWAYS_SERVED:
            try:
                self._guards.check_origin(headers)
            except SwitchyardError as err:
                await _error(send, fmt or OPENAI, err, request_id_of(headers))
                return
        if fmt is not None:
            if method != "POST":
                not_allowed = SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, "Use POST.", http_status=405)
                await respond(send, *fmt.error(not_allowed, request_id_of(headers)))
                return
            if not self._telemetry.enabled:
                await self._chat_guarded(fmt, receive, send, headers)
                return
            with self._telemetry.tracer.start_as_current_span(
                f"POST {fmt.route}",
                context=extract_context(headers),
                kind=SpanKind.SERVER,
                attributes={attr.HTTP_REQUEST_METHOD: "POST", attr.HTTP_ROUTE: fmt.route},
            ):
                await self._chat_guarded(fmt, receive, send, headers)
        elif path in ("/v1/models", "/models") and method == "GET":
            await self._models(send, headers)
        elif self._extras.handles(path):
            await self._traced(path, method, headers, self._extras(path, method, receive, send, headers))
        elif self._responses.handles(path):
            served = self._responses(path, method, receive, send, headers, query=scope.get("query_string", b""))
            await self._traced(path, method, headers, served)
        elif self._admin.handles(path):
            await self._admin(scope, receive, send, headers)
        elif self._evaluation.handles(path):
            await self._evaluation(path, method, receive, send, headers)
        elif path in dashboard.PATHS:
            await dashboard.serve(path, method, send)
        elif path == "/metrics" and method == "GET":
            content_type, body = metrics.exposition()
            await respond(send, 200, [(b"content-type", content_type.encode())], body)
        elif path == "/healthz":
            await json_reply(send, 200, {"status": "ok"})
        elif path == "/readyz":
            await self._readyz(send)
        else:
            await json_reply(
                send,
                404,
                {
                    "error": {
                        "message": f"Unknown request URL: {method} {path[:200]}.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "unknown_url",
                    }
                },
            )

    def operations(self) -> set[tuple[str, str]]:
        """Returns every (METHOD, path template) this edge serves, from its route tables (the OpenAPI
        document must list exactly these)."""
        served = {("POST", path) for path in FORMATS}
        served |= {("GET", path) for path in (*_PLAIN_ROUTES, *dashboard.PATHS)}
        served |= extra_routes.OPERATIONS | responses.OPERATIONS
        served |= evaluation.OPERATIONS
        return served | self._admin.operations()

    async def _traced(self, path: str, method: str, headers: dict[str, str], work: Any) -> None:
        """Awaits a route's work inside a server span named after its route (when tracing is on)."""
        if not self._telemetry.enabled:
            await work
            return
        route = self._route_of(path)
        with self._telemetry.tracer.start_as_current_span(
            f"{method} {route}",
            context=extract_context(headers),
            kind=SpanKind.SERVER,
            attributes={attr.HTTP_REQUEST_METHOD: method, attr.HTTP_ROUTE: route},
        ):
            await work

    # ------------------------------------------------------------------ chat (both formats)

    async def _chat_guarded(self, fmt: WireFormat, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        """Serves a chat request; a bug still reaches the client as a 500 in the route's error format."""
        try:
            await self._chat(fmt, receive, send, headers)
        except Exception as exc:
            err = internal_error(exc, "edge")
            with contextlib.suppress(Exception):  # the response may already have started
                await _error(send, fmt, err, request_id_of(headers))

    async def _chat(self, fmt: WireFormat, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        try:
            check_json_content_type(headers)
            context = fmt.context(headers)
            metadata = credentials(headers)
        except SwitchyardError as err:
            await _error(send, fmt, err, request_id_of(headers))
            return
        request_id = context.request_id
        REQUEST_ID.set(request_id)  # this request's task only: its log lines carry the id
        try:
            payload = parse_json(await read_body(receive, headers, self._max_body, self._body_timeout))
            chat = fmt.parse(payload, headers)
            _apply_cache_directives(context, cache_directives(payload))
        except SwitchyardError as err:
            await _error(send, fmt, err, request_id)
            return
        if chat.stream:
            stream_request = router_pb2.StreamChatCompletionRequest(request=chat, context=context)
            await self._stream(fmt, receive, send, stream_request, request_id, metadata=metadata)
            return
        await self._router_connected()
        call = self._stub.ChatCompletion(
            router_pb2.ChatCompletionRequest(request=chat, context=context), timeout=self._timeout, metadata=metadata
        )
        watcher = asyncio.create_task(cancel_on_disconnect(receive, call))
        try:
            reply = await call
        except grpc.RpcError as rpc_error:
            if rpc_error.code() != grpc.StatusCode.CANCELLED:
                await _error(send, fmt, from_rpc_error(rpc_error), request_id)
            return
        finally:
            watcher.cancel()
        try:
            body_bytes = fmt.completion(chat, reply.completion)
        except SwitchyardError as err:
            await _error(send, fmt, err, request_id)
            return
        headers_out = [
            _JSON,
            *route_headers(request_id, reply.route),
            route_header(reply.route),
            *fmt.headers(request_id),
        ]
        await respond(send, 200, headers_out, body_bytes)

    async def _router_connected(self) -> None:
        """Returns once the channel to the router is connected, or ROUTER_WAIT_S later.

        A router that is restarting, or that is back while the channel waits out its reconnect backoff,
        is waited for briefly instead of costing each request a 503 at once; one that stays down still
        answers within ROUTER_WAIT_S (the call then fails UNAVAILABLE: 503).
        """
        if self._router.get_state(try_to_connect=True) == grpc.ChannelConnectivity.READY:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._router.channel_ready(), ROUTER_WAIT_S)

    async def _stream(
        self,
        fmt: WireFormat,
        receive: Receive,
        send: Send,
        request: router_pb2.StreamChatCompletionRequest,
        request_id: str,
        *,
        metadata: tuple[tuple[str, str], ...],
    ) -> None:
        """Streams SSE; an error before the first chunk is a normal HTTP error, after it an error event."""
        writer = fmt.stream(request.request)
        await self._router_connected()
        call = self._stub.StreamChatCompletion(request, timeout=self._timeout, metadata=metadata)
        watcher = asyncio.create_task(cancel_on_disconnect(receive, call))
        started = False
        try:
            async for message in call:
                if not started:
                    started = True
                    route = [
                        *route_headers(request_id, message.route),
                        route_header(message.route),
                        *fmt.headers(request_id),
                    ]
                    await send({"type": "http.response.start", "status": 200, "headers": [*SSE, *route]})
                    await send_events(send, writer.begin())
                if message.chunks:
                    await send_events(send, writer.chunks(message.chunks))
        except grpc.RpcError as rpc_error:
            if rpc_error.code() == grpc.StatusCode.CANCELLED and watcher.done():
                return
            err = from_rpc_error(rpc_error)
            if not started:
                await _error(send, fmt, err, request_id)
                return
            # Tokens already reached the client: end with an explicit error event, never a quiet end.
            await send({"type": "http.response.body", "body": writer.fail(err), "more_body": False})
            return
        finally:
            watcher.cancel()
        if not started:
            headers = [*SSE, (b"x-request-id", request_id.encode()), *fmt.headers(request_id)]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send_events(send, writer.begin())
        await send({"type": "http.response.body", "body": writer.end(), "more_body": False})

    # ------------------------------------------------------------------ other routes

    async def _models(self, send: Send, headers: dict[str, str]) -> None:
        """Lists the models the caller may use: with auth on, the router answers for the caller's key."""
        try:
            metadata = credentials(headers)
            listing = await self._stub.ListModels(router_pb2.ListModelsRequest(), timeout=5.0, metadata=metadata)
        except SwitchyardError as err:
            await _error(send, OPENAI, err, "")
            return
        except grpc.RpcError as rpc_error:
            await _error(send, OPENAI, from_rpc_error(rpc_error), "")
            return
        created = int(time.time())
        data = [
            {"id": m.id, "object": "model", "created": m.created or created, "owned_by": m.owned_by}
            for m in listing.models
        ]
        await json_reply(send, 200, {"object": "list", "data": data})

    async def _readyz(self, send: Send) -> None:
        """Answers 200 when every service is SERVING; `shared_state` says whether the router's Redis is
        reachable ("ok") or it serves from local state ("degraded"), which does not make the gateway unready."""
        checked_at, status, body = self._ready
        if time.monotonic() - checked_at > _READY_TTL:
            names = list(self._health_targets)
            results, shared = await asyncio.gather(
                asyncio.gather(
                    *(grpcio.check_health(self._health_targets[n], identity=self._identity, peer=n) for n in names)
                ),
                _shared_state(self._health_targets.get("router", ""), self._identity),
            )
            services = {n: ("serving" if ok else "not_serving") for n, ok in zip(names, results, strict=True)}
            status = 200 if all(results) else 503
            ready = "ready" if status == 200 else "not_ready"
            body = orjson.dumps({"status": ready, "services": services, "shared_state": shared})
            self._ready = (time.monotonic(), status, body)
        await respond(send, status, [_JSON], body)


# The router's grpc.health.v1 service name that is NOT_SERVING while its shared state (Redis) is unreachable.
SHARED_STATE_SERVICE = "switchyard.router.v1.SharedState"


async def _shared_state(router: str, identity: Identity | None, timeout: float = 1.0) -> str:
    """Returns "ok", "degraded" (the router serves from local state) or "unknown" (no answer)."""
    if not router:
        return "unknown"
    async with grpcio.plain_or_secure(router, identity, "router") as chan:
        stub = health_pb2_grpc.HealthStub(chan)
        with contextlib.suppress(grpc.RpcError, asyncio.TimeoutError):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=SHARED_STATE_SERVICE), timeout=timeout)
            return "ok" if reply.status == health_pb2.HealthCheckResponse.SERVING else "degraded"
    return "unknown"


def _apply_cache_directives(context: context_pb2.RequestContext, directives: CacheDirectives) -> None:
    """Adds a body's LiteLLM `cache` controls to what the Cache-Control header already asked for."""
    hints = context.hints
    hints.cache_bypass = hints.cache_bypass or directives.no_cache
    hints.cache_no_store = hints.cache_no_store or directives.no_store
    if directives.ttl_s is not None:
        hints.cache_ttl_seconds = directives.ttl_s


async def _error(send: Send, fmt: WireFormat, err: SwitchyardError, request_id: str) -> None:
    status, headers, body = fmt.error(err, request_id)
    if err.route is not None:
        headers = [*headers, route_header(err.route)]
    with contextlib.suppress(OSError):
        await respond(send, status, headers, body)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
