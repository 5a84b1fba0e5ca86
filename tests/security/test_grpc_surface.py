"""What the gRPC side shows a caller who is not supposed to be there: no server reflection outside the
embedded default (unless asked for), a master key compared in constant time, a master tenant no team
name reaches; and gRPC's own size limits never read as a retryable rate limit."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from switchyard.config.governance import token_of
from switchyard.runtime import grpcio
from switchyard.runtime.errors import from_rpc_error
from switchyard.services.router.governance.alerts import AlertSink
from switchyard.services.router.governance.governor import MASTER, Governor, Identity
from switchyard.services.router.governance.keys import Keys
from switchyard.services.router.governance.memory import MemoryGovernance
from switchyard.services.router.governance.model import KeyRecord

SERVICE = "switchyard.test.v1.Nothing"


async def _listed(target: str) -> list[str]:
    async with aio.insecure_channel(target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        return [service.name async for reply in call for service in reply.list_services_response.service]


@pytest.fixture
async def serve() -> AsyncIterator[list[aio.Server]]:
    servers: list[aio.Server] = []
    yield servers
    for server in servers:
        await server.stop(None)


async def _start(servers: list[aio.Server]) -> str:
    server = aio.server()
    grpcio.add_health_and_reflection(server, [SERVICE])
    port = grpcio.bind(server, "127.0.0.1", 0)
    await server.start()
    servers.append(server)
    return f"127.0.0.1:{port}"


async def test_reflection_is_off_for_a_deployed_config(
    serve: list[aio.Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHYARD_CONFIG", "/etc/switchyard/config.yaml")
    monkeypatch.delenv("SWITCHYARD_REFLECTION", raising=False)
    target = await _start(serve)
    assert await grpcio.check_health(target), "health checks stay on"
    with pytest.raises(grpc.RpcError) as refused:
        await _listed(target)
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize(("config", "flag"), [("/etc/switchyard/config.yaml", "1"), ("", None)])
async def test_reflection_is_on_when_asked_for_or_on_the_embedded_default(
    serve: list[aio.Server], monkeypatch: pytest.MonkeyPatch, config: str, flag: str | None
) -> None:
    monkeypatch.setenv("SWITCHYARD_CONFIG", config)
    if flag is None:
        monkeypatch.delenv("SWITCHYARD_REFLECTION", raising=False)
    else:
        monkeypatch.setenv("SWITCHYARD_REFLECTION", flag)
    assert SERVICE in await _listed(await _start(serve))


async def test_the_master_key_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    constant_time = hmac.compare_digest

    def recording(a: str, b: str) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    store = MemoryGovernance()
    master = "sk-master-0123456789abcdef"
    governor = Governor(store, Keys(store), AlertSink(""), master_token=token_of(master), auth=True)
    assert governor.is_master(f"Bearer {master}")
    assert await governor.authenticate(f"Bearer {master}") is MASTER
    assert not governor.is_master("Bearer sk-master-0123456789abcdeX")
    assert len(compared) == 3 and all(b == token_of(master) for _, b in compared)


def test_no_team_name_reaches_the_master_keys_cache_tenant() -> None:
    for team in ("admin", "master", "team:admin", ""):
        key = Identity(KeyRecord(token="f" * 64, key_prefix="sk-sy-ffffff", team_id=team))
        assert key.tenant != MASTER.tenant, team


@pytest.mark.parametrize(
    ("details", "status"),
    [
        ("received metadata size exceeds hard limit (value length 20010 vs. 16384)", 431),
        ("Received message larger than max (70000000 vs. 67108864)", 413),
        ("Bandwidth exhausted", 429),
    ],
)
def test_grpcs_own_size_limits_are_not_a_retryable_rate_limit(details: str, status: int) -> None:
    error = aio.AioRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, aio.Metadata(), aio.Metadata(), details)
    assert from_rpc_error(error).status == status
