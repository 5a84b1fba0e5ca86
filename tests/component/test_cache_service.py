"""The cache service over a real gRPC channel: what the router sees when it calls Lookup and Store."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
import pytest
from grpc import aio
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime import grpcio
from switchyard.runtime.errors import from_rpc_error
from switchyard.services.cache.config import CacheSettings
from switchyard.services.cache.server import SERVICE_NAMES, Models, build_server, load_models, new_cache
from tests.support import aio_channel, free_port, identity, python_module, wait_until

if TYPE_CHECKING:
    Stub = cache_pb2_grpc.CacheServiceAsyncStub


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Cache:
    stub: Stub
    clock: Clock
    target: str


@pytest.fixture(scope="module")
def models() -> Models:
    loaded = load_models()
    assert isinstance(loaded, Models), loaded
    return loaded


@pytest.fixture
async def cache(models: Models) -> AsyncIterator[Cache]:
    settings = CacheSettings(host="127.0.0.1", port=0, ttl_seconds=600, max_temperature=1.0)
    clock = Clock()
    server, port, health_servicer = build_server(settings, new_cache(settings, clock, models))
    await server.start()
    await grpcio.mark_serving(health_servicer, SERVICE_NAMES)
    target = f"127.0.0.1:{port}"
    async with aio.insecure_channel(target) as channel:
        yield Cache(cache_pb2_grpc.CacheServiceStub(channel), clock, target)  # type: ignore[arg-type]
    await server.stop(None)


def chat(text: str = "What is the capital of France?", **fields: object) -> chat_pb2.ChatRequest:
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)
    fields.setdefault("temperature", 0.0)
    return chat_pb2.ChatRequest(model="gpt-4o", messages=[message], **fields)  # type: ignore[arg-type]


def completion(*finish_reasons: int, content: str = "Paris.") -> chat_pb2.ChatCompletion:
    reasons = finish_reasons or (chat_pb2.FINISH_REASON_STOP,)
    result = chat_pb2.ChatCompletion(id="chatcmpl-1", created=1_700_000_000, model="gpt-4o-2024-08-06")
    for index, reason in enumerate(reasons):
        message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_ASSISTANT, text=content)
        result.choices.add(index=index, message=message, finish_reason=reason)
    result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens = 14, 2, 16
    return result


async def store(
    stub: Stub,
    request: chat_pb2.ChatRequest,
    answer: chat_pb2.ChatCompletion,
    tenant: str = "acme",
    ttl: int = 0,
) -> cache_pb2.StoreResponse:
    return await stub.Store(
        cache_pb2.StoreRequest(tenant=tenant, model_group="gpt-4o", request=request, completion=answer, ttl_seconds=ttl)
    )


async def lookup(stub: Stub, request: chat_pb2.ChatRequest, tenant: str = "acme") -> cache_pb2.LookupResponse:
    return await stub.Lookup(cache_pb2.LookupRequest(tenant=tenant, model_group="gpt-4o", request=request))


async def test_a_stored_completion_is_served_back_exactly(cache: Cache) -> None:
    assert not (await lookup(cache.stub, chat())).hit
    stored = await store(cache.stub, chat(), completion())
    assert stored.stored and stored.key
    found = await lookup(cache.stub, chat())
    assert found.hit
    assert found.tier == cache_pb2.CACHE_TIER_EXACT
    assert found.similarity == 1.0
    assert found.key == stored.key
    assert found.completion == completion()


async def test_a_hit_names_the_deployment_that_produced_it(cache: Cache) -> None:
    # The router serves a hit only when its caller may use that deployment (router/caching.py).
    stored = cache_pb2.StoreRequest(
        tenant="acme", model_group="gpt-4o", request=chat(), completion=completion(), deployment_id="gpt-4o-1a2b"
    )
    assert (await cache.stub.Store(stored)).stored
    assert (await lookup(cache.stub, chat())).deployment_id == "gpt-4o-1a2b"
    paraphrase = await lookup(cache.stub, chat("Could you tell me the capital of France?"))
    assert paraphrase.tier == cache_pb2.CACHE_TIER_SEMANTIC and paraphrase.deployment_id == "gpt-4o-1a2b"


async def test_a_streamed_request_hits_the_entry_of_a_plain_one(cache: Cache) -> None:
    await store(cache.stub, chat(), completion())
    streamed = chat(stream=True, user="end-user-7")
    streamed.stream_options.include_usage = True
    assert (await lookup(cache.stub, streamed)).hit
    assert not (await lookup(cache.stub, chat(max_tokens=5))).hit


async def test_another_tenant_never_sees_the_entry(cache: Cache) -> None:
    await store(cache.stub, chat(), completion(), tenant="acme")
    assert not (await lookup(cache.stub, chat(), tenant="globex")).hit
    assert (await lookup(cache.stub, chat(), tenant="acme")).hit


async def test_invalidated_entries_miss(cache: Cache) -> None:
    first = await store(cache.stub, chat("one"), completion())
    await store(cache.stub, chat("two"), completion())
    await store(cache.stub, chat("two"), completion(), tenant="globex")
    removed = await cache.stub.Invalidate(cache_pb2.InvalidateRequest(key=first.key))
    assert removed.removed == 1
    assert not (await lookup(cache.stub, chat("one"))).hit
    assert (await cache.stub.Invalidate(cache_pb2.InvalidateRequest(tenant="acme"))).removed == 1
    assert not (await lookup(cache.stub, chat("two"))).hit
    assert (await lookup(cache.stub, chat("two"), tenant="globex")).hit
    assert (await cache.stub.Invalidate(cache_pb2.InvalidateRequest(all=True))).removed == 1
    assert not (await lookup(cache.stub, chat("two"), tenant="globex")).hit


@pytest.mark.parametrize(
    "finish_reason",
    [
        chat_pb2.FINISH_REASON_TOOL_CALLS,
        chat_pb2.FINISH_REASON_CONTENT_FILTER,
        chat_pb2.FINISH_REASON_UNSPECIFIED,
    ],
    ids=["tool calls", "content filter", "unfinished"],
)
async def test_incomplete_or_unsafe_completions_are_not_stored(cache: Cache, finish_reason: int) -> None:
    result = await store(cache.stub, chat(), completion(chat_pb2.FINISH_REASON_STOP, finish_reason))
    assert not result.stored
    assert result.reason
    assert not (await lookup(cache.stub, chat())).hit


async def test_hot_requests_are_not_stored(cache: Cache) -> None:
    hot = chat(temperature=1.5)
    result = await store(cache.stub, hot, completion())
    assert not result.stored and "temperature" in result.reason
    assert not (await lookup(cache.stub, hot)).hit


async def test_a_paraphrase_is_served_from_the_semantic_tier_and_a_near_miss_is_not(cache: Cache) -> None:
    await store(cache.stub, chat("What is the capital of France?"), completion())
    found = await lookup(cache.stub, chat("Could you tell me the capital of France?"))
    assert found.hit and found.tier == cache_pb2.CACHE_TIER_SEMANTIC
    assert found.semantic == cache_pb2.SEMANTIC_SEARCH_SEARCHED
    assert 0.9 < found.similarity < 1.0 and found.completion == completion()
    near_miss = await lookup(cache.stub, chat("What is the capital of Germany?"))
    assert not near_miss.hit and near_miss.reason
    different_question = await lookup(cache.stub, chat("How do I bake sourdough bread?"))
    assert not different_question.hit


async def test_stats_report_hits_by_tier_refusals_savings_and_the_store(cache: Cache) -> None:
    await store(cache.stub, chat("What is the capital of France?"), completion())
    await store(cache.stub, chat(temperature=1.5), completion())
    await store(cache.stub, chat("cut"), completion(chat_pb2.FINISH_REASON_UNSPECIFIED))
    await lookup(cache.stub, chat("What is the capital of France?"))
    await lookup(cache.stub, chat("What's the capital of France?"))
    await lookup(cache.stub, chat("What is the capital of Germany?"))
    stats = await cache.stub.Stats(cache_pb2.StatsRequest())
    assert (stats.lookups, stats.exact_hits, stats.semantic_hits, stats.misses) == (3, 1, 1, 1)
    assert stats.stores == 1 and dict(stats.refusals) == {"temperature": 1, "finish_reason": 1}
    assert stats.tokens_saved == 32
    assert sum(bucket.count for bucket in stats.similarity_histogram) == 2
    assert stats.backend == "memory" and stats.backend_up
    assert stats.semantic_enabled and stats.indexed_entries == 1 and stats.index_bytes > 0


async def test_entries_expire(cache: Cache) -> None:
    # Two unrelated questions, so the semantic tier has nothing to offer for the expired one.
    default_ttl, short_ttl = "How do I bake sourdough bread?", "What is the boiling point of water?"
    await store(cache.stub, chat(default_ttl), completion())
    await store(cache.stub, chat(short_ttl), completion(), ttl=30)
    cache.clock.now += 30
    assert not (await lookup(cache.stub, chat(short_ttl))).hit
    assert (await lookup(cache.stub, chat(default_ttl))).hit
    cache.clock.now += 570
    assert not (await lookup(cache.stub, chat(default_ttl))).hit


@pytest.mark.parametrize(
    "call",
    ["lookup without request", "store without completion", "invalidate without selector"],
)
async def test_malformed_calls_are_invalid_with_error_info(cache: Cache, call: str) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        if call == "lookup without request":
            await cache.stub.Lookup(cache_pb2.LookupRequest(tenant="acme"))
        elif call == "store without completion":
            await cache.stub.Store(cache_pb2.StoreRequest(tenant="acme", request=chat()))
        else:
            await cache.stub.Invalidate(cache_pb2.InvalidateRequest())
    error = raised.value
    assert isinstance(error, aio.AioRpcError)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert from_rpc_error(error).reason == errors_pb2.ERROR_REASON_INVALID_REQUEST


@pytest.fixture
def reflection_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turns gRPC server reflection on for the servers the test builds next (it is off outside the embedded default)."""
    monkeypatch.setenv("SWITCHYARD_REFLECTION", "1")


async def test_health_is_serving_and_reflection_lists_the_service(reflection_on: None, cache: Cache) -> None:
    assert await grpcio.check_health(cache.target)
    async with aio.insecure_channel(cache.target) as channel:
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = [service.name async for reply in call for service in reply.list_services_response.service]
    assert "switchyard.cache.v1.CacheService" in names


@pytest.mark.mesh
async def test_the_process_drains_an_in_flight_call_on_sigterm() -> None:
    port = free_port()
    env = {"SWITCHYARD_CACHE_PORT": str(port), "SWITCHYARD_LOG_LEVEL": "DEBUG"}
    process = python_module("switchyard.services.cache", env=env)
    try:
        target = f"127.0.0.1:{port}"
        await wait_until(
            lambda: grpcio.check_health(target, identity=identity()), timeout=30, what="the cache to serve"
        )
        async with aio_channel(target, "router") as channel:
            stub = cache_pb2_grpc.CacheServiceStub(channel)  # type: ignore[misc]
            # A request of ~48 MB is canonicalised and hashed in a worker thread (tens of ms):
            # the signal arrives while the call is being worked on.
            call = asyncio.ensure_future(lookup(stub, chat("x" * 48_000_000)))
            await wait_until(lambda: "worker thread" in process.output(), timeout=60, what="the call to start")
            process.proc.send_signal(signal.SIGTERM)
            reply = await call
        assert not reply.hit and reply.key
        await wait_until(lambda: not process.alive(), timeout=30, what="the process to exit")
        assert process.proc.returncode == 0, process.output()
        assert "stopping" in process.output()
    finally:
        process.stop()
