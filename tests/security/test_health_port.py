"""The plaintext health port (SWITCHYARD_<SERVICE>_HEALTH_PORT): what Kubernetes' gRPC probe dials under mutual TLS.

It answers grpc.health.v1 without a client certificate and refuses every other service, while the
service port still demands a certificate. A real cache process is started with both ports.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.common.v1 import chat_pb2
from switchyard.runtime import grpcio
from tests.support import Process, free_port, identity, python_module, wait_until

pytestmark = pytest.mark.mesh


@pytest.fixture(scope="module")
def cache() -> Iterator[tuple[Process, str, str]]:
    """A cache process over mutual TLS with a health port; yields it, its service target and its health target."""
    port, health_port = free_port(), free_port()
    env = {
        "SWITCHYARD_CACHE_PORT": str(port),
        "SWITCHYARD_CACHE_HEALTH_PORT": str(health_port),
        "SWITCHYARD_CACHE_METRICS_PORT": "0",
    }
    process = python_module("switchyard.services.cache", env=env, name="cache-health-port")
    try:
        yield process, f"127.0.0.1:{port}", f"127.0.0.1:{health_port}"
    finally:
        process.stop()


async def test_the_health_port_answers_without_a_certificate(cache: tuple[Process, str, str]) -> None:
    process, target, health_target = cache

    async def serving() -> bool:
        assert process.alive(), process.output()
        return await grpcio.check_health(health_target)

    await wait_until(serving, timeout=60, what="the health port to report SERVING")
    assert await grpcio.check_health(target, identity=identity()), "the service port over mutual TLS"
    assert not await grpcio.check_health(target), "the service port must still refuse plaintext"


async def test_the_health_port_refuses_every_other_service(cache: tuple[Process, str, str]) -> None:
    _, _, health_target = cache
    await wait_until(lambda: grpcio.check_health(health_target), timeout=60, what="the health port")
    request = chat_pb2.ChatRequest(model="m", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text="hi")])
    async with aio.insecure_channel(health_target) as channel:
        cache_stub = cache_pb2_grpc.CacheServiceStub(channel)
        with pytest.raises(aio.AioRpcError) as lookup:
            await cache_stub.Lookup(cache_pb2.LookupRequest(tenant="t", model_group="m", request=request), timeout=2)
        assert lookup.value.code() == grpc.StatusCode.UNIMPLEMENTED
        # Reflection's method, asked in one batch (request and half-close together): as a stream, the
        # server's UNIMPLEMENTED can race the client's send, which then fails as INTERNAL instead.
        reflection = channel.unary_unary(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        with pytest.raises(aio.AioRpcError) as listed:
            await reflection(reflection_pb2.ServerReflectionRequest(list_services=""), timeout=2)
        assert listed.value.code() == grpc.StatusCode.UNIMPLEMENTED
