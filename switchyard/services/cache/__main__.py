"""Runs the cache service: `python -m switchyard.services.cache` (SWITCHYARD_CACHE_* variables and the config file)."""

from __future__ import annotations

import asyncio
import logging
import os

from switchyard.config import load_config
from switchyard.config.cache import litellm_cache
from switchyard.runtime import grpcio
from switchyard.runtime.logs import setup_logging
from switchyard.runtime.metrics import serve_metrics
from switchyard.runtime.tasks import cancel_and_wait
from switchyard.runtime.telemetry import init_telemetry
from switchyard.runtime.tls import identity_or_exit
from switchyard.services.cache.config import CacheSettings
from switchyard.services.cache.metrics import watch_cache
from switchyard.services.cache.server import SERVICE_NAMES, build_server, new_cache, report_store_health

log = logging.getLogger("switchyard.services.cache")


async def main() -> None:
    """Serves the cache until SIGTERM or SIGINT, then drains in-flight calls."""
    settings = CacheSettings()
    setup_logging(settings.log_level)
    identity = identity_or_exit("cache", settings.host)
    config = load_config(settings.config)
    ignored = litellm_cache(config.litellm_settings, os.environ).ignored
    if ignored:
        log.warning("litellm_settings.cache_params: ignoring what Switchyard does not serve: %s", ", ".join(ignored))
    settings = settings.with_config(config, os.environ)
    telemetry = init_telemetry("cache", settings.otlp_endpoint)
    cache = await asyncio.to_thread(new_cache, settings)
    await cache.backend.start()
    server, port, health_servicer = build_server(settings, cache, telemetry, identity)
    background = [asyncio.create_task(report_store_health(cache, health_servicer)), asyncio.create_task(cache.sweep())]
    watch_cache(cache)
    metrics = serve_metrics(settings.host, settings.metrics_port)
    status = cache.status()
    log.info(
        "cache listening on %s:%d (store: %s, semantic tier: %s)",
        settings.host,
        port,
        status.backend,
        "on" if status.semantic else status.semantic_detail,
    )

    async def cleanup() -> None:
        metrics.close()
        await cancel_and_wait(background)
        await cache.backend.close()
        telemetry.shutdown()

    await grpcio.serve(server, health_servicer, SERVICE_NAMES, settings, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
