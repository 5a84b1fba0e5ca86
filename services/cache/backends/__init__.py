"""Where cache entries live: the Protocol every backend implements, and what it stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored completion: payload is opaque to the backend (the serialised completion)."""

    key: str
    tenant: str
    model_group: str
    payload: bytes


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


class CacheBackend(Protocol):
    """Stores entries by key with a time to live; expired entries are never returned."""

    async def get(self, key: str) -> Entry | None:
        """Returns the live entry stored under key, or None."""
        ...

    async def put(self, entry: Entry, ttl_s: float) -> None:
        """Stores entry under its key for ttl_s seconds, replacing any previous entry."""
        ...

    async def remove(self, selector: Selector) -> int:
        """Removes the selected entries and returns how many live ones were removed."""
        ...
