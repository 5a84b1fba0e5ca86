"""The cache core: the exact tier first, then the semantic tier, over one backend, with the statistics.

A lookup misses at once for a request sampled hotter than the limit. Otherwise the exact key (the
full canonical request in its scope) is read; on a miss, and when the request is semantically
comparable, the semantic tier searches the request's (tenant, fingerprint) bucket. An empty bucket
costs nothing: the request is only embedded when there is something to compare it with.

Every lookup says what the semantic tier did (`Answer.semantic`): searched, nothing to compare with,
the request is for the exact tier only, or skipped (the tier is off or the store is down). Only the
last is a loss a user would notice; it is counted (`semantic_skipped`) and shown in x-switchyard-cache.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from switchyard.services.cache.backends import CacheBackend, Health, Selector
from switchyard.services.cache.exact import Completion, ExactCache, Policy, Scope, Semantic, StoreResult
from switchyard.services.cache.semantic import Query, SemanticTier
from switchyard.services.cache.stats import Stats

EXACT = "exact"
SEMANTIC = "semantic"
# What the semantic tier did for a lookup (Answer.semantic).
SEARCHED = "searched"
EMPTY = "empty"
INELIGIBLE = "ineligible"
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Request:
    """A request as the cache sees it.

    text is what the semantic tier compares (None: exact tier only), fingerprint what a semantic hit
    must share.
    """

    scope: Scope
    canonical: bytes
    temperature: float | None
    text: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    """A lookup's outcome: the payload on a hit (None on a miss), the tier, similarity and why it missed."""

    key: str
    payload: bytes | None = None
    tier: str = ""
    similarity: float = 0.0
    reason: str = ""
    # semantic: SEARCHED, EMPTY, INELIGIBLE or SKIPPED; "" when the exact tier answered or nothing was looked up.
    semantic: str = ""
    # deployment_id: the deployment that produced a hit's payload ("" when not recorded).
    deployment_id: str = ""


@dataclass(frozen=True, slots=True)
class Status:
    """What the cache runs on right now."""

    backend: str
    health: Health
    semantic: bool
    semantic_detail: str
    indexed: int
    index_bytes: int
    # index_max_entries: the cap on indexed entries (0 without a semantic tier); index_evictions: entries
    # the index forgot for it since start.
    index_max_entries: int = 0
    index_evictions: int = 0


class TieredCache:
    """Exact and semantic tiers over one backend; semantic is None when its models are unavailable or it is off."""

    def __init__(
        self,
        backend: CacheBackend,
        policy: Policy,
        semantic: SemanticTier | None = None,
        semantic_detail: str = "",
        enabled: bool = True,
    ) -> None:
        self.backend = backend
        self.exact = ExactCache(backend, policy)
        self.policy = policy
        self.semantic = semantic
        self.semantic_detail = "" if semantic else semantic_detail or "semantic tier is off"
        self.enabled = enabled
        self.stats = Stats()
        if semantic is not None:
            backend.watch(semantic.listener())

    async def lookup(self, request: Request) -> Answer:
        """Returns the answer stored for the request or for one that means the same, or a miss and why."""
        self.stats.lookups += 1
        if not self.enabled:
            return Answer(key="", reason="the cache is disabled")
        if not self.policy.cacheable(request.temperature):
            return Answer(key="", reason=f"temperature is above the cache limit {self.policy.max_temperature:g}")
        exact = await self.exact.lookup(request.scope, request.canonical, request.temperature)
        if exact.payload is not None:
            if self.semantic is not None:
                # Hit through the exact key, the entry is as recent for the index's cap as for the store's.
                self.semantic.index.touch(exact.key)
            self.stats.hit(False, exact.tokens, exact.cost_usd)
            return Answer(
                key=exact.key, payload=exact.payload, tier=EXACT, similarity=1.0, deployment_id=exact.deployment_id
            )
        health = self.backend.health()
        if not health.up:
            skipped = SKIPPED if request.text is not None else INELIGIBLE
            if skipped == SKIPPED:
                self.stats.semantic_skipped += 1
            return Answer(key=exact.key, reason=f"cache store unavailable: {health.detail}", semantic=skipped)
        return await self._semantic_lookup(request, exact.key)

    async def store(self, request: Request, completion: Completion, ttl_s: float | None = None) -> StoreResult:
        """Stores a complete, successful completion for the request (and, when comparable, for similar ones)."""
        if not self.enabled:
            return self._refused(StoreResult(stored=False, kind="disabled", reason="the cache is disabled"))
        refusal = self.policy.refusal_kind(completion, request.temperature)
        if refusal is not None:
            return self._refused(StoreResult(stored=False, kind=refusal[0], reason=refusal[1]))
        health = self.backend.health()
        if not health.up:
            reason = f"the cache store is unavailable: {health.detail}"
            return self._refused(StoreResult(stored=False, kind="unavailable", reason=reason))
        semantic = None
        if self.semantic is not None and request.text is not None:
            vector = self.semantic.vector(request.text)
            if vector is not None:
                semantic = Semantic(request.fingerprint, request.text, vector.astype(np.float32).tobytes())
        result = await self.exact.store(
            request.scope, request.canonical, request.temperature, completion, ttl_s=ttl_s, semantic=semantic
        )
        if not result.stored:
            return self._refused(result)
        self.stats.stores += 1
        return result

    async def invalidate(self, selector: Selector) -> int:
        """Removes the selected entries everywhere and returns how many were removed."""
        return await self.exact.invalidate(selector)

    async def sweep(self, every: float = 10.0) -> None:
        """Drops expired vectors from the index every `every` seconds; runs until cancelled."""
        while True:
            await asyncio.sleep(every)
            if self.semantic is not None:
                self.semantic.index.sweep(self.backend.now())

    def status(self) -> Status:
        index = self.semantic.index if self.semantic else None
        return Status(
            backend=self.backend.kind,
            health=self.backend.health(),
            semantic=self.semantic is not None,
            semantic_detail=self.semantic_detail,
            indexed=len(index) if index is not None else 0,
            index_bytes=index.nbytes() if index is not None else 0,
            index_max_entries=index.max_entries if index is not None else 0,
            index_evictions=index.evictions if index is not None else 0,
        )

    async def _semantic_lookup(self, request: Request, key: str) -> Answer:
        tier, text = self.semantic, request.text
        if text is None:
            return Answer(key=key, reason="no exact match (exact tier only for this request)", semantic=INELIGIBLE)
        if tier is None:
            self.stats.semantic_skipped += 1
            return Answer(key=key, reason=f"no exact match ({self.semantic_detail})", semantic=SKIPPED)
        scope = request.scope
        if not tier.has_candidates(scope.tenant, request.fingerprint):
            return Answer(key=key, reason="no exact match and no semantic candidates", semantic=EMPTY)
        vector = tier.vector(text)
        if vector is None:
            return Answer(key=key, reason="no exact match; no known word to compare", semantic=EMPTY)
        query = Query(scope.tenant, scope.model_group, request.fingerprint, text, vector)
        found = await tier.find(query, self.exact.get, self.backend.now())
        self.stats.guard_rejections += found.rejections
        if found.similarity is not None:
            self.stats.similarity(found.similarity)
        if found.entry is None or found.similarity is None:
            return Answer(key=key, reason=found.reason, semantic=SEARCHED)
        entry = found.entry
        self.stats.hit(True, entry.tokens, entry.cost_usd)
        return Answer(
            key=entry.key,
            payload=entry.payload,
            tier=SEMANTIC,
            similarity=found.similarity,
            semantic=SEARCHED,
            deployment_id=entry.deployment_id,
        )

    def _refused(self, result: StoreResult) -> StoreResult:
        self.stats.refused(result.kind or "other")
        return result
