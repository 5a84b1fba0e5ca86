"""A governed mesh to attack what a key may do: a master key, virtual keys made per test through the admin
API, priced groups with a pricier fallback, a content rule, an experiment arm and a shadow copy that
all lead to the pricey group, the guard routing injections there too, and a group limited to internal
data. Budgets, keys and cache entries live in a real Redis.

Attacks come through the doors a client has: the edge over HTTP (`Authorization: Bearer <key>`) and
the router's gRPC front door (the key in `authorization` metadata).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import redis
from grpc import aio

from switchyard.common.v1 import chat_pb2, context_pb2
from switchyard.router.v1 import admin_pb2, admin_pb2_grpc, router_pb2, router_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error
from tests.redis_support import unique_prefix
from tests.support import Mesh, Process, aio_channel

MASTER = f"sk-master-{uuid.uuid4().hex}"
CHEAP_USD = 0.000001
PRICEY_USD = 0.0001
METERED_USD = 0.001
MODELS = f"""  - model_name: cheap-a
    litellm_params: {{model: openai/fake-cheap-a, api_base: "$FAKE_URL/v1", api_key: sk-fake}}
    model_info: {{input_cost_per_token: {CHEAP_USD}, output_cost_per_token: {CHEAP_USD}}}
  - model_name: flaky-a
    litellm_params: {{model: openai/fake-flaky-a, api_base: "$FAKE_URL/v1", api_key: sk-fake}}
    model_info: {{input_cost_per_token: {CHEAP_USD}, output_cost_per_token: {CHEAP_USD}}}
  - model_name: budget-a
    litellm_params: {{model: openai/fake-budget-a, api_base: "$FAKE_URL/v1", api_key: sk-fake}}
    model_info: {{input_cost_per_token: {CHEAP_USD}, output_cost_per_token: {CHEAP_USD}}}
  - model_name: pricey-b
    litellm_params: {{model: openai/fake-pricey-b, api_base: "$FAKE_URL/v1", api_key: sk-fake}}
    model_info: {{input_cost_per_token: {PRICEY_USD}, output_cost_per_token: {PRICEY_USD}}}
  - model_name: shadowed
    litellm_params: {{model: openai/fake-shadowed, api_base: "$FAKE_URL/v1", api_key: sk-fake}}
  - model_name: limited
    litellm_params: {{model: openai/fake-limited, api_base: "$FAKE_URL/v1", api_key: sk-fake}}
    model_info: {{data_classification: internal}}
  - model_name: metered
    litellm_params: {{model: openai/fake-metered, api_base: "$FAKE_URL/v1", api_key: sk-fake}}
    model_info: {{input_cost_per_token: {METERED_USD}, output_cost_per_token: {METERED_USD}}}
"""
ROUTER_SETTINGS = "  fallbacks: [{flaky-a: [pricey-b]}, {budget-a: [pricey-b]}]\n"
# The one upstream model a key limited to the cheap groups must never reach.
PRICEY = "fake-pricey-b"


def switchyard_extra(redis_url: str, on_unavailable: str = "allow") -> str:
    """Returns the `switchyard` additions: Redis, the guard, a rule, an experiment arm and a shadow copy."""
    return (
        f'  redis_url: "{redis_url}"\n'
        f"  guard: {{action: route, route_to: pricey-b, on_unavailable: {on_unavailable}}}\n"
        "  rules:\n"
        "    - {name: gold-to-pricey, models: [cheap-a], match: {metadata: {tier: [gold]}}, route_to: pricey-b}\n"
        "  experiments:\n"
        "    ab: {model: exp-ab, arms: [{name: b, group: pricey-b}]}\n"
        "    shadowing: {model: shadowed, shadow: {group: pricey-b, share: 1.0}}\n"
    )


@dataclass
class Gateway:
    """The governed mesh and what the tests need of it."""

    mesh: Mesh
    redis_url: str

    def render(self, on_unavailable: str) -> str:
        """Returns this mesh's config with another guard.on_unavailable (for an extra router)."""
        return self.mesh.render(MODELS, ROUTER_SETTINGS, switchyard_extra(self.redis_url, on_unavailable))

    def fake(self) -> httpx.Client:
        return httpx.Client(base_url=self.mesh.fake_url, timeout=10)

    def calls(self, model: str, marker: str = "") -> list[dict[str, Any]]:
        """Returns the fake provider's logged requests for an upstream model (whose body holds marker)."""
        with self.fake() as client:
            log = client.get("/_fake/requests").json()
        return [e for e in log if (e.get("body") or {}).get("model") == model and marker in str(e.get("body"))]

    def edge(self, key: str) -> httpx.Client:
        """Returns an HTTP client on the edge carrying key."""
        return httpx.Client(base_url=self.mesh.edge_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Gateway]:
    prefix = unique_prefix("zero-trust")
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("zero-trust")),
        env={"SWITCHYARD_ROUTER_STATE_PREFIX": prefix, "SWITCHYARD_CACHE_REDIS_PREFIX": f"{prefix}cache:"},
        request_timeout=20.0,
        extra_models=MODELS,
        router_settings=ROUTER_SETTINGS,
        general_settings=f"general_settings:\n  master_key: {MASTER}\n",
        switchyard_extra=switchyard_extra(redis_url),
    ).start()
    try:
        yield Gateway(mesh, redis_url)
    finally:
        mesh.stop()
        client = redis.Redis.from_url(redis_url)
        found = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if found:
            client.delete(*found)
        client.close()


@pytest.fixture
def fake(gateway: Gateway) -> Iterator[httpx.Client]:
    """The fake provider's admin API, its scripts and request log cleared after the test."""
    with gateway.mesh.fake_admin() as client:
        yield client


@pytest.fixture
async def router(gateway: Gateway) -> AsyncIterator[aio.Channel]:
    """A gRPC channel on the router's front door."""
    async with aio_channel(gateway.mesh.router_target) as channel:
        yield channel


def bearer(secret: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {secret}"),)


async def new_key(
    channel: aio.Channel, models: list[str], *, team: str = "", budget_usd: float = 0.0, window: str = "daily"
) -> str:
    """Returns a new key's secret, made through the admin API with the master key."""
    limits = admin_pb2.Limits(models=models)
    if budget_usd:
        limits.budgets.add(window=window, hard_usd=budget_usd)
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    spec = admin_pb2.KeySpec(team_id=team, limits=limits)
    reply = await admin.GenerateKey(admin_pb2.GenerateKeyRequest(spec=spec), metadata=bearer(MASTER))
    return reply.key


def ask(model: str, text: str = "", **fields: Any) -> chat_pb2.ChatRequest:
    """Returns a one-turn request for model (a fresh question unless text is given)."""
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text or f"zero trust {uuid.uuid4().hex}")
    return chat_pb2.ChatRequest(model=model, messages=[message], **fields)


async def complete(
    channel: aio.Channel,
    secret: str,
    request: chat_pb2.ChatRequest,
    context: context_pb2.RequestContext | None = None,
) -> router_pb2.ChatCompletionResponse:
    stub = router_pb2_grpc.RouterServiceStub(channel)
    call = router_pb2.ChatCompletionRequest(request=request, context=context)
    return await stub.ChatCompletion(call, metadata=bearer(secret), timeout=30)


async def refusal(
    channel: aio.Channel,
    secret: str,
    request: chat_pb2.ChatRequest,
    context: context_pb2.RequestContext | None = None,
) -> tuple[grpc.StatusCode, SwitchyardError]:
    """Returns the status code and the error (with its route record) of a request that must fail."""
    try:
        await complete(channel, secret, request, context)
    except grpc.aio.AioRpcError as error:
        return error.code(), from_rpc_error(error)
    raise AssertionError(f"the request for {request.model} was answered")


async def spend_of(channel: aio.Channel, secret: str) -> admin_pb2.KeyInfo:
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    reply = await admin.GetKeyInfo(admin_pb2.GetKeyInfoRequest(key=secret), metadata=bearer(MASTER))
    return reply.info


async def ledger_of(channel: aio.Channel, secret: str) -> list[admin_pb2.LedgerRecord]:
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    request = admin_pb2.GetSpendLogsRequest(key_prefix=secret[:12], limit=100)
    return list((await admin.GetSpendLogs(request, metadata=bearer(MASTER))).records)


async def reserved_of(channel: aio.Channel, secret: str) -> float | None:
    """Returns what the key's budget holds in reservations now (None: it has no budget line yet)."""
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    budgets = await admin.GetBudgets(admin_pb2.GetBudgetsRequest(), metadata=bearer(MASTER))
    mine = [b for b in budgets.budgets if b.id == secret[:12]]
    return mine[0].reserved_usd if mine else None


class StalledPeer:
    """A TCP port that accepts connections into its backlog and never answers: a stalled classifier."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(256)
        self.target = f"127.0.0.1:{self._sock.getsockname()[1]}"

    def close(self) -> None:
        self._sock.close()


@pytest.fixture(scope="session")
def stalled() -> Iterator[StalledPeer]:
    peer = StalledPeer()
    yield peer
    peer.close()


def stalled_router(gateway: Gateway, peer: StalledPeer, on_unavailable: str, workdir: Path) -> tuple[Process, str]:
    """Starts one more router on the mesh's peers and Redis, its classifier the stalled peer, with
    guard.on_unavailable as given; returns it and its gRPC target."""
    config = workdir / f"switchyard-{on_unavailable}.yaml"
    config.write_text(gateway.render(on_unavailable))
    env = {"SWITCHYARD_CONFIG": str(config), "SWITCHYARD_ROUTER_CLASSIFIER_TARGET": peer.target}
    return gateway.mesh.start_router(env)
