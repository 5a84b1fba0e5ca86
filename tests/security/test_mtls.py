"""Service identity on every hop: through a real mesh (mutual TLS on by default), a service answers only
callers whose certificate, from the mesh's CA, names a role it serves; the normal path still works."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import httpx
import pytest
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.common.v1 import chat_pb2
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime import grpcio
from switchyard.runtime.certs import write_dev_ca
from switchyard.runtime.settings import TlsSettings
from switchyard.runtime.telemetry import init_telemetry
from switchyard.runtime.tls import Identity, load_identity
from tests.support import Mesh, aio_channel, identity, python_module, wait_until_sync

pytestmark = pytest.mark.mesh


def _chat(text: str) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(model="default", messages=[chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)])


def _store() -> cache_pb2.StoreRequest:
    completion = chat_pb2.ChatCompletion(
        choices=[chat_pb2.Choice(message=chat_pb2.ChatMessage(role=chat_pb2.ROLE_ASSISTANT, text="hi"))]
    )
    return cache_pb2.StoreRequest(tenant="t", model_group="default", request=_chat("hello"), completion=completion)


async def _cache_calls(channel: aio.Channel) -> list[grpc.StatusCode]:
    """Returns the status codes a Lookup and a Store over channel end with."""
    stub = cache_pb2_grpc.CacheServiceStub(channel)
    codes = []
    for call in (
        lambda: stub.Lookup(cache_pb2.LookupRequest(tenant="t", model_group="default", request=_chat("hi")), timeout=5),
        lambda: stub.Store(_store(), timeout=5),
    ):
        try:
            await call()
            codes.append(grpc.StatusCode.OK)
        except aio.AioRpcError as error:
            codes.append(error.code())
    return codes


async def _generate(channel: aio.Channel) -> aio.AioRpcError | None:
    stub = providers_pb2_grpc.ProviderServiceStub(channel)
    try:
        await stub.Generate(providers_pb2.GenerateRequest(deployment_id="x", request=_chat("hi")), timeout=5)
    except aio.AioRpcError as error:
        return error
    return None


def _target(mesh: Mesh, service: str) -> str:
    return f"127.0.0.1:{mesh.ports[service]}"


async def test_a_caller_without_a_certificate_cannot_reach_the_cache_or_the_providers(mesh: Mesh) -> None:
    async with aio.insecure_channel(_target(mesh, "cache")) as plain:
        assert await _cache_calls(plain) == [grpc.StatusCode.UNAVAILABLE] * 2
    async with aio.insecure_channel(_target(mesh, "providers")) as plain:
        refused = await _generate(plain)
        assert refused is not None and refused.code() == grpc.StatusCode.UNAVAILABLE
    # TLS that trusts the CA but presents no certificate of its own fails the handshake too.
    ca_only = grpc.ssl_channel_credentials(identity().read().ca)
    options = [("grpc.ssl_target_name_override", "cache.switchyard.internal")]
    async with aio.secure_channel(_target(mesh, "cache"), ca_only, options=options) as anonymous:
        assert await _cache_calls(anonymous) == [grpc.StatusCode.UNAVAILABLE] * 2


async def test_a_certificate_of_the_wrong_role_is_denied(mesh: Mesh) -> None:
    async with aio_channel(_target(mesh, "cache"), "edge", peer="cache") as as_edge:
        assert await _cache_calls(as_edge) == [grpc.StatusCode.PERMISSION_DENIED] * 2
        stub = cache_pb2_grpc.CacheServiceStub(as_edge)
        with pytest.raises(aio.AioRpcError) as caught:
            await stub.Store(_store(), timeout=5)
        assert caught.value.details() == "cache does not accept calls from edge (accepts: router)"
    async with aio_channel(_target(mesh, "providers"), "client", peer="providers") as as_client:
        refused = await _generate(as_client)
        assert refused is not None and refused.code() == grpc.StatusCode.PERMISSION_DENIED
    # Health checks stay open to any peer the CA vouches for (probes, /readyz).
    assert await grpcio.check_health(_target(mesh, "cache"), identity=identity("edge"), peer="cache")
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(mesh.metrics_url("cache"), timeout=5)).text
    assert 'switchyard_grpc_calls_refused_total{caller="edge",code="PERMISSION_DENIED",service="cache"}' in metrics


async def test_a_certificate_from_another_ca_is_refused(mesh: Mesh, tmp_path: Path) -> None:
    foreign_dir = write_dev_ca(tmp_path / "foreign")
    foreign = load_identity("router", TlsSettings(tls="on", tls_dir=str(foreign_dir)))
    assert foreign is not None
    async with grpcio.secure_channel(_target(mesh, "cache"), foreign, "cache") as impostor:
        assert await _cache_calls(impostor) == [grpc.StatusCode.UNAVAILABLE] * 2
    # The mesh's own CA with a foreign router's certificate: the server refuses the certificate.
    mixed = Identity("router", identity().ca, foreign.cert, foreign.key)
    async with grpcio.secure_channel(_target(mesh, "cache"), mixed, "cache") as half:
        assert await _cache_calls(half) == [grpc.StatusCode.UNAVAILABLE] * 2


async def test_the_router_with_its_certificate_can_call_the_cache(mesh: Mesh) -> None:
    async with aio_channel(_target(mesh, "cache"), "router", peer="cache") as as_router:
        assert await _cache_calls(as_router) == [grpc.StatusCode.OK] * 2


def test_a_request_through_the_edge_crosses_every_hop(mesh: Mesh) -> None:
    body = {"model": "default", "messages": [{"role": "user", "content": f"mTLS round trip {uuid.uuid4().hex}"}]}

    def cache_header() -> str:
        reply = httpx.post(f"{mesh.edge_url}/v1/chat/completions", json=body, timeout=10)
        assert reply.status_code == 200, reply.text
        return str(reply.headers["x-switchyard-cache"])

    assert cache_header() == "miss"
    wait_until_sync(lambda: cache_header().startswith("hit"), 10, "the stored answer to be served")


async def test_switchyard_certs_dev_writes_files_grpc_accepts(tmp_path: Path) -> None:
    target_dir = tmp_path / "tls"
    command = python_module("switchyard.cli", "certs", "dev", "--dir", str(target_dir), name="certs")
    assert command.proc.wait(60) == 0, command.output()
    settings = TlsSettings(tls="on", tls_dir=str(target_dir))
    server_identity = load_identity("cache", settings)
    assert server_identity is not None
    server = grpcio.new_server(init_telemetry("cache", None), server_identity, ["router"])
    grpcio.add_health_and_reflection(server, ["switchyard.cache.v1.CacheService"], reflection_on=True)
    port = grpcio.bind(server, "127.0.0.1", 0, server_identity)
    await server.start()
    try:
        target = f"127.0.0.1:{port}"
        router, edge = load_identity("router", settings), load_identity("edge", settings)
        assert router is not None and edge is not None
        assert await grpcio.check_health(target, identity=edge, peer="cache")
        # Reflection is a streaming call: the role check guards streams as it does unary calls.
        ask = reflection_pb2.ServerReflectionRequest(list_services="")
        async with grpcio.secure_channel(target, router, "cache") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            replies = [reply async for reply in stub.ServerReflectionInfo(iter([ask]), timeout=5)]
            assert replies[0].list_services_response.service
        async with grpcio.secure_channel(target, edge, "cache") as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            with pytest.raises(aio.AioRpcError) as caught:
                _ = [reply async for reply in stub.ServerReflectionInfo(iter([ask]), timeout=5)]
            assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await server.stop(0)
