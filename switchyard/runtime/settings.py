"""The settings every Switchyard service shares; each service's `config` module extends them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings read from the environment once at start-up; each service adds its own prefix."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # config is the YAML file to load; empty means the embedded default.
    config: str = Field(default="", validation_alias="SWITCHYARD_CONFIG")
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    # health_port serves grpc.health.v1 alone, in plaintext, on host: for probes that cannot present a
    # client certificate (Kubernetes' gRPC probe) while the service port demands one. 0: no such port.
    health_port: int = Field(default=0, ge=0, le=65535)
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


class TlsSettings(BaseSettings):
    """Where a process finds its identity for mutual TLS between services (see `tls.load_identity`)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    # tls: "on" (the default once files are found) or "off" for plaintext between services, said explicitly.
    tls: Literal["on", "off"] | None = Field(default=None, validation_alias="SWITCHYARD_TLS")
    # tls_dir holds either one identity as cert-manager writes it (tls.crt, tls.key, ca.crt) or a CA and
    # a certificate per role as `switchyard certs dev` writes it (ca.crt, <role>.crt, <role>.key).
    tls_dir: str = Field(default="", validation_alias="SWITCHYARD_TLS_DIR")
    # Explicit files win over the directory's: the CA bundle callers and servers must chain to, and this
    # process's own certificate (chain) and private key.
    tls_ca: str = Field(default="", validation_alias="SWITCHYARD_TLS_CA")
    tls_cert: str = Field(default="", validation_alias="SWITCHYARD_TLS_CERT")
    tls_key: str = Field(default="", validation_alias="SWITCHYARD_TLS_KEY")

    @field_validator("tls", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        # An empty variable is an unset one (so a caller can blank an inherited setting).
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    def configured(self) -> bool:
        """Says whether any TLS variable is set (`switchyard up` makes a development CA when none is)."""
        return bool(self.tls or self.tls_dir or self.tls_ca or self.tls_cert or self.tls_key)
