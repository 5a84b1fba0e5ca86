"""Runs the providers service: `python -m switchyard.services.providers` (configured by environment).

The config file is watched (and re-read on SIGHUP): a valid change swaps the deployment table
without dropping calls in flight, an invalid one is logged and the last good table keeps serving.
Keys from files and secret managers are watched too (`table`, `credentials.ring`): a key that arrives
or rotates swaps the table the same way.
"""

from __future__ import annotations

import logging
import sys

from switchyard.config import Config, ConfigError, load_config
from switchyard.runtime import grpcio
from switchyard.runtime.logs import setup_logging
from switchyard.runtime.metrics import serve_metrics
from switchyard.runtime.reload import Apply, ConfigWatcher
from switchyard.runtime.telemetry import init_telemetry
from switchyard.runtime.tls import identity_or_exit
from switchyard.services.providers.config import ProviderSettings
from switchyard.services.providers.server import SERVICE_NAMES, build, new_client_pool, publisher
from switchyard.services.providers.table import DeploymentTable, key_ring

log = logging.getLogger("switchyard.services.providers")
# How often the config file is checked for changes (seconds).
CONFIG_POLL_S = 1.0


def _reloader(table: DeploymentTable) -> Apply:
    """Returns how a reloaded config reaches the service: through the table, which reads its new keys."""

    async def apply(config: Config) -> None:
        deployments = await table.reload(config)
        log.info("deployments reloaded: %d of %d available", sum(d.available for d in deployments), len(deployments))

    return apply


async def main() -> None:
    """Serves the providers until SIGTERM or SIGINT, then drains in-flight calls and closes the clients."""
    settings = ProviderSettings()
    setup_logging(settings.log_level)
    identity = identity_or_exit("providers", settings.host)
    watcher = ConfigWatcher.of(settings.config, CONFIG_POLL_S, log)
    try:
        config = load_config(settings.config)
    except ConfigError as exc:
        log.error("%s", exc)
        sys.exit(2)
    # Start-up waits for the watched keys at most secret_timeout_s; a key that comes later is published then.
    table = DeploymentTable(config, key_ring(settings))
    deployments = await table.prime()
    telemetry = init_telemetry("providers", settings.otlp_endpoint)
    clients = new_client_pool(settings, deployments)
    built = build(settings, deployments, clients, telemetry, identity)
    table.subscribe(publisher(built.servicer, clients))
    keys = table.watch()
    available = sum(d.available for d in deployments)
    log.info(
        "providers listening on %s:%d (%d of %d deployments available)",
        settings.host,
        built.port,
        available,
        len(deployments),
    )
    poll = watcher.start(_reloader(table)) if watcher is not None else None
    metrics = serve_metrics(settings.host, settings.metrics_port)

    async def cleanup() -> None:
        metrics.close()
        keys.cancel()
        if poll is not None:
            poll.cancel()
        await clients.aclose()
        telemetry.shutdown()

    await grpcio.serve(built.server, built.health, SERVICE_NAMES, settings, cleanup)


if __name__ == "__main__":
    grpcio.run(main)
