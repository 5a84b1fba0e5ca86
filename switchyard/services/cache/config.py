"""The cache's settings: SWITCHYARD_CACHE_* (and the shared variables), completed by the configuration file.

A variable set in the environment wins; for the rest, the file's `switchyard.cache` section, then
LiteLLM's `litellm_settings.cache` / `cache_params`, then `switchyard.redis_url` (or
`router_settings.redis_host`), then the defaults below. No Redis URL anywhere means in-memory
entries, one process only (the embedded default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from switchyard.config import Config
from switchyard.config.cache import litellm_cache
from switchyard.runtime.settings import ServiceSettings
from switchyard.services.cache.exact import Policy
from switchyard.services.cache.index import MAX_ENTRIES


class CacheSettings(ServiceSettings):
    """Where the cache listens, where it keeps entries, what it keeps and for how long."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_CACHE_", extra="ignore", frozen=True)

    port: int = Field(default=50053, ge=0, le=65535)
    # metrics_port serves Prometheus /metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = Field(default=9093, ge=0, le=65535)
    # enabled: off, every lookup misses and nothing is stored (LiteLLM's `cache: false`).
    enabled: bool = True
    # ttl_seconds is how long an entry lives unless a Store asks for another time to live.
    ttl_seconds: float = Field(default=3600.0, gt=0)
    # max_entries bounds the in-memory backend; Redis is bounded per tenant by max_tenant_bytes.
    max_entries: int = Field(default=10_000, gt=0)
    max_tenant_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    # max_entry_bytes: larger completions are not stored, so a few huge answers cannot crowd out the rest.
    max_entry_bytes: int = Field(default=1024 * 1024, gt=0)
    # max_temperature: requests sampled hotter are neither served from nor stored in the cache.
    max_temperature: float = Field(default=1.0, ge=0)
    # store_tool_calls lets completions that end in tool calls be stored (off: tools have side effects).
    store_tool_calls: bool = False
    # offload_bytes: requests at least this large are canonicalised in a worker thread.
    offload_bytes: int = Field(default=1024 * 1024, ge=0)
    semantic: bool = True
    # semantic_threshold: least similarity of a semantic hit; unset, the near-miss guard's calibrated floor.
    semantic_threshold: float | None = Field(default=None, ge=0, le=1)
    thresholds: dict[str, float] = Field(default_factory=dict)
    # exact_search_limit: buckets larger than this are searched approximately (IVF).
    exact_search_limit: int = Field(default=1024, gt=0)
    # index_max_entries caps the vectors this process keeps for semantic search, whatever the backend
    # holds (~1.8 KiB each); past it the least recently stored or hit are forgotten, still served exactly.
    index_max_entries: int = Field(default=MAX_ENTRIES, gt=0)
    backend: Literal["redis", "memory"] | None = None
    redis_url: str = ""
    redis_prefix: str = Field(default="switchyard:cache:", min_length=1)
    # redis_timeout bounds every Redis call (seconds); past it the lookup misses and the store is dropped.
    redis_timeout: float = Field(default=0.1, gt=0)
    # redis_retry_after: while Redis is unreachable, a background probe tries it again this often
    # (seconds); lookups and stores do not try it meanwhile.
    redis_retry_after: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _thresholds_are_similarities(self) -> CacheSettings:
        for group, value in self.thresholds.items():
            if not 0 <= value <= 1:
                raise ValueError(f"thresholds.{group} must be between 0 and 1, not {value}")
        return self

    def policy(self) -> Policy:
        """Returns the store policy these settings describe."""
        return Policy(
            default_ttl_s=self.ttl_seconds,
            max_temperature=self.max_temperature,
            store_tool_calls=self.store_tool_calls,
            max_entry_bytes=self.max_entry_bytes,
            max_tenant_bytes=self.max_tenant_bytes,
        )

    def uses_redis(self) -> bool:
        return self.backend != "memory" and bool(self.redis_url)

    def with_config(self, config: Config, environ: Mapping[str, str]) -> CacheSettings:
        """Returns these settings completed by the configuration file (environment variables win)."""
        section = config.switchyard.cache
        lite = litellm_cache(config.litellm_settings, environ)
        offers: dict[str, tuple[Any, ...]] = {
            "enabled": (lite.enabled,),
            "semantic": (section.semantic if "semantic" in section.model_fields_set else None,),
            "semantic_threshold": (section.semantic_threshold, lite.similarity_threshold),
            "thresholds": (section.thresholds or None,),
            "ttl_seconds": (section.ttl_seconds, lite.ttl_seconds),
            "max_temperature": (section.max_temperature,),
            "store_tool_calls": (section.store_tool_calls,),
            "max_entry_bytes": (section.max_entry_bytes,),
            "max_tenant_bytes": (section.max_tenant_bytes,),
            "index_max_entries": (section.index_max_entries,),
            "backend": (section.backend, lite.backend),
            "redis_url": (section.redis_url, lite.redis_url, config.state_url() or None),
            "redis_prefix": (section.key_prefix, lite.key_prefix),
        }
        updates = {}
        for name, values in offers.items():
            if name in self.model_fields_set:
                continue
            chosen = next((value for value in values if value is not None), None)
            if chosen is not None:
                updates[name] = chosen
        return self.model_copy(update=updates)
