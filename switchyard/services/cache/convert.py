"""Pure conversions between the cache's protobuf messages and its domain.

The canonical form of a request is its deterministic protobuf encoding with the fields that cannot
change the answer cleared: `stream` and `stream_options` (a streamed and a non-streamed request
share an entry), `user`, `metadata` and `store` (bookkeeping), and `model` (the scope carries the
model group the request resolved to). `n = 1` is the default and is cleared too.
"""

from __future__ import annotations

from switchyard.cache.v1 import cache_pb2
from switchyard.common.v1 import chat_pb2
from switchyard.ml.normalise import exact_text
from switchyard.services.cache.backends import Selector
from switchyard.services.cache.exact import Completion, FinishReason, Scope, StoreResult
from switchyard.services.cache.stats import Stats
from switchyard.services.cache.tiers import EMPTY, INELIGIBLE, SEARCHED, SEMANTIC, SKIPPED, Answer, Status

_FINISH_REASONS = {
    chat_pb2.FINISH_REASON_UNSPECIFIED: FinishReason.UNFINISHED,
    chat_pb2.FINISH_REASON_STOP: FinishReason.STOP,
    chat_pb2.FINISH_REASON_LENGTH: FinishReason.LENGTH,
    chat_pb2.FINISH_REASON_TOOL_CALLS: FinishReason.TOOL_CALLS,
    chat_pb2.FINISH_REASON_CONTENT_FILTER: FinishReason.CONTENT_FILTER,
    chat_pb2.FINISH_REASON_FUNCTION_CALL: FinishReason.FUNCTION_CALL,
}


def scope_of(tenant: str, model_group: str, request: chat_pb2.ChatRequest) -> Scope:
    """Returns the scope of a request; without a model group, the model the client asked for."""
    return Scope(tenant=tenant, model_group=model_group or request.model)


def canonical_request(request: chat_pb2.ChatRequest) -> bytes:
    """Returns the canonical bytes of the parts of a request that determine its answer."""
    canonical = chat_pb2.ChatRequest()
    canonical.CopyFrom(request)
    canonical.ClearField("stream")
    canonical.ClearField("stream_options")
    canonical.ClearField("user")
    canonical.ClearField("metadata")
    canonical.ClearField("store")
    canonical.ClearField("model")
    if canonical.HasField("n") and canonical.n == 1:
        canonical.ClearField("n")
    last = canonical.messages[-1] if canonical.messages else None
    if last is not None and last.role == chat_pb2.ROLE_USER and last.WhichOneof("content") == "text":
        # Spacing and end punctuation of a one-line question never change its answer (normalise.py).
        last.text = exact_text(last.text)
    return canonical.SerializeToString(deterministic=True)


def temperature_of(request: chat_pb2.ChatRequest) -> float | None:
    """Returns the request's sampling temperature, None when the provider default applies."""
    return request.temperature if request.HasField("temperature") else None


def completion_of(completion: chat_pb2.ChatCompletion, cost_usd: float = 0.0, deployment_id: str = "") -> Completion:
    """Returns the cache's view of a completion: finish reasons, serialised bytes, tokens, cost and the
    deployment that produced it."""
    unfinished = FinishReason.UNFINISHED
    reasons = tuple(_FINISH_REASONS.get(choice.finish_reason, unfinished) for choice in completion.choices)
    return Completion(
        finish_reasons=reasons,
        payload=completion.SerializeToString(),
        tokens=completion.usage.total_tokens,
        cost_usd=max(0.0, cost_usd),
        deployment_id=deployment_id,
    )


def selector_of(request: cache_pb2.InvalidateRequest) -> Selector | None:
    """Returns the entries an InvalidateRequest selects, or None when it selects nothing."""
    which = request.WhichOneof("selector")
    if which == "key":
        return Selector(key=request.key)
    if which == "tenant":
        return Selector(tenant=request.tenant)
    if which == "model_group":
        return Selector(model_group=request.model_group)
    if which == "all" and request.all:
        return Selector(everything=True)
    return None


_SEARCHES = {
    SEARCHED: cache_pb2.SEMANTIC_SEARCH_SEARCHED,
    EMPTY: cache_pb2.SEMANTIC_SEARCH_EMPTY,
    INELIGIBLE: cache_pb2.SEMANTIC_SEARCH_INELIGIBLE,
    SKIPPED: cache_pb2.SEMANTIC_SEARCH_SKIPPED,
}


def lookup_response(answer: Answer) -> cache_pb2.LookupResponse:
    """Returns a hit (its tier, similarity and completion) or a miss with its reason, and what the
    semantic tier did."""
    semantic = _SEARCHES.get(answer.semantic, cache_pb2.SEMANTIC_SEARCH_UNSPECIFIED)
    if answer.payload is None:
        return cache_pb2.LookupResponse(hit=False, key=answer.key, reason=answer.reason, semantic=semantic)
    tier = cache_pb2.CACHE_TIER_SEMANTIC if answer.tier == SEMANTIC else cache_pb2.CACHE_TIER_EXACT
    response = cache_pb2.LookupResponse(
        hit=True,
        tier=tier,
        similarity=answer.similarity,
        key=answer.key,
        semantic=semantic,
        deployment_id=answer.deployment_id,
    )
    response.completion.ParseFromString(answer.payload)
    return response


def store_response(result: StoreResult) -> cache_pb2.StoreResponse:
    """Returns the StoreResponse of a store attempt."""
    return cache_pb2.StoreResponse(stored=result.stored, key=result.key, reason=result.reason)


def invalidate_response(removed: int) -> cache_pb2.InvalidateResponse:
    return cache_pb2.InvalidateResponse(removed=removed)


def stats_response(stats: Stats, status: Status) -> cache_pb2.StatsResponse:
    """Returns a replica's counters and the state of what it runs on."""
    response = cache_pb2.StatsResponse(
        lookups=stats.lookups,
        exact_hits=stats.exact_hits,
        semantic_hits=stats.semantic_hits,
        misses=stats.misses,
        guard_rejections=stats.guard_rejections,
        stores=stats.stores,
        refusals=dict(stats.refusals),
        tokens_saved=stats.tokens_saved,
        cost_saved_usd=stats.cost_saved_usd,
        backend=status.backend,
        backend_up=status.health.up,
        backend_detail=status.health.detail,
        semantic_enabled=status.semantic,
        semantic_detail=status.semantic_detail,
        indexed_entries=status.indexed,
        index_bytes=status.index_bytes,
    )
    for lower, upper, count in stats.buckets():
        response.similarity_histogram.add(lower=lower, upper=upper, count=count)
    return response
