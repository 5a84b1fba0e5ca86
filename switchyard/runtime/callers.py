"""Which callers a gRPC service accepts: the role in the peer's certificate against the service's allow-list.

The TLS handshake already refused callers without a certificate from the mesh's CA (they see
UNAVAILABLE and never reach a handler). This interceptor decides among the rest: grpc.health.v1 is
open to any authenticated peer (readiness probes, `switchyard up`, the edge's /readyz); every other
method needs a role the service lists. A refusal is UNAUTHENTICATED (no certificate role to judge)
or PERMISSION_DENIED (a role the service does not serve), and counts in
`switchyard_grpc_calls_refused_total`.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import grpc
from grpc import aio
from prometheus_client import Counter

from switchyard.runtime.metrics import REGISTRY
from switchyard.runtime.tls import authenticated, peer_roles

HEALTH_PREFIX = "/grpc.health.v1.Health/"

REFUSED = Counter(
    "switchyard_grpc_calls_refused",
    "gRPC calls refused for the caller's identity, by service, caller role and status code.",
    ["service", "caller", "code"],
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call may not proceed: the status code and the message the caller reads."""

    code: grpc.StatusCode
    message: str
    caller: str


def judge(service: str, allowed: Collection[str], method: str, auth: dict[str, Any]) -> Refusal | None:
    """Returns why a caller with this auth context may not call method on service, or None when it may."""
    if not authenticated(auth):
        return Refusal(grpc.StatusCode.UNAUTHENTICATED, f"{service}: calls need a client certificate", "none")
    if method.startswith(HEALTH_PREFIX):
        return None
    roles = peer_roles(auth)
    if not roles:
        message = f"{service}: the client certificate names no Switchyard role (spiffe://switchyard/<role>)"
        return Refusal(grpc.StatusCode.UNAUTHENTICATED, message, "none")
    if roles.isdisjoint(allowed):
        caller = ",".join(sorted(roles))
        accepted = ", ".join(sorted(allowed)) or "no one"
        message = f"{service} does not accept calls from {caller} (accepts: {accepted})"
        return Refusal(grpc.StatusCode.PERMISSION_DENIED, message, caller)
    return None


class CallerCheck(aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses calls whose peer certificate does not name a role the service accepts (see `judge`)."""

    def __init__(self, service: str, allowed: Collection[str]) -> None:
        self._service = service
        self._allowed = frozenset(allowed)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method

        async def check(context: aio.ServicerContext[Any, Any]) -> None:
            refusal = judge(self._service, self._allowed, method, context.auth_context())
            if refusal is not None:
                REFUSED.labels(self._service, refusal.caller, refusal.code.name).inc()
                await context.abort(refusal.code, refusal.message)

        return _guarded(handler, check)


def _guarded(
    handler: grpc.RpcMethodHandler, check: Callable[[aio.ServicerContext[Any, Any]], Awaitable[None]]
) -> grpc.RpcMethodHandler:
    """Returns handler with check run before its behaviour, whatever its streaming shape."""
    codec = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.unary_unary is not None:
        unary_unary = handler.unary_unary

        async def checked_unary(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            await check(context)
            return await unary_unary(request, context)

        return grpc.unary_unary_rpc_method_handler(checked_unary, **codec)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_streaming(handler.unary_stream, check), **codec)
    if handler.stream_unary is not None:
        stream_unary = handler.stream_unary

        async def checked_stream_in(requests: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            await check(context)
            return await stream_unary(requests, context)

        return grpc.stream_unary_rpc_method_handler(checked_stream_in, **codec)
    return grpc.stream_stream_rpc_method_handler(_streaming(handler.stream_stream, check), **codec)


def _streaming(
    behaviour: Callable[..., Any], check: Callable[[aio.ServicerContext[Any, Any]], Awaitable[None]]
) -> Callable[..., AsyncIterator[Any]]:
    """Returns a streaming behaviour that checks first; the original may yield or write to its context."""

    async def checked(request: Any, context: aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        await check(context)
        result = behaviour(request, context)
        if inspect.isasyncgen(result):
            async for reply in result:
                yield reply
        elif inspect.isawaitable(result):
            await result

    return checked
