"""Runs the cache service: `python -m services.cache` (configured by environment)."""

from __future__ import annotations

import logging

from services.cache.config import CacheSettings
from services.cache.server import SERVICE_NAMES, build_server, new_cache
from services.common import grpcio
from services.common.logs import setup_logging
from services.common.telemetry import init_telemetry

log = logging.getLogger("services.cache")


async def main() -> None:
    """Serves the cache until SIGTERM or SIGINT, then drains in-flight calls."""
    settings = CacheSettings()
    setup_logging(settings.log_level)
    telemetry = init_telemetry("cache", settings.otlp_endpoint)
    server, port, health_servicer = build_server(settings, new_cache(settings), telemetry)
    log.info("cache listening on %s:%d", settings.host, port)

    async def cleanup() -> None:
        telemetry.shutdown()

    await grpcio.serve(server, health_servicer, SERVICE_NAMES, settings.grace_period, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
