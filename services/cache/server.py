"""Builds the cache's gRPC server (not started), so tests and __main__ share one wiring."""

from __future__ import annotations

import time
from collections.abc import Callable

from grpc import aio
from grpc_health.v1 import health
from switchyard.cache.v1 import cache_pb2, cache_pb2_grpc

from services.cache.backends.memory import MemoryBackend
from services.cache.config import CacheSettings
from services.cache.exact import ExactCache
from services.cache.servicer import CacheServicer
from services.common import grpcio
from services.common.telemetry import Telemetry, init_telemetry

SERVICE_NAMES: tuple[str, ...] = (cache_pb2.DESCRIPTOR.services_by_name["CacheService"].full_name,)


def new_cache(settings: CacheSettings, clock: Callable[[], float] = time.monotonic) -> ExactCache:
    """Returns the exact cache the settings describe, over an in-memory backend timed by clock."""
    return ExactCache(MemoryBackend(settings.max_entries, clock), settings.policy())


def build_server(
    settings: CacheSettings, cache: ExactCache, telemetry: Telemetry | None = None
) -> tuple[aio.Server, int, health.aio.HealthServicer]:
    """Returns (server, bound port, health servicer) for the cache, bound but not started."""
    server = grpcio.new_server(telemetry or init_telemetry("cache", None))
    cache_pb2_grpc.add_CacheServiceServicer_to_server(CacheServicer(cache, settings.offload_bytes), server)
    health_servicer = grpcio.add_health_and_reflection(server, SERVICE_NAMES)
    port = grpcio.bind(server, settings.host, settings.port)
    return server, port, health_servicer
