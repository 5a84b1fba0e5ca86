"""Client spans of streaming calls last as long as the stream, not just its set-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from grpc import aio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from switchyard.runtime.telemetry import Telemetry, traced
from tests.support import wait_until

METHOD = "/switchyard.test.v1.Ticker/Tick"
GAP_S = 0.05


async def _tick(request: bytes, context: aio.ServicerContext) -> AsyncIterator[bytes]:
    """Streams `request` messages GAP_S apart; a request of b"fail" aborts after one message."""
    count = 1 if request == b"fail" else int(request)
    for n in range(count):
        await asyncio.sleep(GAP_S)
        yield str(n).encode()
    if request == b"fail":
        await context.abort(grpc.StatusCode.UNAVAILABLE, "gone")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
async def ticker(exporter: InMemorySpanExporter) -> AsyncIterator[aio.Channel]:
    """A channel to an in-process server streaming ticks, both traced into exporter."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry: Telemetry = traced("test", provider.get_tracer("test"))
    server = aio.server(interceptors=telemetry.server_interceptors)
    handler = grpc.unary_stream_rpc_method_handler(_tick)
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("switchyard.test.v1.Ticker", {"Tick": handler})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = aio.insecure_channel(f"127.0.0.1:{port}", interceptors=telemetry.client_interceptors)
    try:
        yield channel
    finally:
        await channel.close()
        await server.stop(None)


def _client_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]


async def test_a_streaming_client_span_ends_after_the_last_message(
    ticker: aio.Channel, exporter: InMemorySpanExporter
) -> None:
    received: list[tuple[bytes, int]] = []
    async for message in ticker.unary_stream(METHOD)(b"3"):
        received.append((message, time.time_ns()))

    assert [message for message, _ in received] == [b"0", b"1", b"2"]
    (span,) = _client_spans(exporter)
    assert span.name == METHOD.lstrip("/")
    assert span.start_time is not None and span.end_time is not None
    assert span.start_time <= received[0][1]
    assert span.end_time >= received[-1][1]
    server = next(s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER)
    assert server.parent is not None and server.parent.span_id == span.context.span_id


async def test_a_failed_stream_marks_its_client_span(ticker: aio.Channel, exporter: InMemorySpanExporter) -> None:
    received: list[bytes] = []
    with pytest.raises(grpc.RpcError):
        async for message in ticker.unary_stream(METHOD)(b"fail"):
            received.append(message)

    assert received == [b"0"]
    (span,) = _client_spans(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert dict(span.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.UNAVAILABLE.value[0]


async def test_a_cancelled_stream_ends_its_client_span(ticker: aio.Channel, exporter: InMemorySpanExporter) -> None:
    call = ticker.unary_stream(METHOD)(b"100")
    async for _ in call:
        break
    call.cancel()

    await wait_until(lambda: bool(_client_spans(exporter)), 5.0, "the cancelled call's span to end")
    (span,) = _client_spans(exporter)
    assert span.end_time is not None
