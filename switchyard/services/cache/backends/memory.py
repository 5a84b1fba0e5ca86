"""The in-memory cache backend: one process, bounded by entry count and by bytes per tenant, LRU eviction."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from switchyard.services.cache.backends import Entry, Health, IndexListener, Selector, SilentListener


class MemoryBackend:
    """Keeps at most max_entries entries and max_tenant_bytes per tenant, evicting the least recently used.

    Expired entries are dropped when they are next read or when eviction reaches them; the bounds
    keep memory bounded either way. Only the event loop's thread may use it.
    """

    kind = "memory"

    def __init__(
        self,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
        max_tenant_bytes: int | None = None,
    ) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._max_tenant_bytes = max_tenant_bytes
        self._clock = clock
        # key -> (entry, expires_at), least recently used first.
        self._entries: OrderedDict[str, tuple[Entry, float]] = OrderedDict()
        # tenant -> its keys, least recently used first; and the bytes they count.
        self._tenants: dict[str, OrderedDict[str, None]] = {}
        self._bytes: dict[str, int] = {}
        self._listener: IndexListener = SilentListener()

    def __len__(self) -> int:
        return len(self._entries)

    def now(self) -> float:
        return self._clock()

    def watch(self, listener: IndexListener) -> None:
        self._listener = listener

    def health(self) -> Health:
        return Health(up=True)

    def tenant_bytes(self, tenant: str) -> int:
        """Returns the bytes a tenant's entries count against its bound."""
        return self._bytes.get(tenant, 0)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def get(self, key: str) -> Entry | None:
        """Returns the live entry stored under key, or None; a hit makes it the most recently used."""
        found = self._entries.get(key)
        if found is None:
            return None
        entry, expires_at = found
        if self._clock() >= expires_at:
            self._drop(key)
            self._listener.removed((key,))
            return None
        self._entries.move_to_end(key)
        self._tenants[entry.tenant].move_to_end(key)
        return entry

    async def put(self, entry: Entry, ttl_s: float) -> bool:
        """Stores entry for ttl_s seconds as the most recently used, evicting beyond the bounds."""
        if self._max_tenant_bytes is not None and entry.size > self._max_tenant_bytes:
            return False
        if entry.key in self._entries:
            self._drop(entry.key)
        expires_at = self._clock() + ttl_s
        self._entries[entry.key] = (entry, expires_at)
        self._tenants.setdefault(entry.tenant, OrderedDict())[entry.key] = None
        self._bytes[entry.tenant] = self._bytes.get(entry.tenant, 0) + entry.size
        self._listener.added(entry, expires_at)
        evicted = self._evict_tenant(entry.tenant)
        while len(self._entries) > self._max_entries:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            evicted.append(oldest)
        if evicted:
            self._listener.removed(evicted)
        return True

    async def remove(self, selector: Selector) -> int:
        """Removes the selected entries; returns how many of them had not expired yet."""
        now = self._clock()
        if selector.key is not None:
            found = self._drop(selector.key)
            self._listener.removed((selector.key,))
            return int(found is not None and now < found[1])
        if selector.tenant is not None:
            doomed = list(self._tenants.get(selector.tenant, ()))
        else:
            doomed = [key for key, (entry, _) in self._entries.items() if selector.matches(entry)]
        removed = 0
        for key in doomed:
            found = self._drop(key)
            removed += found is not None and now < found[1]
        if selector.everything or selector.tenant is not None:
            self._listener.cleared(None if selector.everything else selector.tenant)
        else:
            self._listener.removed(doomed)
        return removed

    def _evict_tenant(self, tenant: str) -> list[str]:
        """Evicts the tenant's least recently used entries until it fits its bound; returns their keys."""
        evicted: list[str] = []
        if self._max_tenant_bytes is None:
            return evicted
        keys = self._tenants[tenant]
        while self._bytes[tenant] > self._max_tenant_bytes and len(keys) > 1:
            oldest = next(iter(keys))
            self._drop(oldest)
            evicted.append(oldest)
        return evicted

    def _drop(self, key: str) -> tuple[Entry, float] | None:
        found = self._entries.pop(key, None)
        if found is None:
            return None
        tenant = found[0].tenant
        keys = self._tenants[tenant]
        del keys[key]
        self._bytes[tenant] -= found[0].size
        if not keys:
            del self._tenants[tenant], self._bytes[tenant]
        return found
