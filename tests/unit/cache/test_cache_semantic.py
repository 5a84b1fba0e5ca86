"""The semantic tier: fingerprints, the vector index, per-tenant bounds, the tiers together, and the cache config."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.config import parse_config
from switchyard.services.cache import convert
from switchyard.services.cache.backends import Entry, Selector
from switchyard.services.cache.backends.memory import MemoryBackend
from switchyard.services.cache.config import CacheSettings
from switchyard.services.cache.fingerprint import (
    DETERMINISTIC,
    SAMPLED,
    cache_request,
    comparable_text,
    fingerprint,
    sampling_class,
)
from switchyard.services.cache.index import SKETCH_DIM, VectorIndex
from switchyard.services.cache.server import Models, load_models, new_cache
from switchyard.services.cache.tiers import EMPTY, EXACT, INELIGIBLE, SEARCHED, SEMANTIC, SKIPPED, TieredCache

FRANCE = "What is the capital of France?"
FRANCE_PARAPHRASE = "What's the capital of France?"
GERMANY = "What is the capital of Germany?"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def message(role: int, text: str) -> chat_pb2.ChatMessage:
    return chat_pb2.ChatMessage(role=role, text=text)  # type: ignore[arg-type]


def chat(text: str = FRANCE, earlier: tuple[str, ...] = (), **fields: object) -> chat_pb2.ChatRequest:
    """A request whose earlier turns alternate user/assistant, ending with a user turn of text."""
    fields.setdefault("temperature", 0.0)
    turns = [message(chat_pb2.ROLE_USER if i % 2 == 0 else chat_pb2.ROLE_ASSISTANT, t) for i, t in enumerate(earlier)]
    turns.append(message(chat_pb2.ROLE_USER, text))
    return chat_pb2.ChatRequest(model="gpt-4o", messages=turns, **fields)  # type: ignore[arg-type]


def answer(content: str = "Paris.", tokens: int = 16) -> chat_pb2.ChatCompletion:
    result = chat_pb2.ChatCompletion(id="chatcmpl-1", model="gpt-4o")
    result.choices.add(index=0, finish_reason=chat_pb2.FINISH_REASON_STOP).message.text = content
    result.usage.total_tokens = tokens
    return result


# Fingerprints -----------------------------------------------------------------------------------


def test_sampling_classes() -> None:
    assert sampling_class(chat(temperature=0.0, seed=3)) == DETERMINISTIC
    assert sampling_class(chat(temperature=0.7, seed=3)) == "seeded:3"
    assert sampling_class(chat(temperature=0.7)) == SAMPLED
    unset = chat()
    unset.ClearField("temperature")
    assert sampling_class(unset) == SAMPLED


def test_the_fingerprint_ignores_the_last_user_turn_and_the_sampled_temperature_value() -> None:
    base = fingerprint("gpt-4o", chat(FRANCE))
    assert fingerprint("gpt-4o", chat(GERMANY)) == base
    assert fingerprint("gpt-4o", chat(temperature=0.3)) == fingerprint("gpt-4o", chat(temperature=0.8))


def test_the_identifiers_of_the_last_turn_split_the_fingerprint_and_plain_words_do_not() -> None:
    plain = fingerprint("gpt-4o", chat(FRANCE))
    assert fingerprint("gpt-4o", chat(FRANCE), "what is the capital of france") == plain
    order = fingerprint("gpt-4o", chat(), "where is order a12b")
    assert order == fingerprint("gpt-4o", chat(), "where's my order A12B now") != plain
    assert fingerprint("gpt-4o", chat(), "where is order a12c") != order


def test_everything_else_that_shapes_the_answer_splits_the_fingerprint() -> None:
    base = fingerprint("gpt-4o", chat())
    with_system = chat()
    with_system.messages.insert(0, message(chat_pb2.ROLE_SYSTEM, "Answer in French."))
    with_tools = chat()
    with_tools.tools.add(type="function").function.name = "lookup"
    with_format = chat()
    with_format.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT
    variants = {
        "group": fingerprint("claude", chat()),
        "system prompt": fingerprint("gpt-4o", with_system),
        "tools": fingerprint("gpt-4o", with_tools),
        "response_format": fingerprint("gpt-4o", with_format),
        "sampling class": fingerprint("gpt-4o", chat(temperature=0.5)),
        "n": fingerprint("gpt-4o", chat(n=2)),
        "max_tokens": fingerprint("gpt-4o", chat(max_tokens=5)),
        "earlier turns": fingerprint("gpt-4o", chat(earlier=("Hi", "Hello!"))),
    }
    assert base not in variants.values()
    assert len(set(variants.values())) == len(variants)


def test_only_a_last_user_turn_of_text_is_compared_by_meaning() -> None:
    # The compared text is normalised as the cache normalises it (switchyard.ml.normalise).
    assert comparable_text(chat(FRANCE)) == "What is the capital of France"
    assert comparable_text(chat("Could you please tell me what's the capital of France? Thanks!")) == (
        "what is the capital of France"
    )
    tool_last = chat()
    tool_last.messages.add(role=chat_pb2.ROLE_TOOL, text="42", tool_call_id="call_1")
    assert comparable_text(tool_last) is None
    with_image = chat()
    parts = with_image.messages[-1].parts.parts
    parts.add().text.text = "What is in this picture?"
    parts.add().image_url.url = "https://example.org/cat.png"
    assert comparable_text(with_image) is None
    # A long document is for the exact tier: two that share most of their words would look alike.
    assert comparable_text(chat("Summarise this report: " + "word " * 400)) is None
    assert cache_request("acme", "gpt-4o", with_image).fingerprint == ""


# The vector index --------------------------------------------------------------------------------


def unit(rng: np.random.Generator, count: int, dim: int = 32) -> np.ndarray:
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def near(vector: np.ndarray, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    moved = vector + noise * rng.standard_normal(vector.shape).astype(np.float32)
    return (moved / np.linalg.norm(moved)).astype(np.float32)


def test_the_index_finds_the_nearest_vector_of_the_bucket_only() -> None:
    rng = np.random.default_rng(1)
    index = VectorIndex(dim=32)
    vectors = unit(rng, 50)
    for i, vector in enumerate(vectors):
        index.add("acme", "fp", f"k{i}", vector, expires_at=100.0)
    index.add("globex", "fp", "theirs", vectors[7], expires_at=100.0)
    found = index.search("acme", "fp", near(vectors[7], rng), k=3, now=0.0)
    assert found[0].key == "k7" and found[0].similarity > 0.9
    assert [c.similarity for c in found] == sorted((c.similarity for c in found), reverse=True)
    assert index.search("acme", "other", vectors[7], k=3, now=0.0) == []
    assert [c.key for c in index.search("globex", "fp", vectors[7], k=3, now=0.0)] == ["theirs"]


def test_removed_expired_and_cleared_vectors_are_not_proposed() -> None:
    rng = np.random.default_rng(2)
    index = VectorIndex(dim=32)
    a, b, c = unit(rng, 3)
    index.add("acme", "fp", "a", a, expires_at=100.0)
    index.add("acme", "fp", "b", b, expires_at=10.0)
    index.add("globex", "fp", "c", c, expires_at=100.0)
    assert index.search("acme", "fp", b, k=1, now=0.0)[0].key == "b"
    assert all(found.key != "b" for found in index.search("acme", "fp", b, k=5, now=10.0))
    assert index.sweep(now=10.0) == 1 and index.size("acme", "fp") == 1
    index.remove(["a"])
    assert all(found.key != "a" for found in index.search("acme", "fp", a, k=5, now=0.0))
    index.clear("acme")
    assert index.size("acme", "fp") == 0 and len(index) == 1
    index.clear()
    assert len(index) == 0


async def test_a_large_bucket_is_split_into_cells_and_still_finds_near_duplicates() -> None:
    rng = np.random.default_rng(3)
    index = VectorIndex(dim=32, exact_limit=500)
    # Clustered data, like sentence embeddings: 40 topics with variations around each.
    topics = unit(rng, 40)
    vectors = np.stack([near(topics[i % 40], rng, noise=0.3) for i in range(2000)])
    for i, vector in enumerate(vectors):
        index.add("acme", "fp", f"k{i}", vector, expires_at=100.0)
    await index.settle()
    index.remove(["k5"])
    probes = range(0, 2000, 37)
    found = [index.search("acme", "fp", near(vectors[i], rng, noise=0.02), k=1, now=0.0) for i in probes]
    recall = sum(bool(hit) and hit[0].key == f"k{i}" for i, hit in zip(probes, found, strict=True)) / len(found)
    assert recall >= 0.95
    assert all(hit.key != "k5" for hit in index.search("acme", "fp", vectors[5], k=3, now=0.0))
    assert index.size("acme", "fp") == 1999


async def test_a_split_bucket_scans_sketches_yet_reports_exact_similarities() -> None:
    rng = np.random.default_rng(4)
    # Wider than the sketches, so the first pass of a search reads projections, not the vectors.
    dim = 2 * SKETCH_DIM
    index = VectorIndex(dim=dim, exact_limit=300)
    topics = unit(rng, 20, dim)
    vectors = np.stack([near(topics[i % 20], rng, noise=0.1) for i in range(1200)])
    for i, vector in enumerate(vectors):
        index.add("acme", "fp", f"k{i}", vector, expires_at=100.0)
    await index.settle()
    query = near(vectors[42], rng, noise=0.02)
    found = index.search("acme", "fp", query, k=3, now=0.0)
    assert found[0].key == "k42"
    exact = {f"k{i}": float(vector @ query) for i, vector in enumerate(vectors)}
    assert [c.similarity for c in found] == pytest.approx([exact[c.key] for c in found], abs=1e-5)
    assert [c.key for c in found] == sorted(exact, key=exact.__getitem__, reverse=True)[:3]


# Per-tenant memory bound -------------------------------------------------------------------------


async def test_a_tenant_over_its_memory_bound_loses_its_least_recently_used_entries_only() -> None:
    payload = b"x" * 1000
    size = Entry("k0", "acme", "g", payload).size
    backend = MemoryBackend(max_entries=100, clock=Clock(), max_tenant_bytes=3 * size)
    await backend.put(Entry("theirs", "globex", "g", payload), 60)
    for key in ("k0", "k1", "k2"):
        await backend.put(Entry(key, "acme", "g", payload), 60)
    assert await backend.get("k0") is not None
    await backend.put(Entry("k3", "acme", "g", payload), 60)
    assert await backend.get("k1") is None
    assert all([await backend.get(k) for k in ("k0", "k2", "k3", "theirs")])
    assert backend.tenant_bytes("acme") <= 3 * size


# The tiers together, with the real embedding model and near-miss guard -----------------------------


@pytest.fixture(scope="module")
def models() -> Models:
    loaded = load_models()
    assert isinstance(loaded, Models), loaded
    return loaded


def tiered(models: Models, clock: Clock | None = None, **settings: object) -> TieredCache:
    return new_cache(CacheSettings(**settings), clock or Clock(), models)  # type: ignore[arg-type]


async def put(cache: TieredCache, request: chat_pb2.ChatRequest, tenant: str = "acme", ttl: float | None = None) -> str:
    stored = await cache.store(
        cache_request(tenant, "gpt-4o", request), convert.completion_of(answer(), 0.002), ttl_s=ttl
    )
    assert stored.stored, stored.reason
    return stored.key


async def get(cache: TieredCache, request: chat_pb2.ChatRequest, tenant: str = "acme") -> tuple[str, str]:
    found = await cache.lookup(cache_request(tenant, "gpt-4o", request))
    return found.tier, found.reason


async def test_a_paraphrase_hits_the_semantic_tier_and_a_near_miss_does_not(models: Models) -> None:
    cache = tiered(models)
    await put(cache, chat(FRANCE))
    assert (await get(cache, chat(FRANCE)))[0] == EXACT
    assert (await get(cache, chat(FRANCE_PARAPHRASE)))[0] == SEMANTIC
    tier, reason = await get(cache, chat(GERMANY))
    assert tier == "" and reason
    stats = cache.stats
    assert (stats.exact_hits, stats.semantic_hits, stats.misses) == (1, 1, 1)
    assert stats.tokens_saved == 32 and stats.cost_saved_usd == pytest.approx(0.004)
    assert sum(stats.histogram) == 2


async def test_a_question_naming_an_id_meets_only_the_entries_naming_it(models: Models) -> None:
    # However many entries ask the same about other orders, a reworded question about one order finds
    # the entry about that order (they do not crowd its candidates), and one about a new order has
    # nothing to compare with (no search at all).
    cache = tiered(models)
    for order in range(300):
        await put(cache, chat(f"Where is my order A{order:04d}X right now?"))
    assert (await get(cache, chat("Where's my order A0042X right now?")))[0] == SEMANTIC
    fresh = await cache.lookup(cache_request("acme", "gpt-4o", chat("Where is my order B7777Y right now?")))
    assert (fresh.tier, fresh.semantic) == ("", EMPTY)


async def test_semantic_hits_stay_inside_the_tenant_and_the_conversation(models: Models) -> None:
    cache = tiered(models)
    await put(cache, chat(FRANCE, earlier=("I am planning a trip.", "Where to?")))
    assert (await get(cache, chat(FRANCE_PARAPHRASE, earlier=("I am planning a trip.", "Where to?"))))[0] == SEMANTIC
    assert (await get(cache, chat(FRANCE_PARAPHRASE, earlier=("I am writing an essay.", "On what?"))))[0] == ""
    assert (await get(cache, chat(FRANCE_PARAPHRASE)))[0] == ""
    assert (await get(cache, chat(FRANCE_PARAPHRASE, earlier=("I am planning a trip.", "Where to?")), "globex"))[
        0
    ] == ""


async def test_a_per_group_threshold_overrides_the_default(models: Models) -> None:
    strict = tiered(models, thresholds={"gpt-4o": 0.999})
    await put(strict, chat(FRANCE))
    tier, reason = await get(strict, chat("Which city is the capital of France?"))
    assert tier == "" and "0.999" in reason


async def test_another_temperature_of_the_same_sampling_class_is_served_but_not_another_class(models: Models) -> None:
    cache = tiered(models)
    await put(cache, chat(FRANCE, temperature=0.3))
    assert (await get(cache, chat(FRANCE, temperature=0.6)))[0] == SEMANTIC
    assert (await get(cache, chat(FRANCE, temperature=0.0)))[0] == ""
    assert (await get(cache, chat(FRANCE, temperature=0.6, seed=1)))[0] == ""


async def test_hot_requests_are_neither_served_nor_stored(models: Models) -> None:
    cache = tiered(models, max_temperature=0.7)
    hot = chat(FRANCE, temperature=0.9)
    refused = await cache.store(cache_request("acme", "gpt-4o", hot), convert.completion_of(answer()))
    assert not refused.stored and refused.kind == "temperature"
    await put(cache, chat(FRANCE, temperature=0.5))
    assert (await get(cache, chat(FRANCE, temperature=0.5)))[0] == EXACT
    assert (await get(cache, chat(FRANCE, temperature=0.9)))[0] == ""
    assert cache.stats.refusals["temperature"] == 1


async def test_expired_and_invalidated_entries_are_never_served_semantically(models: Models) -> None:
    clock = Clock()
    cache = tiered(models, clock)
    await put(cache, chat(FRANCE), ttl=5)
    clock.now += 5
    assert (await get(cache, chat(FRANCE_PARAPHRASE)))[0] == ""
    key = await put(cache, chat(FRANCE))
    assert (await get(cache, chat(FRANCE_PARAPHRASE)))[0] == SEMANTIC
    assert await cache.invalidate(Selector(key=key)) == 1
    assert (await get(cache, chat(FRANCE_PARAPHRASE)))[0] == ""


async def test_without_models_the_exact_tier_still_serves() -> None:
    cache = new_cache(CacheSettings(), Clock(), "semantic tier off: the model is not installed")
    await put(cache, chat(FRANCE))
    assert (await get(cache, chat(FRANCE)))[0] == EXACT
    assert (await get(cache, chat(FRANCE_PARAPHRASE)))[0] == ""
    assert "not installed" in cache.status().semantic_detail


async def test_a_burst_of_lookups_all_search_the_semantic_tier(models: Models) -> None:
    cache = tiered(models)
    await put(cache, chat(FRANCE))
    paraphrases = ["what's the capital of France", "What is the capital of France, please?", FRANCE_PARAPHRASE]
    found = await asyncio.gather(*(cache.lookup(cache_request("acme", "gpt-4o", chat(t))) for t in paraphrases * 20))
    # Every lookup was embedded and searched on the spot: nothing waits for an embedder, nothing is skipped.
    assert {answer.tier for answer in found} == {SEMANTIC}
    assert {answer.semantic for answer in found} == {SEARCHED}
    assert cache.stats.semantic_skipped == 0


async def test_a_lookup_says_what_the_semantic_tier_did(models: Models) -> None:
    cache = tiered(models)
    assert (await cache.lookup(cache_request("acme", "gpt-4o", chat(FRANCE)))).semantic == EMPTY
    await put(cache, chat(FRANCE))
    assert (await cache.lookup(cache_request("acme", "gpt-4o", chat(GERMANY)))).semantic == SEARCHED
    tool_last = chat()
    tool_last.messages.add(role=chat_pb2.ROLE_TOOL, text="42", tool_call_id="call_1")
    assert (await cache.lookup(cache_request("acme", "gpt-4o", tool_last))).semantic == INELIGIBLE
    off = new_cache(CacheSettings(semantic=False), Clock(), models)
    skipped = await off.lookup(cache_request("acme", "gpt-4o", chat(FRANCE)))
    assert skipped.semantic == SKIPPED and off.stats.semantic_skipped == 1


# Configuration -----------------------------------------------------------------------------------

MODELS = """
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o}
"""


def settings_from(yaml_text: str, environ: dict[str, str] | None = None, **explicit: object) -> CacheSettings:
    config = parse_config(MODELS + yaml_text)
    return CacheSettings(**explicit).with_config(config, environ or {})  # type: ignore[arg-type]


def test_a_config_that_says_nothing_gets_both_tiers_in_memory() -> None:
    settings = settings_from("")
    assert settings.enabled and settings.semantic and settings.semantic_threshold is None
    assert not settings.uses_redis()


def test_litellm_cache_params_are_read_where_they_mean_the_same() -> None:
    settings = settings_from(
        """
litellm_settings:
  cache: true
  cache_params:
    type: redis
    host: redis.internal
    port: 6380
    password: os.environ/REDIS_PASSWORD
    ttl: 120
    similarity_threshold: 0.9
    namespace: team-a
""",
        {"REDIS_PASSWORD": "s3cret"},
    )
    assert settings.uses_redis() and settings.redis_url == "redis://:s3cret@redis.internal:6380/0"
    assert settings.ttl_seconds == 120 and settings.semantic_threshold == 0.9
    assert settings.redis_prefix == "team-a:"
    assert not settings_from("litellm_settings: {cache: false}").enabled


def test_switchyard_section_wins_over_litellm_and_the_environment_wins_over_both() -> None:
    text = """
litellm_settings:
  cache_params: {type: redis, redis_url: "redis://a:6379/0", ttl: 120, similarity_threshold: 0.9}
switchyard:
  redis_url: redis://shared:6379/0
  cache:
    ttl_seconds: 60
    semantic_threshold: 0.95
    thresholds: {gpt-4o: 0.97}
    max_tenant_bytes: 1000000
"""
    settings = settings_from(text)
    assert settings.ttl_seconds == 60 and settings.semantic_threshold == 0.95
    assert settings.thresholds == {"gpt-4o": 0.97} and settings.max_tenant_bytes == 1_000_000
    assert settings.redis_url == "redis://a:6379/0"
    assert settings_from(text, ttl_seconds=5).ttl_seconds == 5
    assert settings_from("switchyard: {redis_url: 'redis://shared:6379/0'}").redis_url == "redis://shared:6379/0"
    assert not settings_from("switchyard: {redis_url: 'redis://s:6379/0', cache: {backend: memory}}").uses_redis()


def test_a_bad_cache_section_is_rejected_naming_the_field() -> None:
    from switchyard.config import ConfigError

    with pytest.raises(ConfigError, match="semantic_threshold"):
        parse_config(MODELS + "switchyard: {cache: {semantic_threshold: 1.5}}")
    with pytest.raises(ConfigError, match="nonsense"):
        parse_config(MODELS + "switchyard: {cache: {nonsense: 1}}")


def test_the_default_yaml_keeps_the_cache_on() -> None:
    from switchyard.config import load_config

    settings = CacheSettings().with_config(load_config(None), {})
    assert settings.enabled and settings.semantic
