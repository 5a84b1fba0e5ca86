"""The `switchyard.cache` section of the configuration file, and what LiteLLM's cache settings mean to it.

The cache is on by default: a file that says nothing about it gets the exact and the semantic tier
with the near-miss guard's calibrated threshold. LiteLLM's `litellm_settings.cache` and
`cache_params` are read where their meaning matches (see `litellm_cache`); this section covers
the rest and wins where both say something.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from switchyard.config.base import Section
from switchyard.config.models import DATA_CLASSES, DataClass
from switchyard.config.secrets import ENV_PREFIX

Similarity = float
# LiteLLM cache types that Switchyard serves itself: Redis-backed ones share entries across replicas.
_REDIS_TYPES = frozenset({"redis", "redis-semantic", "redis_semantic"})
_LOCAL_TYPES = frozenset({"local", "in-memory", "in_memory", "memory"})


class CacheSection(Section):
    """Cache settings shared by the router and the cache service; unset fields keep their defaults."""

    # semantic turns the semantic tier on or off (the exact tier is always on while the cache is).
    semantic: bool = True
    # semantic_threshold is the least cosine similarity of a semantic hit; unset: the guard's calibrated floor.
    semantic_threshold: Similarity | None = Field(default=None, ge=0.0, le=1.0)
    # thresholds overrides semantic_threshold per model group or alias.
    thresholds: dict[str, Similarity] = Field(default_factory=dict)
    ttl_seconds: float | None = Field(default=None, gt=0)
    # max_temperature: requests sampled hotter are neither served from nor stored in the cache.
    max_temperature: float | None = Field(default=None, ge=0)
    store_tool_calls: bool | None = None
    max_entry_bytes: int | None = Field(default=None, gt=0)
    # max_tenant_bytes bounds what one tenant keeps; the least recently hit entries go first.
    max_tenant_bytes: int | None = Field(default=None, gt=0)
    # index_max_entries caps the semantic index each cache process keeps in memory (unset: 20,000).
    index_max_entries: int | None = Field(default=None, gt=0)
    # redis_url: where entries live; unset: LiteLLM's cache_params, then switchyard.redis_url, else memory.
    redis_url: str | None = None
    # backend forces one store; unset: Redis when a URL is known, else memory.
    backend: Literal["redis", "memory"] | None = None
    key_prefix: str | None = Field(default=None, min_length=1)
    # max_data_classification: the most sensitive data the cache may serve or keep. A request whose
    # effective classification (the caller's header or the classifier's finding, whichever is more
    # sensitive) is above it, or that was not analysed, bypasses the cache both ways (DESIGN §5:
    # confidential and restricted data are never cached).
    max_data_classification: DataClass = "internal"

    def admits(self, classification: str) -> bool:
        """Returns whether the cache may serve or keep a request of this data classification ("": unclassified)."""
        if not classification:
            return True
        return DATA_CLASSES.index(classification) <= DATA_CLASSES.index(self.max_data_classification)


@dataclass(frozen=True, slots=True)
class LiteLLMCache:
    """What LiteLLM's `litellm_settings.cache` / `cache_params` say, in Switchyard's terms (None: unsaid)."""

    enabled: bool | None = None
    backend: Literal["redis", "memory"] | None = None
    semantic: bool | None = None
    ttl_seconds: float | None = None
    similarity_threshold: Similarity | None = None
    redis_url: str | None = None
    key_prefix: str | None = None
    # ignored names what was given but has no matching meaning here (logged by the cache service).
    ignored: tuple[str, ...] = ()


def litellm_cache(settings: Mapping[str, Any], environ: Mapping[str, str]) -> LiteLLMCache:
    """Returns the meaning of LiteLLM's cache settings; unknown cache types and keys are listed as ignored.

    `os.environ/NAME` values (LiteLLM's way of naming a secret) are read from environ.
    """
    enabled = settings.get("cache")
    params = settings.get("cache_params") or {}
    if not isinstance(params, Mapping):
        return LiteLLMCache(enabled=_bool(enabled), ignored=("cache_params",))
    kind = str(params.get("type", "")).lower()
    backend: Literal["redis", "memory"] | None = None
    ignored: list[str] = []
    if kind in _REDIS_TYPES:
        backend = "redis"
    elif kind in _LOCAL_TYPES:
        backend = "memory"
    elif kind:
        ignored.append(f"type={kind}")
    known = {"type", "ttl", "similarity_threshold", "redis_url", "host", "port", "password", "namespace"}
    ignored += sorted(str(name) for name in params if name not in known)
    threshold = params.get("similarity_threshold")
    ttl = params.get("ttl")
    return LiteLLMCache(
        enabled=_bool(enabled),
        backend=backend,
        semantic=True if kind in {"redis-semantic", "redis_semantic"} else None,
        ttl_seconds=float(ttl) if isinstance(ttl, int | float) and ttl > 0 else None,
        similarity_threshold=float(threshold) if isinstance(threshold, int | float) else None,
        redis_url=_redis_url(params, environ) if backend != "memory" else None,
        key_prefix=str(params["namespace"]) + ":" if params.get("namespace") else None,
        ignored=tuple(ignored),
    )


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _secret(value: object, environ: Mapping[str, str]) -> str:
    text = "" if value is None else str(value)
    return environ.get(text.removeprefix(ENV_PREFIX), "") if text.startswith(ENV_PREFIX) else text


def _redis_url(params: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """Returns the Redis URL in cache_params (redis_url, or host/port/password), None when absent."""
    url = _secret(params.get("redis_url"), environ)
    if url:
        return url
    host = _secret(params.get("host"), environ)
    if not host:
        return None
    password = _secret(params.get("password"), environ)
    auth = f":{quote(str(password), safe='')}@" if password else ""
    port = _secret(params.get("port"), environ) or "6379"
    return f"redis://{auth}{host}:{port}/0"
