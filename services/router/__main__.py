"""Runs the router service: `python -m services.router` (configured by SWITCHYARD_ROUTER_* variables)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.common import grpcio
from services.common.config import load_config
from services.common.errors import SwitchyardError
from services.common.logs import setup_logging
from services.common.telemetry import init_telemetry
from services.router.config import RouterServiceSettings
from services.router.server import SERVICE_NAME, build_server

log = logging.getLogger("switchyard.router")


async def _refresh(built_pipeline_refresh: object, every: float) -> None:
    refresh = built_pipeline_refresh
    while True:
        with contextlib.suppress(SwitchyardError):
            await refresh()  # type: ignore[operator]
        await asyncio.sleep(every)


async def main() -> None:
    settings = RouterServiceSettings()
    setup_logging(settings.log_level)
    config = load_config(settings.config)
    telemetry = init_telemetry("router", settings.otlp_endpoint)
    built = build_server(settings, config, telemetry)
    refresher = asyncio.create_task(_refresh(built.pipeline.refresh_deployments, settings.deployments_refresh))

    async def cleanup() -> None:
        refresher.cancel()
        await built.close()
        telemetry.shutdown()

    log.info("router listening on %s:%d", settings.host, built.port)
    await grpcio.serve(built.server, built.health, [SERVICE_NAME], settings.grace_period, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
