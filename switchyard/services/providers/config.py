"""The providers service's settings, and the one place that reads provider credentials from the environment.

`resolve_deployments` turns the config's model_list into Deployments with their `api_key` and
`api_base` resolved (`os.environ/NAME` references included). A variable that is not set is
logged by name, never by value, and makes that deployment unavailable instead of failing start-up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchyard.config import DEFAULT_API_BASES, Config, ModelEntry, resolve_secret
from switchyard.runtime.pricing import prices_of
from switchyard.runtime.settings import ServiceSettings
from switchyard.services.providers.adapters import SUPPORTED_PROVIDERS
from switchyard.services.providers.adapters.base import Deployment

log = logging.getLogger("switchyard.services.providers")


class ProviderSettings(ServiceSettings):
    """Settings of the providers service, read from SWITCHYARD_PROVIDERS_* variables."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_PROVIDERS_", extra="ignore", frozen=True)

    port: int = Field(default=50054, ge=0, le=65535)
    # metrics_port serves Prometheus /metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = Field(default=9094, ge=0, le=65535)
    # Pool limits of the one httpx client per upstream base URL.
    max_connections: int = Field(default=1000, gt=0)
    max_keepalive_connections: int = Field(default=200, ge=0)


def _deployment(entry: ModelEntry, config: Config, environ: Mapping[str, str]) -> Deployment:
    params = entry.litellm_params
    provider, deployment_id = entry.provider, entry.deployment_id
    api_key, missing_key = resolve_secret(params.api_key, environ)
    api_base, missing_base = resolve_secret(params.api_base, environ)
    api_base = (api_base or DEFAULT_API_BASES.get(provider, "")).rstrip("/")
    reason = ""
    missing = missing_key or missing_base
    if missing:
        reason = f"environment variable {missing} is not set"
        log.warning("deployment %s (%s) is unavailable: %s", deployment_id, entry.model_name, reason)
    elif provider not in SUPPORTED_PROVIDERS:
        reason = f"no adapter for the {provider} wire format yet"
    elif not api_base:
        reason = "no api_base configured"
    return Deployment(
        id=deployment_id,
        group=entry.model_name,
        provider=provider,
        model=entry.upstream_model,
        api_base=api_base,
        api_key=api_key,
        available=not reason,
        unavailable_reason=reason,
        timeout=params.timeout or config.router_settings.timeout,
        api_version=str((params.model_extra or {}).get("api_version") or ""),
        prices=prices_of(entry),
    )


def resolve_deployments(config: Config, environ: Mapping[str, str] | None = None) -> list[Deployment]:
    """Returns every configured deployment with its credentials resolved from environ (os.environ)."""
    env = os.environ if environ is None else environ
    return [_deployment(entry, config, env) for entry in config.model_list]
