"""Where cache entries live: the Protocol every backend implements, what it stores, and its change feed.

A backend keeps entries by key with a time to live and a memory bound per tenant. Every change it
makes (a store, an eviction, an invalidation) is also told to the replica's in-process vector index
through an `IndexListener`, so semantic search stays consistent with the store: the memory backend
tells it at once, the Redis backend through a change feed every replica reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# What an entry costs beyond its fields (Redis hash and bookkeeping structures, or Python objects).
ENTRY_OVERHEAD_BYTES = 256


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored completion: payload is opaque to the backend (the serialised completion).

    fingerprint, vector and text are set on entries the semantic tier can find: vector is the
    float32 embedding of text (the last user turn) and fingerprint everything else that must match.
    tokens and cost_usd are what one hit on the entry saves; deployment_id is the deployment that
    produced it ("" when not recorded), which the router checks before it serves a hit.
    """

    key: str
    tenant: str
    model_group: str
    payload: bytes
    fingerprint: str = ""
    vector: bytes = b""
    text: str = ""
    tokens: int = 0
    cost_usd: float = 0.0
    deployment_id: str = ""

    @property
    def size(self) -> int:
        """Returns the bytes the entry counts against its tenant's memory bound."""
        fields = len(self.payload) + len(self.vector) + len(self.text.encode()) + len(self.key)
        return fields + len(self.fingerprint) + len(self.model_group) + ENTRY_OVERHEAD_BYTES

    @property
    def semantic(self) -> bool:
        return bool(self.fingerprint and self.vector)


@dataclass(frozen=True, slots=True)
class Selector:
    """Which entries to remove: one key, one tenant, one model group, or everything."""

    key: str | None = None
    tenant: str | None = None
    model_group: str | None = None
    everything: bool = False

    def matches(self, entry: Entry) -> bool:
        """Returns whether entry is selected."""
        if self.everything:
            return True
        if self.key is not None:
            return entry.key == self.key
        if self.tenant is not None:
            return entry.tenant == self.tenant
        if self.model_group is not None:
            return entry.model_group == self.model_group
        return False


@dataclass(frozen=True, slots=True)
class Health:
    """Whether a backend can be used right now, and why not."""

    up: bool
    detail: str = ""


class IndexListener(Protocol):
    """Told of every change to a backend's entries (idempotent: a change may be told twice)."""

    def added(self, entry: Entry, expires_at: float) -> None:
        """An entry was stored (or replaced) and lives until expires_at on the backend's clock."""
        ...

    def removed(self, keys: Iterable[str]) -> None:
        """Entries were removed (invalidated, evicted or expired)."""
        ...

    def cleared(self, tenant: str | None) -> None:
        """Every entry of a tenant (None: of every tenant) was removed."""
        ...


class SilentListener:
    """The listener of a backend nobody watches."""

    def added(self, entry: Entry, expires_at: float) -> None:
        return None

    def removed(self, keys: Iterable[str]) -> None:
        return None

    def cleared(self, tenant: str | None) -> None:
        return None


class CacheBackend(Protocol):
    """Stores entries by key with a time to live; expired entries are never returned."""

    kind: str

    def now(self) -> float:
        """Returns the time on the clock expiry times are given in."""
        ...

    def watch(self, listener: IndexListener) -> None:
        """Tells listener of every later change (one listener per backend)."""
        ...

    def health(self) -> Health: ...

    async def get(self, key: str) -> Entry | None:
        """Returns the live entry stored under key, or None (also when the backend is unreachable)."""
        ...

    async def put(self, entry: Entry, ttl_s: float) -> bool:
        """Stores entry under its key for ttl_s seconds; returns False when it was dropped."""
        ...

    async def remove(self, selector: Selector) -> int:
        """Removes the selected entries and returns how many live ones were removed."""
        ...

    async def start(self) -> None:
        """Starts what the backend runs in the background (the change feed)."""
        ...

    async def close(self) -> None: ...
