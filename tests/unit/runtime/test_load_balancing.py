"""One channel to several servers: the round_robin policy spreads calls over every address a target lists."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from grpc import aio

from switchyard.runtime import grpcio
from switchyard.runtime.telemetry import init_telemetry

METHOD = "/test.Echo/Who"


def _server(name: str, calls: Counter[str]) -> aio.Server:
    async def who(request: bytes, context: aio.ServicerContext) -> bytes:
        calls[name] += 1
        return name.encode()

    handler = grpc.unary_unary_rpc_method_handler(who)
    server = grpcio.new_server(init_telemetry("test", None))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", {"Who": handler}),))
    return server


@dataclass
class Pair:
    """Two in-process servers on their own ports, the static-list target of both, and their call counts."""

    servers: list[aio.Server]
    target: str
    calls: Counter[str]


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    calls: Counter[str] = Counter()
    servers = [_server("one", calls), _server("two", calls)]
    ports = [grpcio.bind(server, "127.0.0.1", 0) for server in servers]
    for server in servers:
        await server.start()
    try:
        yield Pair(servers, f"ipv4:127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}", calls)
    finally:
        for server in servers:
            await server.stop(None)


async def test_one_channel_spreads_calls_over_every_listed_server(pair: Pair) -> None:
    async with grpcio.channel(pair.target, init_telemetry("test", None)) as chan:
        call = chan.unary_unary(METHOD)
        answers = [await call(b"", timeout=5, wait_for_ready=True) for _ in range(20)]
    assert set(answers) == {b"one", b"two"}
    # Round robin takes turns once both connections are ready: neither server gets most of the calls.
    assert min(pair.calls.values()) >= 5, pair.calls


async def test_calls_go_to_the_server_left_when_one_stops(pair: Pair) -> None:
    # As the edge's channel to the routers: a call caught on the stopping server's connection (its
    # GOAWAY) is sent again, to the server left.
    async with grpcio.channel(pair.target, init_telemetry("test", None), retry_unavailable=True) as chan:
        call = chan.unary_unary(METHOD)
        for _ in range(4):
            await call(b"", timeout=5, wait_for_ready=True)
        assert set(pair.calls) == {"one", "two"}
        await pair.servers[0].stop(None)
        answers = [await call(b"", timeout=5, wait_for_ready=True) for _ in range(10)]
    assert answers == [b"two"] * 10
