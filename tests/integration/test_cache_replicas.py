"""Two cache replicas as real processes over one real Redis: what one stores the other serves, and nothing more.

Each replica keeps its own in-process vector index, fed by the Redis change feed; these tests check
what a caller of either replica sees: hits across replicas within a second, tenants kept apart,
expired and invalidated entries missing everywhere at once, and a Redis outage turning into misses.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.common.v1 import chat_pb2
from switchyard.runtime import grpcio
from switchyard.services.cache.backends import Entry, Selector, SilentListener
from switchyard.services.cache.backends.redis import RedisBackend
from switchyard.services.cache.server import STORE_HEALTH
from tests.redis_support import throwaway_redis, unique_prefix
from tests.support import Process, aio_channel, free_port, identity, python_module, wait_until

pytestmark = pytest.mark.mesh

FRANCE = "What is the capital of France?"
FRANCE_PARAPHRASE = "Could you tell me the capital of France?"
GERMANY = "What is the capital of Germany?"
# The router waits this long for a lookup; a replica whose Redis is gone must answer well within it.
ROUTER_LOOKUP_TIMEOUT = 0.25
# Replicas must see each other's stores within a second.
PROPAGATION = 1.0

Stub = cache_pb2_grpc.CacheServiceStub


def start_replica(redis_url: str, prefix: str, **env: str) -> tuple[Process, str]:
    port = free_port()
    variables = {
        "SWITCHYARD_CONFIG": "",
        "SWITCHYARD_CACHE_PORT": str(port),
        "SWITCHYARD_CACHE_REDIS_URL": redis_url,
        "SWITCHYARD_CACHE_REDIS_PREFIX": prefix,
        **env,
    }
    return python_module("switchyard.services.cache", env=variables, name=f"cache-{port}"), f"127.0.0.1:{port}"


async def wait_serving(process: Process, target: str) -> None:
    async def serving() -> bool:
        assert process.alive(), process.output()
        return await grpcio.check_health(target, identity=identity())

    await wait_until(serving, timeout=60, what=f"the cache replica at {target}")


@pytest.fixture(scope="module")
def replicas(redis_url: str) -> Iterator[tuple[str, str]]:
    """Two cache processes sharing one Redis key prefix; yields their targets."""
    prefix = unique_prefix("cache-replicas")
    started = [start_replica(redis_url, prefix) for _ in range(2)]
    try:
        for process, target in started:
            asyncio.run(wait_serving(process, target))
        yield started[0][1], started[1][1]
    finally:
        for process, _ in started:
            process.stop()


@dataclass
class Pair:
    a: Stub
    b: Stub


@pytest.fixture
async def pair(replicas: tuple[str, str]) -> AsyncIterator[Pair]:
    async with aio_channel(replicas[0], "router") as first, aio_channel(replicas[1], "router") as second:
        yield Pair(cache_pb2_grpc.CacheServiceStub(first), cache_pb2_grpc.CacheServiceStub(second))  # type: ignore[misc]


def tenant() -> str:
    return f"team-{uuid.uuid4().hex[:8]}"


def chat(text: str) -> chat_pb2.ChatRequest:
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)
    return chat_pb2.ChatRequest(model="gpt-4o", messages=[message], temperature=0.0)


def completion(content: str = "Paris.") -> chat_pb2.ChatCompletion:
    result = chat_pb2.ChatCompletion(id="chatcmpl-1", model="gpt-4o")
    result.choices.add(index=0, finish_reason=chat_pb2.FINISH_REASON_STOP).message.text = content
    result.usage.total_tokens = 16
    return result


class Calls:
    """Lookup and Store as the router makes them (the cache embeds the request itself)."""

    async def store(
        self, stub: Stub, owner: str, text: str = FRANCE, ttl: int = 0, group: str = "gpt-4o"
    ) -> cache_pb2.StoreResponse:
        request = cache_pb2.StoreRequest(
            tenant=owner,
            model_group=group,
            request=chat(text),
            completion=completion(),
            ttl_seconds=ttl,
        )
        return await stub.Store(request, timeout=10)

    async def lookup(
        self, stub: Stub, owner: str, text: str = FRANCE, group: str = "gpt-4o", timeout: float = 10
    ) -> cache_pb2.LookupResponse:
        request = cache_pb2.LookupRequest(tenant=owner, model_group=group, request=chat(text))
        return await stub.Lookup(request, timeout=timeout)

    async def tier(self, stub: Stub, owner: str, text: str = FRANCE, group: str = "gpt-4o") -> int:
        """Returns the tier that answered (CACHE_TIER_UNSPECIFIED on a miss)."""
        found = await self.lookup(stub, owner, text, group)
        return int(found.tier) if found.hit else cache_pb2.CACHE_TIER_UNSPECIFIED


@pytest.fixture
def calls() -> Calls:
    return Calls()


EXACT, SEMANTIC, MISS = cache_pb2.CACHE_TIER_EXACT, cache_pb2.CACHE_TIER_SEMANTIC, cache_pb2.CACHE_TIER_UNSPECIFIED


async def hits_on(calls: Calls, stubs: list[Stub], owner: str, text: str, tier: int) -> bool:
    return all([await calls.tier(stub, owner, text) == tier for stub in stubs])


async def test_a_store_on_one_replica_is_a_hit_on_the_other(pair: Pair, calls: Calls) -> None:
    owner = tenant()
    assert (await calls.store(pair.a, owner)).stored
    assert await calls.tier(pair.b, owner) == EXACT

    async def paraphrase_hits_on_b() -> bool:
        return await calls.tier(pair.b, owner, FRANCE_PARAPHRASE) == SEMANTIC

    await wait_until(paraphrase_hits_on_b, timeout=PROPAGATION, what="replica b to find a's entry by meaning")
    found = await calls.lookup(pair.b, owner, FRANCE_PARAPHRASE)
    assert found.completion == completion() and 0.9 < found.similarity < 1.0
    assert await calls.tier(pair.b, owner, GERMANY) == MISS
    assert await calls.tier(pair.a, owner, GERMANY) == MISS


async def test_a_tenant_never_sees_another_tenants_entry(pair: Pair, calls: Calls) -> None:
    acme, globex = tenant(), tenant()
    await calls.store(pair.a, acme)
    await wait_until(
        lambda: hits_on(calls, [pair.b], acme, FRANCE_PARAPHRASE, SEMANTIC), timeout=PROPAGATION, what="propagation"
    )
    for stub in (pair.a, pair.b):
        assert await calls.tier(stub, globex, FRANCE) == MISS
        assert await calls.tier(stub, globex, FRANCE_PARAPHRASE) == MISS


async def test_an_expired_entry_is_a_miss_everywhere(pair: Pair, calls: Calls) -> None:
    owner = tenant()
    # Long enough for b to be seen serving it first (propagation takes under a second).
    await calls.store(pair.a, owner, ttl=3)
    await calls.store(pair.a, owner, GERMANY, ttl=600)
    await wait_until(
        lambda: hits_on(calls, [pair.b], owner, FRANCE_PARAPHRASE, SEMANTIC), timeout=PROPAGATION, what="propagation"
    )

    async def expired_everywhere() -> bool:
        for stub in (pair.a, pair.b):
            if (
                await calls.tier(stub, owner, FRANCE) != MISS
                or await calls.tier(stub, owner, FRANCE_PARAPHRASE) != MISS
            ):
                return False
        return True

    await wait_until(expired_everywhere, timeout=10, what="the three-second entry to expire on both replicas")
    assert await calls.tier(pair.b, owner, GERMANY) == EXACT


@pytest.mark.parametrize("selector", ["key", "tenant", "model_group", "all"])
async def test_an_invalidated_entry_is_a_miss_everywhere_at_once(pair: Pair, calls: Calls, selector: str) -> None:
    owner, bystander = tenant(), tenant()
    group = f"group-{uuid.uuid4().hex[:6]}"
    stored = await calls.store(pair.a, owner, group=group)
    await calls.store(pair.a, bystander, group="other-group")

    async def both_hit() -> bool:
        semantic = [await calls.tier(s, owner, FRANCE_PARAPHRASE, group) == SEMANTIC for s in (pair.a, pair.b)]
        return all(semantic)

    await wait_until(both_hit, timeout=PROPAGATION, what="both replicas to serve the entry")
    which = {"key": stored.key, "tenant": owner, "model_group": group, "all": True}[selector]
    removed = await pair.b.Invalidate(cache_pb2.InvalidateRequest(**{selector: which}))
    assert removed.removed >= 1
    # No waiting: the store is the truth, so neither replica may serve the entry after Invalidate returns.
    for stub in (pair.a, pair.b):
        assert await calls.tier(stub, owner, FRANCE, group) == MISS
        assert await calls.tier(stub, owner, FRANCE_PARAPHRASE, group) == MISS
    expected = MISS if selector == "all" else EXACT
    assert await calls.tier(pair.a, bystander, FRANCE, "other-group") == expected


async def test_stats_count_tiers_and_savings(pair: Pair, calls: Calls) -> None:
    owner = tenant()
    before = await pair.b.Stats(cache_pb2.StatsRequest())
    await calls.store(pair.a, owner)
    await wait_until(
        lambda: hits_on(calls, [pair.b], owner, FRANCE_PARAPHRASE, SEMANTIC), timeout=PROPAGATION, what="propagation"
    )
    await calls.tier(pair.b, owner, FRANCE)
    after = await pair.b.Stats(cache_pb2.StatsRequest())
    assert after.backend == "redis" and after.backend_up and after.semantic_enabled
    assert after.exact_hits - before.exact_hits == 1
    assert after.semantic_hits - before.semantic_hits == 1
    assert after.tokens_saved - before.tokens_saved == 32
    assert after.indexed_entries >= 1


SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


async def store_health(channel: aio.Channel, expected: int) -> bool:
    """Returns whether the replica's store health check (the backend's state) reports expected."""
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=STORE_HEALTH))
    return bool(reply.status == expected)


async def test_a_redis_outage_turns_into_prompt_misses_and_the_replica_recovers(calls: Calls) -> None:
    with throwaway_redis() as server:
        process, target = start_replica(server.url, unique_prefix("cache-outage"))
        try:
            await wait_serving(process, target)
            async with aio_channel(target, "router") as channel:
                stub: Stub = cache_pb2_grpc.CacheServiceStub(channel)  # type: ignore[misc]
                owner = tenant()
                await calls.store(stub, owner)
                assert await calls.tier(stub, owner, FRANCE) == EXACT
                server.stop()
                # Within the router's own lookup deadline: a dead Redis must not make the cache slow.
                for text in (FRANCE, FRANCE_PARAPHRASE):
                    found = await calls.lookup(stub, owner, text, timeout=ROUTER_LOOKUP_TIMEOUT)
                    assert not found.hit
                dropped = await calls.store(stub, owner, GERMANY)
                assert not dropped.stored and "unavailable" in dropped.reason
                stats = await stub.Stats(cache_pb2.StatsRequest(), timeout=ROUTER_LOOKUP_TIMEOUT)
                assert not stats.backend_up and "redis" in stats.backend_detail
                assert await grpcio.check_health(target, identity=identity())
                await wait_until(lambda: store_health(channel, NOT_SERVING), timeout=5, what="store health to show it")
                server.start()

                async def recovered() -> bool:
                    await calls.store(stub, owner)
                    return await calls.tier(stub, owner, FRANCE) == EXACT

                await wait_until(recovered, timeout=10, what="the replica to use Redis again")
                assert (await stub.Stats(cache_pb2.StatsRequest())).backend_up
                await wait_until(lambda: store_health(channel, SERVING), timeout=5, what="store health to recover")
        finally:
            process.stop()


async def test_a_tenant_over_its_memory_bound_loses_its_least_recently_hit_entries(
    redis_url: str, redis_prefix: str
) -> None:
    payload = b"x" * 2000
    size = Entry("k0", "acme", "g", payload).size
    backend = RedisBackend(redis_url, redis_prefix, timeout=2.0, max_tenant_bytes=3 * size)
    removed: list[str] = []

    class Removals(SilentListener):
        def removed(self, keys: object) -> None:
            removed.extend(keys)  # type: ignore[call-overload]

    backend.watch(Removals())
    try:
        await backend.put(Entry("theirs", "globex", "g", payload), 60)
        for key in ("k0", "k1", "k2"):
            assert await backend.put(Entry(key, "acme", "g", payload), 60)
        assert await backend.get("k0") is not None
        await backend.put(Entry("k3", "acme", "g", payload), 60)
        assert await backend.get("k1") is None
        assert removed == ["k1"]
        for key in ("k0", "k2", "k3", "theirs"):
            assert await backend.get(key) is not None, key
        assert await backend.remove(Selector(tenant="acme")) == 3
        assert await backend.get("theirs") is not None
    finally:
        await backend.close()
