"""Typed settings of the REST edge, read from the environment once at start-up."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchyard.runtime.settings import ServiceSettings


class EdgeSettings(ServiceSettings):
    """Where the edge listens and which services /readyz checks."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_EDGE_", extra="ignore", frozen=True)

    port: int = Field(default=8080, ge=0, le=65535)
    router_target: str = "127.0.0.1:50051"
    classifier_target: str = "127.0.0.1:50052"
    cache_target: str = "127.0.0.1:50053"
    providers_target: str = "127.0.0.1:50054"
