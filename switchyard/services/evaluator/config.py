"""Typed settings of the evaluator service, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchyard.config import Config, ConfigError, resolve_secret
from switchyard.config.governance import master_key_of
from switchyard.runtime.settings import ServiceSettings


class EvaluatorSettings(ServiceSettings):
    """Where the evaluator listens, where the router (the judge's front door) is, and how it consumes samples."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_EVALUATOR_", extra="ignore", frozen=True)

    port: int = Field(default=50055, ge=0, le=65535)
    # metrics_port serves Prometheus /metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = Field(default=9095, ge=0, le=65535)
    # router_target is the router's front door, which the judge is asked through.
    router_target: str = "127.0.0.1:50051"
    # judge_timeout bounds one judge call (seconds).
    judge_timeout: float = Field(default=60.0, gt=0)
    # workers is how many samples are graded at once.
    workers: int = Field(default=4, ge=1)
    # Samples arrive on the Redis stream <state_prefix>evaluation when the config names a Redis URL.
    state_prefix: str = Field(default="switchyard:router:", min_length=1)
    consumer_group: str = "evaluator"
    # save_s is how often the quality and experiment numbers are saved when they changed (see persist.py).
    save_s: float = Field(default=5.0, gt=0)


def judge_authorization(config: Config, environ: Mapping[str, str] = os.environ) -> str:
    """Returns the `authorization` the judge's calls carry: the master key when auth is on, else ""."""
    master, missing = resolve_secret(master_key_of(config.general_settings), environ)
    if missing:
        raise ConfigError(f"general_settings.master_key names the variable {missing}, which is not set")
    return f"Bearer {master}" if master else ""
