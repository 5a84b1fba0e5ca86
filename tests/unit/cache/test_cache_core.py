"""The cache core: keys, the store policy, the exact tier and the in-memory backend."""

from __future__ import annotations

from switchyard.common.v1 import chat_pb2
from switchyard.services.cache import convert
from switchyard.services.cache.backends import Entry, Selector
from switchyard.services.cache.backends.memory import MemoryBackend
from switchyard.services.cache.exact import Completion, ExactCache, FinishReason, Policy, Scope, exact_key

ACME = Scope("acme", "gpt-4o")
GLOBEX = Scope("globex", "gpt-4o")
DONE = Completion(finish_reasons=(FinishReason.STOP,), payload=b"completion bytes")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(text: str = "What is 2+2?", **fields: object) -> chat_pb2.ChatRequest:
    message = chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text)
    return chat_pb2.ChatRequest(model="gpt-4o", messages=[message], **fields)  # type: ignore[arg-type]


def new_cache(clock: Clock | None = None, max_entries: int = 100, **policy: object) -> ExactCache:
    return ExactCache(MemoryBackend(max_entries, clock or Clock()), Policy(**policy))  # type: ignore[arg-type]


def test_streaming_and_bookkeeping_fields_do_not_change_the_canonical_request() -> None:
    plain = request(temperature=0.0)
    noisy = request(temperature=0.0, stream=True, user="u-42", store=True, n=1)
    noisy.stream_options.include_usage = True
    noisy.metadata["trace"] = "abc"
    assert convert.canonical_request(noisy) == convert.canonical_request(plain)


def test_fields_that_change_the_answer_change_the_canonical_request() -> None:
    base = convert.canonical_request(request(temperature=0.0))
    variants = [
        request("What is 2+3?", temperature=0.0),
        request(temperature=0.5),
        request(temperature=0.0, seed=7),
        request(temperature=0.0, max_tokens=10),
        request(temperature=0.0, stop=["\n"]),
        request(temperature=0.0, n=2),
        request(temperature=0.0, top_p=0.9),
    ]
    with_tools = request(temperature=0.0)
    with_tools.tools.add(type="function").function.name = "calculator"
    variants.append(with_tools)
    with_format = request(temperature=0.0)
    with_format.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT
    variants.append(with_format)
    canonicals = {convert.canonical_request(variant) for variant in variants}
    assert len(canonicals) == len(variants)
    assert base not in canonicals


def test_map_order_does_not_change_the_canonical_request() -> None:
    first, second = request(), request()
    first.logit_bias["50256"], first.logit_bias["198"] = -100.0, 5.0
    second.logit_bias["198"], second.logit_bias["50256"] = 5.0, -100.0
    assert convert.canonical_request(first) == convert.canonical_request(second)


def test_keys_separate_tenants_and_groups_even_when_names_run_together() -> None:
    canonical = b"same request"
    keys = {
        exact_key(Scope("ab", "c"), canonical),
        exact_key(Scope("a", "bc"), canonical),
        exact_key(Scope("ab", "d"), canonical),
        exact_key(Scope("x", "c"), canonical),
    }
    assert len(keys) == 4


async def test_a_stored_completion_is_served_to_the_same_tenant_only() -> None:
    cache = new_cache()
    stored = await cache.store(ACME, b"req", None, DONE)
    assert stored.stored
    hit = await cache.lookup(ACME, b"req", None)
    assert hit.hit and hit.payload == DONE.payload and hit.key == stored.key
    assert not (await cache.lookup(GLOBEX, b"req", None)).hit
    assert not (await cache.lookup(Scope("acme", "claude"), b"req", None)).hit
    assert not (await cache.lookup(ACME, b"other", None)).hit


async def test_only_complete_successful_completions_are_stored() -> None:
    cache = new_cache()
    refused = {
        "no choices": Completion((), b"x"),
        "tool calls": Completion((FinishReason.STOP, FinishReason.TOOL_CALLS), b"x"),
        "content filter": Completion((FinishReason.CONTENT_FILTER,), b"x"),
        "unfinished": Completion((FinishReason.UNFINISHED,), b"x"),
    }
    for name, completion in refused.items():
        result = await cache.store(ACME, name.encode(), None, completion)
        assert not result.stored and result.reason, name
        assert not (await cache.lookup(ACME, name.encode(), None)).hit
    truncated = Completion((FinishReason.LENGTH,), b"x")
    assert (await cache.store(ACME, b"long", None, truncated)).stored


async def test_tool_calls_are_stored_when_allowed_but_content_filter_never() -> None:
    cache = new_cache(store_tool_calls=True)
    assert (await cache.store(ACME, b"a", None, Completion((FinishReason.TOOL_CALLS,), b"x"))).stored
    assert not (await cache.store(ACME, b"b", None, Completion((FinishReason.CONTENT_FILTER,), b"x"))).stored


async def test_hot_requests_are_neither_stored_nor_served() -> None:
    cache = new_cache(max_temperature=0.7)
    refused = await cache.store(ACME, b"req", 0.9, DONE)
    assert not refused.stored and "temperature" in refused.reason
    assert (await cache.store(ACME, b"req", 0.7, DONE)).stored
    assert (await cache.lookup(ACME, b"req", 0.7)).hit
    assert not (await cache.lookup(ACME, b"req", 0.9)).hit


async def test_oversized_completions_are_not_stored() -> None:
    cache = new_cache(max_entry_bytes=10)
    result = await cache.store(ACME, b"req", None, Completion((FinishReason.STOP,), b"x" * 11))
    assert not result.stored and "bytes" in result.reason


async def test_entries_expire_after_the_default_or_requested_ttl() -> None:
    clock = Clock()
    cache = new_cache(clock, default_ttl_s=60.0)
    await cache.store(ACME, b"default", None, DONE)
    await cache.store(ACME, b"short", None, DONE, ttl_s=5)
    clock.now += 5
    assert not (await cache.lookup(ACME, b"short", None)).hit
    assert (await cache.lookup(ACME, b"default", None)).hit
    clock.now += 55
    assert not (await cache.lookup(ACME, b"default", None)).hit


async def test_the_least_recently_used_entry_is_evicted_first() -> None:
    backend = MemoryBackend(max_entries=2, clock=Clock())
    for key in ("a", "b"):
        await backend.put(Entry(key, "t", "g", key.encode()), 60)
    assert await backend.get("a") is not None
    await backend.put(Entry("c", "t", "g", b"c"), 60)
    assert len(backend) == 2
    assert await backend.get("b") is None
    assert await backend.get("a") is not None
    assert await backend.get("c") is not None


async def test_invalidate_by_key_tenant_group_or_all_counts_live_entries() -> None:
    clock = Clock()
    cache = new_cache(clock)
    acme = await cache.store(ACME, b"1", None, DONE)
    await cache.store(ACME, b"2", None, DONE)
    await cache.store(GLOBEX, b"1", None, DONE)
    await cache.store(Scope("globex", "claude"), b"1", None, DONE)
    assert await cache.invalidate(Selector(key=acme.key)) == 1
    assert await cache.invalidate(Selector(key=acme.key)) == 0
    assert await cache.invalidate(Selector(tenant="acme")) == 1
    assert await cache.invalidate(Selector(model_group="gpt-4o")) == 1
    await cache.store(ACME, b"3", None, DONE, ttl_s=1)
    clock.now += 2
    assert await cache.invalidate(Selector(everything=True)) == 1
    assert not (await cache.lookup(Scope("globex", "claude"), b"1", None)).hit


async def test_refusals_name_their_kind_and_an_entry_above_the_tenant_bound_is_refused() -> None:
    cache = new_cache(max_tenant_bytes=1000)
    too_big = Completion((FinishReason.STOP,), b"x" * 900)
    refused = await cache.store(ACME, b"req", None, too_big)
    assert not refused.stored and refused.kind == "too_large" and "tenant bound" in refused.reason
    hot = await cache.store(ACME, b"req", 5.0, DONE)
    assert hot.kind == "temperature"
    assert (await cache.store(ACME, b"req", None, DONE)).stored
