"""The embeddings call of the OpenAI-format adapters (OpenAI, vLLM, Azure) against the fakes, and its wire."""

from __future__ import annotations

import time

import orjson
import pytest

from switchyard.common.v1 import embeddings_pb2, errors_pb2
from switchyard.fakes import embeddings as fake_embeddings
from switchyard.fakes.azure_fake import FakeAzureOpenAI
from switchyard.fakes.openai_fake import FakeOpenAI
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.azure import AzureOpenAIAdapter
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.adapters.openai import OpenAIAdapter
from switchyard.services.providers.adapters.vllm import VLLMAdapter
from switchyard.wire.openai.embeddings import embeddings_from_wire
from switchyard.wire.values import MalformedError
from tests.unit.providers.capture import CaptureServer

R = errors_pb2.ErrorReason


def _request(*inputs: str, dimensions: int | None = None) -> embeddings_pb2.EmbeddingRequest:
    request = embeddings_pb2.EmbeddingRequest(model="embed", inputs=list(inputs), user="u-1")
    if dimensions is not None:
        request.dimensions = dimensions
    return request


@pytest.mark.parametrize("adapter_class", [OpenAIAdapter, VLLMAdapter])
async def test_openai_format_embeddings_against_the_fake(adapter_class: type[OpenAIAdapter]) -> None:
    async with FakeOpenAI.running(api_key="sk-fake") as fake:
        clients = ClientPool([fake.url])
        adapter = adapter_class(clients, init_telemetry("test", ""))
        target = Deployment(
            id="e", group="embed", provider=adapter.provider, model="emb-3", api_base=fake.url, api_key="sk-fake"
        )
        embeddings, record = await adapter.embed(target, _request("a", "b", dimensions=12), time.monotonic() + 5)
        await clients.aclose()
    assert [e.index for e in embeddings.data] == [0, 1]
    assert list(embeddings.data[0].values) == pytest.approx(fake_embeddings.vector("emb-3", "a", 12), abs=1e-6)
    assert embeddings.usage.prompt_tokens == 2 and record.http_status == 200 and record.deployment_id == "e"


async def test_a_wrong_key_is_upstream_auth() -> None:
    async with FakeOpenAI.running(api_key="sk-fake") as fake:
        clients = ClientPool([fake.url])
        adapter = OpenAIAdapter(clients, init_telemetry("test", ""))
        target = Deployment(id="e", group="g", provider="openai", model="m", api_base=fake.url, api_key="sk-wrong")
        with pytest.raises(SwitchyardError) as caught:
            await adapter.embed(target, _request("a"), time.monotonic() + 5)
        await clients.aclose()
    assert caught.value.reason == R.ERROR_REASON_UPSTREAM_AUTH
    assert "sk-wrong" not in caught.value.message


async def test_azure_embeddings_path_auth_and_fake() -> None:
    async with CaptureServer(orjson.dumps(fake_embeddings.reply({"model": "x", "input": ["hi"]}))) as server:
        clients = ClientPool([server.root])
        adapter = AzureOpenAIAdapter(clients, init_telemetry("test", ""))
        target = Deployment(
            id="az", group="g", provider="azure", model="my-embed", api_base=server.root, api_key="azure-key"
        )
        await adapter.embed(target, _request("hi"), time.monotonic() + 5)
        await clients.aclose()
    (sent,) = server.requests
    assert sent.target == "/openai/deployments/my-embed/embeddings?api-version=2024-10-21"
    assert sent.headers["api-key"] == "azure-key"
    assert sent.body == {"model": "my-embed", "input": ["hi"], "encoding_format": "float", "user": "u-1"}
    async with FakeAzureOpenAI.running(api_key="azure-key") as fake:
        clients = ClientPool([fake.url])
        adapter = AzureOpenAIAdapter(clients, init_telemetry("test", ""))
        target = Deployment(
            id="az", group="g", provider="azure", model="my-embed", api_base=fake.url, api_key="azure-key"
        )
        embeddings, _ = await adapter.embed(target, _request("hi", dimensions=4), time.monotonic() + 5)
        await clients.aclose()
    assert embeddings.model == "my-embed" and len(embeddings.data[0].values) == 4


def test_a_reply_missing_a_vector_is_malformed() -> None:
    reply = fake_embeddings.reply({"model": "m", "input": ["a"]})
    with pytest.raises(MalformedError):
        embeddings_from_wire(reply, 2)
    with pytest.raises(MalformedError):
        embeddings_from_wire({"data": [{"index": 0, "embedding": ["x"]}]}, 1)


def test_fake_vectors_are_deterministic_unit_vectors() -> None:
    one, two = fake_embeddings.vector("m", "text", 32), fake_embeddings.vector("m", "text", 32)
    assert one == two and len(one) == 32
    assert sum(v * v for v in one) == pytest.approx(1.0)
    assert fake_embeddings.vector("m", "other", 32) != one
    assert fake_embeddings.vector("n", "text", 32) != one
