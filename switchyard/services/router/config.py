"""Typed settings of the router service, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchyard.config import Config, ConfigError, resolve_secret
from switchyard.config.governance import master_key_of, prefix_of, token_of
from switchyard.runtime.settings import ServiceSettings


class RouterServiceSettings(ServiceSettings):
    """Where the router listens and where its peers are."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_ROUTER_", extra="ignore", frozen=True)

    port: int = Field(default=50051, ge=0, le=65535)
    # metrics_port serves Prometheus /metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = Field(default=9091, ge=0, le=65535)
    classifier_target: str = "127.0.0.1:50052"
    cache_target: str = "127.0.0.1:50053"
    providers_target: str = "127.0.0.1:50054"
    # evaluator_target receives sampled requests (when no Redis stream carries them) and feedback; "" is none.
    evaluator_target: str = ""
    # analysis_timeout bounds the classifier call; past it the request routes on defaults.
    analysis_timeout: float = Field(default=0.5, gt=0)
    # cache_timeout bounds a cache lookup; past it the request skips the cache.
    cache_timeout: float = Field(default=0.25, gt=0)
    # deployments_refresh is how often the router re-reads which deployments can be called (seconds).
    deployments_refresh: float = Field(default=5.0, gt=0)
    # config_poll is how often the config file is checked for changes (seconds); 0 leaves reloads to SIGHUP.
    config_poll: float = Field(default=1.0, ge=0)
    # Backoff before a deployment is retried: full jitter over min(retry_backoff_max, retry_backoff_base * 2^k)
    # seconds, never less than router_settings.retry_after or the upstream's Retry-After.
    retry_backoff_base: float = Field(default=0.1, ge=0)
    retry_backoff_max: float = Field(default=5.0, ge=0)
    # Shared state (rate windows, circuits, latency): the Redis URL comes from the config file
    # (switchyard.redis_url, else router_settings.redis_host/port); these say how it is used.
    # state_prefix starts every key, so several gateways can share one Redis.
    state_prefix: str = Field(default="switchyard:router:", min_length=1)
    # state_timeout bounds every Redis call (seconds); past it the call is served from local state.
    state_timeout: float = Field(default=0.1, gt=0)
    # governance_timeout bounds a key check and budget reservation in Redis (seconds); past it a request
    # with a hard budget is refused (503, nothing forwarded), others are counted on this replica.
    governance_timeout: float = Field(default=1.0, gt=0)
    # state_refresh is how often the local mirror of the shared state is re-read (seconds).
    state_refresh: float = Field(default=0.25, gt=0)
    # health_interval is how often deployments are probed actively (seconds; one replica probes at a
    # time); 0 turns active health checks off, leaving the circuits to real traffic.
    health_interval: float = Field(default=30.0, ge=0)
    # health_timeout bounds one deployment's probe (seconds).
    health_timeout: float = Field(default=5.0, gt=0)


@dataclass(frozen=True)
class Secrets:
    """The hashes of the config's secrets: the master key's token, and (token, prefix) of each key in order."""

    master_token: str | None
    keys: tuple[tuple[str, str], ...]


def governance_secrets(config: Config, environ: Mapping[str, str] = os.environ) -> Secrets:
    """Returns the hashes of the master key and of the config's keys, reading os.environ/NAME references.

    Only hashes leave this function: the secrets themselves are not kept.
    """
    master, missing = resolve_secret(master_key_of(config.general_settings), environ)
    if missing:
        raise ConfigError(f"general_settings.master_key names the variable {missing}, which is not set")
    keys: list[tuple[str, str]] = []
    for index, spec in enumerate(config.switchyard.governance.keys):
        if not spec.key_ref:
            keys.append((spec.token, spec.key_prefix))
            continue
        secret, missing = resolve_secret(spec.key_ref, environ)
        if missing or secret is None:
            raise ConfigError(f"switchyard.governance.keys[{index}].key names the variable {missing}, which is not set")
        if not secret.startswith("sk-"):
            raise ConfigError(f"switchyard.governance.keys[{index}].key: the key in {spec.key_ref} must start with sk-")
        keys.append((token_of(secret), prefix_of(secret)))
    return Secrets(token_of(master) if master else None, tuple(keys))
