"""Builds the cache's gRPC server (not started) and the cache behind it, so tests and __main__ share one wiring."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from grpc import aio
from grpc_health.v1 import health, health_pb2

from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc
from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.nearmiss import NearMissGuard
from switchyard.runtime import grpcio
from switchyard.runtime.telemetry import Telemetry, init_telemetry
from switchyard.runtime.tls import Identity
from switchyard.services.cache.backends import CacheBackend
from switchyard.services.cache.backends.memory import MemoryBackend
from switchyard.services.cache.backends.redis import RedisBackend
from switchyard.services.cache.config import CacheSettings
from switchyard.services.cache.index import VectorIndex
from switchyard.services.cache.semantic import Guard, SemanticTier, TextEmbedder, Thresholds
from switchyard.services.cache.servicer import CacheServicer
from switchyard.services.cache.tiers import TieredCache

log = logging.getLogger(__name__)

SERVICE_NAMES: tuple[str, ...] = (cache_pb2.DESCRIPTOR.services_by_name["CacheService"].full_name,)
# STORE_HEALTH is the health-check name whose status follows the backend (NOT_SERVING while Redis is
# down); the service itself stays SERVING then, answering misses.
STORE_HEALTH = "switchyard.cache.v1.CacheService/store"
# CALLERS are the roles whose certificates may call the cache (mutual TLS on): only the router looks up and stores.
CALLERS: tuple[str, ...] = ("router",)


@dataclass(frozen=True, slots=True)
class Models:
    """The semantic tier's models: the sentence embedder and the near-miss guard."""

    embedder: TextEmbedder
    guard: Guard


def load_models() -> Models | str:
    """Returns the semantic tier's models, or why they cannot be loaded (the tier is then off)."""
    try:
        embedder = StaticEmbedder.load()
        return Models(embedder, NearMissGuard.load(word_vector=embedder.embed_one))
    except (RuntimeError, OSError, ValueError) as exc:
        return f"semantic tier off: {exc}"


def new_backend(settings: CacheSettings, clock: Callable[[], float] = time.monotonic) -> CacheBackend:
    """Returns Redis when the settings name one, else the in-memory backend timed by clock."""
    if settings.uses_redis():
        return RedisBackend(
            settings.redis_url,
            settings.redis_prefix,
            timeout=settings.redis_timeout,
            retry_after=settings.redis_retry_after,
            max_tenant_bytes=settings.max_tenant_bytes,
            index_limit=settings.index_max_entries,
        )
    return MemoryBackend(settings.max_entries, clock, settings.max_tenant_bytes)


def new_cache(
    settings: CacheSettings,
    clock: Callable[[], float] = time.monotonic,
    models: Models | str | None = None,
    backend: CacheBackend | None = None,
) -> TieredCache:
    """Returns the cache the settings describe: both tiers when the models load, the exact tier alone otherwise."""
    backend = new_backend(settings, clock) if backend is None else backend
    if not settings.semantic:
        return TieredCache(
            backend, settings.policy(), None, "semantic tier turned off by configuration", settings.enabled
        )
    loaded = load_models() if models is None else models
    if isinstance(loaded, str):
        log.warning("%s; serving the exact tier only", loaded)
        return TieredCache(backend, settings.policy(), None, loaded, settings.enabled)
    default = settings.semantic_threshold
    thresholds = Thresholds(loaded.guard.similarity_floor if default is None else default, settings.thresholds)
    index = VectorIndex(
        loaded.embedder.dim, exact_limit=settings.exact_search_limit, max_entries=settings.index_max_entries
    )
    tier = SemanticTier(loaded.embedder, loaded.guard, index, thresholds)
    return TieredCache(backend, settings.policy(), tier, enabled=settings.enabled)


def build_server(
    settings: CacheSettings, cache: TieredCache, telemetry: Telemetry | None = None, identity: Identity | None = None
) -> tuple[aio.Server, int, health.aio.HealthServicer]:
    """Returns (server, bound port, health servicer) for the cache, bound but not started: over mutual TLS
    serving CALLERS when given an identity, in plaintext without one."""
    server = grpcio.new_server(telemetry or init_telemetry("cache", None), identity, CALLERS)
    cache_pb2_grpc.add_CacheServiceServicer_to_server(CacheServicer(cache, settings.offload_bytes), server)
    health_servicer = grpcio.add_health_and_reflection(server, SERVICE_NAMES)
    port = grpcio.bind(server, settings.host, settings.port, identity)
    return server, port, health_servicer


async def report_store_health(cache: TieredCache, servicer: health.aio.HealthServicer, every: float = 0.25) -> None:
    """Keeps STORE_HEALTH in step with the backend's health; runs until cancelled."""
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    while True:
        await servicer.set(STORE_HEALTH, serving if cache.backend.health().up else not_serving)
        await asyncio.sleep(every)
