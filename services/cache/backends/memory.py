"""The in-memory cache backend: one process, bounded by entry count with LRU eviction."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from services.cache.backends import Entry, Selector


class MemoryBackend:
    """Keeps at most max_entries entries, evicting the least recently used; expires them by clock.

    Expired entries are dropped when they are next read or when eviction reaches them; the entry
    bound keeps memory bounded either way. Only the event loop's thread may use it.
    """

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._clock = clock
        # key -> (entry, expires_at), least recently used first.
        self._entries: OrderedDict[str, tuple[Entry, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> Entry | None:
        """Returns the live entry stored under key, or None; a hit makes it the most recently used."""
        found = self._entries.get(key)
        if found is None:
            return None
        entry, expires_at = found
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    async def put(self, entry: Entry, ttl_s: float) -> None:
        """Stores entry for ttl_s seconds as the most recently used, evicting beyond the bound."""
        self._entries[entry.key] = (entry, self._clock() + ttl_s)
        self._entries.move_to_end(entry.key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def remove(self, selector: Selector) -> int:
        """Removes the selected entries; returns how many of them had not expired yet."""
        if selector.key is not None:
            found = self._entries.pop(selector.key, None)
            return int(found is not None and self._clock() < found[1])
        now = self._clock()
        doomed = [key for key, (entry, _) in self._entries.items() if selector.matches(entry)]
        removed = 0
        for key in doomed:
            _, expires_at = self._entries.pop(key)
            removed += now < expires_at
        return removed
