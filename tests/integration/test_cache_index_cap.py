"""The cache process's semantic index stays at its cap over a real Redis that holds every entry.

Redis keeps what it is allowed to (per-tenant bytes, TTL); each cache process copies only the
`index_max_entries` most recently stored or hit vectors. Recent entries still hit semantically,
older ones still hit exactly (from Redis), and the metrics report the index at its cap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.services.cache import convert
from switchyard.services.cache.backends.redis import RedisBackend
from switchyard.services.cache.config import CacheSettings
from switchyard.services.cache.fingerprint import cache_request
from switchyard.services.cache.metrics import families
from switchyard.services.cache.server import Models, load_models, new_cache
from switchyard.services.cache.tiers import EXACT, SEMANTIC, TieredCache
from tests.support import wait_until

pytestmark = pytest.mark.redis

CAP = 8
STORED = 20
TOPICS = ("France", "Germany", "Spain", "Italy", "Japan", "Brazil", "Canada", "Egypt", "Kenya", "Peru")


def question(i: int) -> str:
    return f"What is the {'capital' if i < len(TOPICS) else 'largest city'} of {TOPICS[i % len(TOPICS)]}?"


def paraphrase(i: int) -> str:
    return question(i).replace("What is", "What's")


def chat(text: str) -> chat_pb2.ChatRequest:
    turn = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)  # type: ignore[arg-type]
    return chat_pb2.ChatRequest(model="gpt-4o", messages=[turn], temperature=0.0)


def answer() -> chat_pb2.ChatCompletion:
    result = chat_pb2.ChatCompletion(id="chatcmpl-1", model="gpt-4o")
    result.choices.add(index=0, finish_reason=chat_pb2.FINISH_REASON_STOP).message.text = "An answer."
    return result


def metric(cache: TieredCache, name: str) -> float:
    for family in families(cache.stats, cache.status()):
        if family.name == name:
            return float(family.samples[0].value)
    raise AssertionError(f"no metric {name}")


@pytest.fixture(scope="module")
def models() -> Models:
    loaded = load_models()
    assert not isinstance(loaded, str), loaded
    return loaded


async def replica(redis_url: str, prefix: str, models: Models) -> TieredCache:
    settings = CacheSettings(redis_url=redis_url, redis_prefix=prefix, index_max_entries=CAP, redis_timeout=2.0)
    cache = new_cache(settings, models=models)
    backend = cache.backend
    assert isinstance(backend, RedisBackend)
    await backend.start()
    await wait_until(backend.synced.is_set, timeout=10, what="the index loaded from redis")
    return cache


@pytest.fixture
async def writer_and_reader(redis_url: str, redis_prefix: str, models: Models) -> AsyncIterator[list[TieredCache]]:
    caches = [await replica(redis_url, redis_prefix, models) for _ in range(2)]
    try:
        yield caches
    finally:
        for cache in caches:
            await cache.backend.close()


async def test_the_index_stays_at_its_cap_while_redis_keeps_every_entry(
    writer_and_reader: list[TieredCache], redis_url: str, redis_prefix: str, models: Models
) -> None:
    writer, reader = writer_and_reader
    keys = []
    for i in range(STORED):
        stored = await writer.store(cache_request("acme", "gpt-4o", chat(question(i))), convert.completion_of(answer()))
        assert stored.stored, stored.reason
        keys.append(stored.key)
        assert len(writer.semantic.index) == min(i + 1, CAP)  # type: ignore[union-attr]
    index = reader.semantic.index  # type: ignore[union-attr]
    # The other replica hears every store on the change feed, and forgets the oldest past the cap.
    await wait_until(lambda: index.evictions == STORED - CAP, timeout=5, what="the feed delivered every store")
    assert len(index) == CAP
    assert metric(reader, "switchyard_cache_indexed_entries") == CAP
    assert metric(reader, "switchyard_cache_index_max_entries") == CAP
    assert metric(reader, "switchyard_cache_index_evictions") == STORED - CAP
    assert 0 < metric(reader, "switchyard_cache_index_bytes") < CAP * 8 * 1024

    # A recent entry still answers a paraphrase of its question.
    recent = await reader.lookup(cache_request("acme", "gpt-4o", chat(paraphrase(STORED - 1))))
    assert recent.tier == SEMANTIC and recent.payload is not None, recent.reason
    # An evicted one is no candidate here any more, yet Redis still serves it through its exact key.
    oldest = await reader.lookup(cache_request("acme", "gpt-4o", chat(paraphrase(0))))
    assert oldest.payload is None
    exact = await reader.lookup(cache_request("acme", "gpt-4o", chat(question(0))))
    assert exact.tier == EXACT and exact.payload is not None

    # A replica starting now loads only the CAP most recently stored or hit entries (Redis' own order:
    # the exact hit just made the oldest entry recent again), without evicting anything.
    late = await replica(redis_url, redis_prefix, models)
    try:
        late_index = late.semantic.index  # type: ignore[union-attr]
        assert len(late_index) == CAP and late_index.evictions == 0
        assert [key in late_index for key in keys] == [True] + [False] * (STORED - CAP) + [True] * (CAP - 1)
    finally:
        await late.backend.close()
