"""The cache's settings, read once from SWITCHYARD_CACHE_* (and the shared variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.cache.exact import Policy
from services.common.settings import ServiceSettings


class CacheSettings(ServiceSettings):
    """Where the cache listens, what it keeps and for how long."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_CACHE_", extra="ignore", frozen=True)

    port: int = Field(default=50053, ge=0, le=65535)
    # ttl_seconds is how long an entry lives unless a Store asks for another time to live.
    ttl_seconds: float = Field(default=3600.0, gt=0)
    max_entries: int = Field(default=10_000, gt=0)
    # max_entry_bytes: larger completions are not stored, so a few huge answers cannot crowd out the rest.
    max_entry_bytes: int = Field(default=1024 * 1024, gt=0)
    # max_temperature: requests sampled hotter are neither served from nor stored in the cache.
    max_temperature: float = Field(default=1.0, ge=0)
    # store_tool_calls lets completions that end in tool calls be stored (off: tools have side effects).
    store_tool_calls: bool = False
    # offload_bytes: requests at least this large are canonicalised in a worker thread.
    offload_bytes: int = Field(default=1024 * 1024, ge=0)

    def policy(self) -> Policy:
        """Returns the store policy these settings describe."""
        return Policy(
            default_ttl_s=self.ttl_seconds,
            max_temperature=self.max_temperature,
            store_tool_calls=self.store_tool_calls,
            max_entry_bytes=self.max_entry_bytes,
        )
