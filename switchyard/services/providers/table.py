"""The deployments the running service calls: the config resolved with the key ring's keys.

The table is rebuilt when the config is reloaded and when a watched key arrives or changes, and every
new table is handed to the subscribers (the servicer, the client pool). A call holds the Deployment it
started with, so calls in flight finish with the key they began with while new calls use the new one.
Each rebuild logs what changed (a deployment that became available or unavailable, and why) and warns
once per deployment about a key whose shape says it is wider than a gateway needs (`credentials.scope`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence

from switchyard.config import Config
from switchyard.services.providers.adapters.base import Deployment
from switchyard.services.providers.config import ProviderSettings, resolve_deployments
from switchyard.services.providers.credentials.ring import KeyRing
from switchyard.services.providers.credentials.scope import scope_warning
from switchyard.services.providers.credentials.sources import build_sources

log = logging.getLogger("switchyard.services.providers")

Publish = Callable[[Sequence[Deployment]], None]


def _log_unavailable(deployment: Deployment) -> None:
    log.warning("deployment %s (%s) is unavailable: %s", deployment.id, deployment.group, deployment.unavailable_reason)


def key_ring(settings: ProviderSettings) -> KeyRing:
    """Returns the key ring the settings describe: its sources, poll and refresh intervals, and timeouts."""
    sources = build_sources(
        vault_addr=settings.vault_addr,
        vault_token=settings.vault_token.get_secret_value(),
        vault_token_file=settings.vault_token_file,
        vault_namespace=settings.vault_namespace,
        vault_cacert=settings.vault_cacert,
        aws_region=settings.aws_region,
        aws_endpoint_url=settings.aws_endpoint_url,
        timeout=settings.secret_timeout_s,
    )
    return KeyRing(
        sources,
        file_poll_s=settings.secret_file_poll_s,
        refresh_s=settings.secret_refresh_s,
        retry_s=settings.secret_retry_s,
        timeout_s=settings.secret_timeout_s,
    )


class DeploymentTable:
    """The current deployments of the running service, republished whenever the config or a key changes."""

    def __init__(self, config: Config, ring: KeyRing, environ: Mapping[str, str] | None = None) -> None:
        self._config = config
        self._ring = ring
        self._environ = os.environ if environ is None else environ
        self._subscribers: list[Publish] = []
        self._warned: set[tuple[str, str]] = set()
        self._deployments = self._resolve()
        ring.track(self._deployments)

    @property
    def deployments(self) -> list[Deployment]:
        """Returns the current table (a new list on every change; never mutated)."""
        return self._deployments

    def subscribe(self, publish: Publish) -> None:
        """Hands every later table to publish."""
        self._subscribers.append(publish)

    async def prime(self) -> list[Deployment]:
        """Reads every watched key once (bounded by the ring's timeout), then logs the table; returns it."""
        await self._ring.refresh()
        self._deployments = self._resolve()
        for deployment in self._deployments:
            if not deployment.available:
                _log_unavailable(deployment)
        self._warn_scopes()
        return self._deployments

    def watch(self) -> asyncio.Task[None]:
        """Starts following the watched keys; returns the task (cancel it on shutdown)."""
        return asyncio.get_running_loop().create_task(self._ring.run(self.rebuild))

    async def reload(self, config: Config) -> list[Deployment]:
        """Takes a reloaded config: watches the keys it names, reads the new ones, publishes its table; returns it."""
        self._config = config
        self._ring.track(resolve_deployments(config, self._environ, self._ring.lookup, quiet=True))
        await self._ring.refresh()
        self.rebuild()
        return self._deployments

    def rebuild(self) -> None:
        """Resolves the config again with the keys the ring holds now, and publishes the table."""
        before = {d.id: d for d in self._deployments}
        self._deployments = self._resolve()
        for deployment in self._deployments:
            was = before.get(deployment.id)
            if deployment.available and was is not None and not was.available:
                log.info("deployment %s (%s) is available: its key arrived", deployment.id, deployment.group)
            elif not deployment.available and (was is None or was.available):
                _log_unavailable(deployment)
        self._warn_scopes()
        for publish in self._subscribers:
            publish(self._deployments)

    def _resolve(self) -> list[Deployment]:
        return resolve_deployments(self._config, self._environ, self._ring.lookup, quiet=True)

    def _warn_scopes(self) -> None:
        for deployment in self._deployments:
            if not deployment.api_key:
                continue
            warning = scope_warning(deployment.provider, deployment.api_key)
            if warning is not None and (deployment.id, warning) not in self._warned:
                self._warned.add((deployment.id, warning))
                log.warning("deployment %s (%s): %s", deployment.id, deployment.group, warning)
