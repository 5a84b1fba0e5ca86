"""The exact-match cache tier: the same request in the same scope gets the same stored completion.

A key is sha256 over the scope (tenant and model group, length-prefixed so no two scopes can run
together) and the canonical bytes of the request (see convert.canonical_request). Only complete,
successful completions are stored, and requests sampled hotter than the configured limit are
neither served nor stored: at high temperature a repeated answer is not what the caller asked for.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
from dataclasses import dataclass

from switchyard.services.cache.backends import CacheBackend, Entry, Selector

# Hashing releases the GIL, so hashing a huge request in a worker thread keeps the loop serving.
_OFFLOAD_HASH_BYTES = 1024 * 1024


class FinishReason(enum.Enum):
    """Why a choice of a completion stopped; UNFINISHED means it did not."""

    UNFINISHED = "unfinished"
    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    FUNCTION_CALL = "function_call"


_COMPLETE = frozenset({FinishReason.STOP, FinishReason.LENGTH})
_TOOL_CALLS = frozenset({FinishReason.TOOL_CALLS, FinishReason.FUNCTION_CALL})


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an entry is visible: one tenant's requests resolved to one model group."""

    tenant: str
    model_group: str


@dataclass(frozen=True, slots=True)
class Completion:
    """A completion as the cache sees it: why each choice stopped, its serialised form, and its usage."""

    finish_reasons: tuple[FinishReason, ...]
    payload: bytes
    # tokens and cost_usd are what producing it took: what each hit on it saves.
    tokens: int = 0
    cost_usd: float = 0.0
    # deployment_id: the deployment that produced it, returned with every hit.
    deployment_id: str = ""


@dataclass(frozen=True, slots=True)
class Semantic:
    """What makes an entry findable by the semantic tier: fingerprint, compared text and its embedding."""

    fingerprint: str
    text: str
    vector: bytes


@dataclass(frozen=True, slots=True)
class Policy:
    """What may be stored and for how long."""

    default_ttl_s: float = 3600.0
    # max_temperature: requests sampled above it are neither served from nor stored in the cache.
    max_temperature: float = 1.0
    store_tool_calls: bool = False
    max_entry_bytes: int = 1024 * 1024
    # max_tenant_bytes: an entry larger than a tenant's whole bound is not stored (None: no bound).
    max_tenant_bytes: int | None = None

    def cacheable(self, temperature: float | None) -> bool:
        """Returns whether a request sampled at temperature (None: provider default) may be cached."""
        return temperature is None or temperature <= self.max_temperature

    def refusal(self, completion: Completion, temperature: float | None) -> str | None:
        """Returns why completion must not be stored, or None when it may be."""
        found = self.refusal_kind(completion, temperature)
        return None if found is None else found[1]

    def refusal_kind(self, completion: Completion, temperature: float | None) -> tuple[str, str] | None:
        """Returns (kind, reason) of a refusal to store completion, or None when it may be stored."""
        if not self.cacheable(temperature):
            return "temperature", f"temperature {temperature:g} is above the cache limit {self.max_temperature:g}"
        if not completion.finish_reasons:
            return "no_choices", "completion has no choices"
        allowed = _COMPLETE | _TOOL_CALLS if self.store_tool_calls else _COMPLETE
        for reason in completion.finish_reasons:
            if reason not in allowed:
                return "finish_reason", f"a choice finished with {reason.value}"
        if len(completion.payload) > self.max_entry_bytes:
            size = len(completion.payload)
            return "too_large", f"completion is {size} bytes, above the limit of {self.max_entry_bytes}"
        return None


@dataclass(frozen=True, slots=True)
class LookupResult:
    """The key a request maps to and the stored completion payload, None on a miss."""

    key: str
    payload: bytes | None
    tokens: int = 0
    cost_usd: float = 0.0
    deployment_id: str = ""

    @property
    def hit(self) -> bool:
        return self.payload is not None


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Whether a completion was stored, under which key, or why not."""

    stored: bool
    key: str = ""
    reason: str = ""
    # kind names the class of a refusal (temperature, finish_reason, too_large, unavailable, ...).
    kind: str = ""


def exact_key(scope: Scope, canonical: bytes) -> str:
    """Returns the hex sha256 key of a canonical request in a scope."""
    digest = hashlib.sha256()
    for part in (scope.tenant.encode(), scope.model_group.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(canonical)
    return digest.hexdigest()


class ExactCache:
    """The exact tier over a backend: lookup, store and invalidate, scoped per tenant and group."""

    def __init__(self, backend: CacheBackend, policy: Policy) -> None:
        self._backend = backend
        self.policy = policy

    async def lookup(self, scope: Scope, canonical: bytes, temperature: float | None) -> LookupResult:
        """Returns the stored completion of an equal request in the same scope, or a miss."""
        if not self.policy.cacheable(temperature):
            return LookupResult(key="", payload=None)
        key = await _key(scope, canonical)
        entry = await self._backend.get(key)
        # The scope is part of the key already; checking it again costs nothing and keeps tenants
        # apart even if a backend ever returned a foreign entry.
        if entry is None or entry.tenant != scope.tenant or entry.model_group != scope.model_group:
            return LookupResult(key=key, payload=None)
        return LookupResult(
            key=key,
            payload=entry.payload,
            tokens=entry.tokens,
            cost_usd=entry.cost_usd,
            deployment_id=entry.deployment_id,
        )

    async def store(
        self,
        scope: Scope,
        canonical: bytes,
        temperature: float | None,
        completion: Completion,
        *,
        ttl_s: float | None = None,
        semantic: Semantic | None = None,
    ) -> StoreResult:
        """Stores completion for the request unless the policy refuses it; ttl_s overrides the default.

        With semantic, the entry is also findable by similar requests sharing its fingerprint.
        """
        refusal = self.policy.refusal_kind(completion, temperature)
        if refusal is not None:
            return StoreResult(stored=False, kind=refusal[0], reason=refusal[1])
        key = await _key(scope, canonical)
        entry = Entry(
            key=key,
            tenant=scope.tenant,
            model_group=scope.model_group,
            payload=completion.payload,
            fingerprint=semantic.fingerprint if semantic else "",
            vector=semantic.vector if semantic else b"",
            text=semantic.text if semantic else "",
            tokens=completion.tokens,
            cost_usd=completion.cost_usd,
            deployment_id=completion.deployment_id,
        )
        bound = self.policy.max_tenant_bytes
        if bound is not None and entry.size > bound:
            return StoreResult(
                stored=False, kind="too_large", reason=f"entry is above the tenant bound of {bound} bytes"
            )
        ttl = ttl_s if ttl_s is not None and ttl_s > 0 else self.policy.default_ttl_s
        if not await self._backend.put(entry, ttl):
            return StoreResult(stored=False, key=key, kind="unavailable", reason="the cache store is unavailable")
        return StoreResult(stored=True, key=key)

    async def get(self, key: str) -> Entry | None:
        """Returns the live entry under key, or None."""
        return await self._backend.get(key)

    async def invalidate(self, selector: Selector) -> int:
        """Removes the selected entries and returns how many were removed."""
        return await self._backend.remove(selector)


async def _key(scope: Scope, canonical: bytes) -> str:
    if len(canonical) < _OFFLOAD_HASH_BYTES:
        return exact_key(scope, canonical)
    return await asyncio.to_thread(exact_key, scope, canonical)
