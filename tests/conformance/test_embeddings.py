"""The embeddings cases of the conformance suite, each run against the adapter's own fake over real HTTP.

Every wire format of the suite is in exactly one of two lists: EMBEDDERS run every case below (batched
inputs in order, dimensions, token counts, upstream errors mapped into the taxonomy, malformed replies
refused); REFUSERS have no embeddings endpoint, and the providers service must say so over gRPC with a
clear INVALID_REQUEST before any upstream call. A wire format in neither list fails the suite.

Vectors leave the adapters as floats: `encoding_format: base64` is the edge's encoding of them
(`tests/e2e/test_edge_apis.py`), not a field any adapter sends upstream.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from grpc import aio

from switchyard.common.v1 import embeddings_pb2, errors_pb2
from switchyard.providers.v1 import providers_pb2, providers_pb2_grpc
from switchyard.runtime.errors import SwitchyardError, from_rpc_error
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.base import Adapter, Deployment
from switchyard.services.providers.config import ProviderSettings
from switchyard.services.providers.integrity.guard import embedding_layer
from switchyard.services.providers.server import build_server, new_client_pool
from tests.conformance.bedrock import BEDROCK
from tests.conformance.harness import ANTHROPIC, GEMINI, OPENAI, PROVIDERS, VLLM, Provider, ReplayServer, deployment
from tests.conformance.harness import adapter_for as chat_adapter_for
from tests.conformance.vendors import AZURE, MISTRAL, OLLAMA, VENDORS
from tests.conformance.vertex import VERTEX

R = errors_pb2.ErrorReason
SUITE = [*PROVIDERS, *VENDORS, *VERTEX, BEDROCK]


@dataclass(frozen=True)
class Embedder:
    """A wire format with an embeddings endpoint, and the embedding model its fake serves."""

    provider: Provider
    model: str
    # counts_tokens says whether the wire format's reply counts input tokens (Gemini's does not: the
    # router prices such a call on its own estimate).
    counts_tokens: bool = True

    @property
    def name(self) -> str:
        return self.provider.name


EMBEDDERS = [
    Embedder(OPENAI, "text-embedding-3-small"),
    Embedder(VLLM, "fake-bge-m3"),
    Embedder(AZURE, "text-embedding-3-small"),
    Embedder(MISTRAL, "mistral-embed"),
    Embedder(OLLAMA, "nomic-embed-text"),
    Embedder(GEMINI, "gemini-embedding-001", counts_tokens=False),
    Embedder(BEDROCK, "amazon.titan-embed-text-v2:0"),
]
# REFUSERS speak a chat-only API here: Anthropic has no embeddings endpoint, and Vertex AI's (`:predict`
# on text-embedding models) is not translated.
REFUSERS = [ANTHROPIC, *VERTEX]
BATCH = ["alpha", "Grüße aus Zürich", "東京の天気"]


def _target(embedder: Embedder, api_base: str) -> Deployment:
    return deployment(embedder.provider, api_base, model=embedder.model)


@contextlib.asynccontextmanager
async def _against_fake(embedder: Embedder) -> AsyncIterator[tuple[Adapter, Deployment, Any]]:
    """Yields the adapter, the embedding deployment and the running fake it calls."""
    provider = embedder.provider
    async with provider.fake() as fake, chat_adapter_for(provider, provider.api_base(fake)) as adapter:
        yield adapter, _target(embedder, provider.api_base(fake)), fake


@pytest.fixture(params=EMBEDDERS, ids=[e.name for e in EMBEDDERS])
def embedder(request: pytest.FixtureRequest) -> Embedder:
    chosen: Embedder = request.param
    return chosen


async def _embed(
    adapter: Adapter, target: Deployment, inputs: list[str], dimensions: int | None = None
) -> embeddings_pb2.Embeddings:
    layer = embedding_layer(adapter)
    assert layer is not None, f"{target.provider} lost its embeddings endpoint"
    request = embeddings_pb2.EmbeddingRequest(model="conformance", inputs=inputs, dimensions=dimensions)
    embeddings, record = await layer.embed(target, request, time.monotonic() + 10, "rq-embed")
    assert record.provider == target.provider and record.http_status == 200
    return embeddings


async def _error(call: object) -> SwitchyardError:
    with pytest.raises(SwitchyardError) as caught:
        await call  # type: ignore[misc]
    return caught.value


def test_every_wire_format_embeds_or_refuses() -> None:
    embedders = [e.provider for e in EMBEDDERS]
    for provider in SUITE:
        assert (provider in embedders) != (provider in REFUSERS), f"{provider.name}: embeds or refuses, not both"
    assert {p.name for p in [*embedders, *REFUSERS]} == {p.name for p in SUITE}


async def test_batch_comes_back_in_input_order(embedder: Embedder) -> None:
    async with _against_fake(embedder) as (adapter, target, _):
        batch = await _embed(adapter, target, BATCH)
        alone = await _embed(adapter, target, [BATCH[2]])
    assert [item.index for item in batch.data] == [0, 1, 2]
    assert len({tuple(item.values) for item in batch.data}) == 3, "each input has its own vector"
    assert list(alone.data[0].values) == pytest.approx(list(batch.data[2].values)), "inputs are not reordered"


async def test_dimensions_shorten_the_vectors(embedder: Embedder) -> None:
    async with _against_fake(embedder) as (adapter, target, _):
        short = await _embed(adapter, target, BATCH[:2], dimensions=256)
        full = await _embed(adapter, target, BATCH[:2])
    assert [len(item.values) for item in short.data] == [256, 256]
    assert all(len(item.values) > 256 for item in full.data)


async def test_usage_counts_the_input_tokens(embedder: Embedder) -> None:
    async with _against_fake(embedder) as (adapter, target, _):
        one = await _embed(adapter, target, BATCH[:1])
        three = await _embed(adapter, target, BATCH)
    if not embedder.counts_tokens:
        assert three.usage.prompt_tokens == 0 and three.usage.completion_tokens == 0
        return
    assert 0 < one.usage.prompt_tokens < three.usage.prompt_tokens
    assert three.usage.total_tokens == three.usage.prompt_tokens and three.usage.completion_tokens == 0


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, R.ERROR_REASON_UPSTREAM_BAD_REQUEST),
        (401, R.ERROR_REASON_UPSTREAM_AUTH),
        (429, R.ERROR_REASON_UPSTREAM_RATE_LIMITED),
        (500, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
        (503, R.ERROR_REASON_UPSTREAM_UNAVAILABLE),
    ],
)
async def test_error_statuses_map_into_the_taxonomy(embedder: Embedder, status: int, reason: int) -> None:
    async with _against_fake(embedder) as (adapter, target, fake):
        fake.script(embedder.model, status=status, retry_after="3", **embedder.provider.error_script)
        err = await _error(_embed(adapter, target, BATCH))
    assert err.reason == reason
    assert err.metadata["upstream_status"] == str(status)
    assert err.info.failover == (status != 400)
    if status == 429:
        assert err.retry_after_s == 3.0
    assert "sk-conformance" not in err.message


@pytest.mark.parametrize("body", [b"{not json", b'{"unexpected": true}'], ids=["json", "schema"])
async def test_malformed_reply_is_refused(embedder: Embedder, body: bytes) -> None:
    async with ReplayServer([body], b"application/json") as replay:
        api_base = embedder.provider.api_base(replay)
        async with chat_adapter_for(embedder.provider, api_base) as adapter:
            err = await _error(_embed(adapter, _target(embedder, api_base), BATCH))
    assert err.reason == R.ERROR_REASON_UPSTREAM_MALFORMED and err.info.failover
    assert "embed" in err.message


@pytest.fixture(params=REFUSERS, ids=[p.name for p in REFUSERS])
def refuser(request: pytest.FixtureRequest) -> Provider:
    chosen: Provider = request.param
    return chosen


async def _providers_service(target: Deployment) -> AsyncIterator[providers_pb2_grpc.ProviderServiceStub]:
    settings = ProviderSettings(host="127.0.0.1", port=0)
    clients = new_client_pool(settings, [target])
    server, port, _ = build_server(settings, [target], clients, init_telemetry("providers", None))
    await server.start()
    try:
        async with aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield providers_pb2_grpc.ProviderServiceStub(channel)
    finally:
        await server.stop(None)
        await clients.aclose()


async def test_a_chat_only_wire_format_refuses_embeddings_clearly(refuser: Provider) -> None:
    async with refuser.fake() as fake:
        target = deployment(refuser, refuser.api_base(fake))
        async for stub in _providers_service(target):
            request = embeddings_pb2.EmbeddingRequest(model="conformance", inputs=BATCH)
            with pytest.raises(aio.AioRpcError) as caught:
                await stub.Embed(providers_pb2.EmbedRequest(deployment_id=target.id, request=request), timeout=10)
            err = from_rpc_error(caught.value)
        upstream_calls = len(fake.requests)
    assert err.reason == R.ERROR_REASON_INVALID_REQUEST and not err.info.failover
    assert f"speaks {refuser.name}, which has no embeddings endpoint" in err.message
    assert upstream_calls == 0, "the refusal comes before any upstream call"
