"""The settings every Switchyard service shares; each service's `config` module extends them."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings read from the environment once at start-up; each service adds its own prefix."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # config is the YAML file to load; empty means the embedded default.
    config: str = Field(default="", validation_alias="SWITCHYARD_CONFIG")
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    # grace_period is how long a stopping service lets in-flight requests finish (seconds).
    grace_period: float = Field(default=10.0, ge=0, validation_alias="SWITCHYARD_GRACE_PERIOD")
    log_level: str = Field(default="INFO", validation_alias="SWITCHYARD_LOG_LEVEL")
    otlp_endpoint: str = Field(default="", validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")


class ReflectionSettings(BaseSettings):
    """Whether a gRPC service offers server reflection, read from the environment when its server is built."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    config: str = Field(default="", validation_alias="SWITCHYARD_CONFIG")
    # reflection turns gRPC server reflection on (1) or off (0); unset, it is on for the embedded default
    # only (no config file), so a deployed service does not describe its API to whoever can reach it.
    reflection: bool | None = Field(default=None, validation_alias="SWITCHYARD_REFLECTION")

    @property
    def reflection_on(self) -> bool:
        """Says whether gRPC services offer server reflection (see `reflection`)."""
        return self.reflection if self.reflection is not None else not self.config
