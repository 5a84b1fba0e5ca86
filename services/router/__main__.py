"""Runs the router service: `python -m services.router` (configured by SWITCHYARD_ROUTER_* variables).

The config file is watched: a valid change swaps the routing tables without dropping requests in
flight, an invalid one is logged and ignored; SIGHUP re-reads it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from services.common import grpcio
from services.common.config import load_config
from services.common.errors import SwitchyardError
from services.common.logs import setup_logging
from services.common.reload import ConfigWatcher
from services.common.telemetry import init_telemetry
from services.router.config import RouterServiceSettings
from services.router.server import SERVICE_NAME, build_server

log = logging.getLogger("switchyard.router")


async def _refresh(refresh: Callable[[], Awaitable[None]], every: float) -> None:
    while True:
        with contextlib.suppress(SwitchyardError):
            await refresh()
        await asyncio.sleep(every)


async def main() -> None:
    settings = RouterServiceSettings()
    setup_logging(settings.log_level)
    watcher = ConfigWatcher.of(settings.config, settings.config_poll, log)
    config = load_config(settings.config)
    telemetry = init_telemetry("router", settings.otlp_endpoint)
    built = build_server(settings, config, telemetry)
    tasks = [asyncio.create_task(_refresh(built.pipeline.refresh_deployments, settings.deployments_refresh))]
    if watcher is not None:
        tasks.append(watcher.start(built.pipeline.reload))

    async def cleanup() -> None:
        for task in tasks:
            task.cancel()
        await built.close()
        telemetry.shutdown()

    log.info("router listening on %s:%d", settings.host, built.port)
    await grpcio.serve(built.server, built.health, [SERVICE_NAME], settings.grace_period, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
