"""Runs the router service: `python -m switchyard.services.router` (configured by SWITCHYARD_ROUTER_* variables).

The config file is watched: a valid change swaps the routing tables without dropping requests in
flight, an invalid one is logged and ignored; SIGHUP re-reads it at once. The shared state (Redis
at the config's redis_url, else in memory) is opened once and kept across reloads, as is governance
(keys, teams, budgets and the ledger, in the same Redis): the config's keys and teams are stored at
start and again on each reload, where a key no longer listed is revoked and the master key, apps'
budgets and the alert webhook take effect. The quality `switchyard train-router --from-store` learned
(routing.quality_file) is read over the config's and swapped in, too, whenever that file changes.
"""

from __future__ import annotations

import asyncio
import logging

from switchyard.config import Config, load_config
from switchyard.runtime import grpcio
from switchyard.runtime.logs import setup_logging
from switchyard.runtime.metrics import serve_metrics
from switchyard.runtime.reload import ConfigWatcher
from switchyard.runtime.telemetry import init_telemetry
from switchyard.runtime.tls import identity_or_exit
from switchyard.services.router.analytics import Copier, open_history
from switchyard.services.router.config import RouterServiceSettings, governance_secrets
from switchyard.services.router.governance.ledger import open_ledger
from switchyard.services.router.governance.setup import open_governance, reconfigure
from switchyard.services.router.learned import LearnedQuality, LearnedWatcher, Table, artifact_path
from switchyard.services.router.server import SERVICE_NAME, build_server
from switchyard.services.router.state import StateOptions, open_state
from switchyard.services.router.train import keep_retraining

log = logging.getLogger("switchyard.router")


async def main() -> None:
    settings = RouterServiceSettings()
    setup_logging(settings.log_level)
    identity = identity_or_exit("router", settings.host)
    watcher = ConfigWatcher.of(settings.config, settings.config_poll, log)
    config = load_config(settings.config)
    relearning = LearnedWatcher(artifact_path(config), settings.config_poll, log)
    learned = LearnedQuality(config, log)
    telemetry = init_telemetry("router", settings.otlp_endpoint)
    options = StateOptions(timeout_s=settings.state_timeout, refresh_s=settings.state_refresh)
    state = await open_state(config.state_url(), settings.state_prefix, options)
    log.info("shared state: %s", f"Redis, keys under {settings.state_prefix}" if config.state_url() else "in memory")
    secrets = governance_secrets(config)
    history = open_history(config.switchyard.analytics, config.state_url(), settings.state_prefix)
    ledger = open_ledger(config.state_url(), settings.state_prefix, timeout=settings.state_timeout, history=history)
    await ledger.start()
    gov_options = StateOptions(timeout_s=settings.governance_timeout)
    governance = await open_governance(config, secrets, ledger, prefix=settings.state_prefix, options=gov_options)
    auth = "on" if governance.governor.auth else "off (no master key or keys configured)"
    log.info("governance: auth %s; ledger %s", auth, "in Redis" if config.state_url() else "in memory")
    log.info("ledger history: %s", "in the analytics store" if history is not None else "off (analytics.url is empty)")
    built = build_server(settings, learned.routed(), telemetry, state, governance, identity=identity)
    built.start_background(settings)

    async def reload(new: Config) -> None:
        reloaded = governance_secrets(new)  # a key variable gone missing rejects the file before any change
        learned.config = new
        await built.pipeline.reload(learned.routed())
        await reconfigure(governance, new, reloaded)

    async def relearn(table: Table) -> None:
        learned.table = table
        await built.pipeline.reload(learned.routed())

    reloads = watcher.start(reload) if watcher is not None else None
    relearns = relearning.follow(relearn)
    retraining = _retraining(learned, history)
    metrics = serve_metrics(settings.host, settings.metrics_port)

    async def cleanup() -> None:
        metrics.close()
        if reloads is not None:
            reloads.cancel()
        relearns.cancel()
        if retraining is not None:
            retraining.cancel()
        await built.close()
        telemetry.shutdown()

    log.info("router listening on %s:%d", settings.host, built.port)
    await grpcio.serve(built.server, built.health, [SERVICE_NAME], settings, cleanup)


def _retraining(learned: LearnedQuality, history: Copier | None) -> asyncio.Task[None] | None:
    """Starts the scheduled refit (routing.retrain.every) when one is configured and there is a store to learn from."""
    retrain = learned.config.switchyard.routing.retrain
    if not retrain.every_s:
        return None
    if history is None:
        log.warning("routing.retrain is set but analytics.url is empty: there are no judgements to learn from")
        return None
    log.info("learned quality: refitted from the analytics store every %s", retrain.every)
    work = keep_retraining(lambda: learned.config, history.store, learned.path, retrain.every_s, retrain.min_samples)
    return asyncio.get_running_loop().create_task(work)


if __name__ == "__main__":
    grpcio.run(main)
