"""Runs the providers service: `python -m services.providers` (configured by environment)."""

from __future__ import annotations

import logging
import sys

from services.common import grpcio
from services.common.config import ConfigError, load_config
from services.common.logs import setup_logging
from services.common.telemetry import init_telemetry
from services.providers.config import ProviderSettings, resolve_deployments
from services.providers.server import SERVICE_NAMES, build_server, new_client_pool

log = logging.getLogger("services.providers")


async def main() -> None:
    """Serves the providers until SIGTERM or SIGINT, then drains in-flight calls and closes the clients."""
    settings = ProviderSettings()
    setup_logging(settings.log_level)
    try:
        config = load_config(settings.config)
    except ConfigError as exc:
        log.error("%s", exc)
        sys.exit(2)
    deployments = resolve_deployments(config)
    telemetry = init_telemetry("providers", settings.otlp_endpoint)
    clients = new_client_pool(settings, deployments)
    server, port, health_servicer = build_server(settings, deployments, clients, telemetry)
    available = sum(d.available for d in deployments)
    log.info(
        "providers listening on %s:%d (%d of %d deployments available)",
        settings.host,
        port,
        available,
        len(deployments),
    )

    async def cleanup() -> None:
        await clients.aclose()
        telemetry.shutdown()

    await grpcio.serve(server, health_servicer, SERVICE_NAMES, settings.grace_period, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
