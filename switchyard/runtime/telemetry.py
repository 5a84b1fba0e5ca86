"""Tracing for every Switchyard process: OTLP export when configured, W3C context over gRPC metadata.

`init_telemetry(service)` reads the standard OTEL_* variables (through the caller's settings) and
returns a `Telemetry` whose interceptors are passed to servers and channels explicitly; when no
endpoint is set it is a no-op and adds no interceptors, so the hot path pays nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc import aio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from switchyard.runtime import attributes as attr


@dataclass
class Telemetry:
    """A service's tracer and the interceptors that carry trace context across gRPC."""

    service: str
    enabled: bool
    tracer: Tracer
    shutdown: Callable[[], None] = lambda: None
    server_interceptors: list[aio.ServerInterceptor] = field(default_factory=list)
    client_interceptors: list[aio.ClientInterceptor] = field(default_factory=list)


def init_telemetry(service: str, endpoint: str | None) -> Telemetry:
    """Returns the service's telemetry: OTLP/gRPC export to endpoint, or a no-op when it is empty."""
    if not endpoint:
        return Telemetry(service, False, trace.NoOpTracer())
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"switchyard-{service}"}))
    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True), schedule_delay_millis=200)
    provider.add_span_processor(processor)
    return traced(service, provider.get_tracer("switchyard"), provider.shutdown)


def traced(service: str, tracer: Tracer, shutdown: Callable[[], None] = lambda: None) -> Telemetry:
    """Returns enabled telemetry that records to tracer, with its server and client interceptors."""
    return Telemetry(
        service,
        True,
        tracer,
        shutdown=shutdown,
        server_interceptors=[_ServerInterceptor(tracer)],
        client_interceptors=[_UnaryClientInterceptor(tracer), _StreamClientInterceptor(tracer)],
    )


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """Adds the current W3C trace context to outgoing HTTP headers and returns them."""
    propagate.inject(headers)
    return headers


def current_trace_id() -> str:
    """Returns the current span's W3C trace id (32 hex digits), or "" when no trace is being recorded."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else ""


def extract_context(carrier: Mapping[str, str]) -> otel_context.Context:
    """Returns the trace context carried by incoming headers or metadata."""
    return propagate.extract(carrier)


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return service, name


def _rpc_attributes(method: str) -> dict[str, str]:
    service, name = _split(method)
    return {attr.RPC_SYSTEM: "grpc", attr.RPC_SERVICE: service, attr.RPC_METHOD: name}


def _record_error(span: trace.Span, error: BaseException) -> None:
    code = error.code() if isinstance(error, grpc.RpcError) else None
    if code is not None:
        span.set_attribute(attr.RPC_GRPC_STATUS_CODE, code.value[0])
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))


class _ServerInterceptor(aio.ServerInterceptor):  # type: ignore[misc]
    """Starts a server span for every RPC, as a child of the caller's context."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method: str = details.method
        carrier = {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}
        tracer = self._tracer

        def start() -> Any:
            return tracer.start_as_current_span(
                method.lstrip("/"),
                context=extract_context(carrier),
                kind=SpanKind.SERVER,
                attributes=_rpc_attributes(method),
            )

        if handler.unary_unary is not None:
            inner = handler.unary_unary

            async def unary(request: Any, context: aio.ServicerContext) -> Any:
                with start():
                    return await inner(request, context)

            return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
        if handler.unary_stream is not None:
            inner_stream = handler.unary_stream

            async def stream(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
                with start():
                    async for item in inner_stream(request, context):
                        yield item

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler


def _with_context(details: aio.ClientCallDetails) -> aio.ClientCallDetails:
    metadata = aio.Metadata(*(details.metadata or ()))
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    for key, value in carrier.items():
        metadata.add(key, value)
    return aio.ClientCallDetails(details.method, details.timeout, metadata, details.credentials, details.wait_for_ready)


def _method_name(details: aio.ClientCallDetails) -> str:
    method = details.method
    return method.decode() if isinstance(method, bytes) else str(method)


class _UnaryClientInterceptor(aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    async def intercept_unary_unary(self, continuation: Any, details: aio.ClientCallDetails, request: Any) -> Any:
        method = _method_name(details)
        with self._tracer.start_as_current_span(
            method.lstrip("/"), kind=SpanKind.CLIENT, attributes=_rpc_attributes(method)
        ) as span:
            call = await continuation(_with_context(details), request)
            try:
                await call
            except grpc.RpcError as error:
                _record_error(span, error)
            return call


class _StreamClientInterceptor(aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """Spans a server-streaming call from its start until its last message, error or cancellation."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    async def intercept_unary_stream(self, continuation: Any, details: aio.ClientCallDetails, request: Any) -> Any:
        method = _method_name(details)
        span = self._tracer.start_span(method.lstrip("/"), kind=SpanKind.CLIENT, attributes=_rpc_attributes(method))
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            call = await continuation(_with_context(details), request)
        except BaseException as error:
            _record_error(span, error)
            span.end()
            raise
        finally:
            otel_context.detach(token)
        end = _SpanEnd(span)
        # A caller that cancels the call without closing the iterator still ends the span; a call that
        # completes ends it when its last message has been read, which may be after the call is done.
        call.add_done_callback(lambda done: end() if done.cancelled() else None)
        return _traced_messages(call, end)


class _SpanEnd:
    """Ends a span once, whichever of the stream's end or the call's done callback comes first."""

    __slots__ = ("_span",)

    def __init__(self, span: trace.Span) -> None:
        self._span: trace.Span | None = span

    def __call__(self, error: BaseException | None = None) -> None:
        span, self._span = self._span, None
        if span is None:
            return
        if error is not None:
            _record_error(span, error)
        span.end()


async def _traced_messages(call: Any, end: _SpanEnd) -> AsyncIterator[Any]:
    """Yields the call's messages, then ends its span (with the error, if the stream failed)."""
    try:
        async for message in call:
            yield message
    except grpc.RpcError as error:
        end(error)
        raise
    finally:
        end()
