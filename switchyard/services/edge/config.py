"""Typed settings of the REST edge, read from the environment once at start-up."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchyard.runtime.settings import ServiceSettings


class EdgeSettings(ServiceSettings):
    """Where the edge listens, which services /readyz checks, and what a client may hold of it (README,
    "Hostile clients"): how long and how much it may send, how many may connect and be served at once."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_EDGE_", extra="ignore", frozen=True)

    port: int = Field(default=8080, ge=0, le=65535)
    router_target: str = "127.0.0.1:50051"
    classifier_target: str = "127.0.0.1:50052"
    cache_target: str = "127.0.0.1:50053"
    providers_target: str = "127.0.0.1:50054"
    # Seconds from a connection's start (or its last response) until its request headers are complete.
    header_timeout: float = Field(default=10.0, gt=0)
    # Seconds for a whole request body to arrive once its headers did.
    body_timeout: float = Field(default=60.0, gt=0)
    # Seconds an idle keep-alive connection stays open between requests.
    keepalive_timeout: int = Field(default=5, ge=1)
    # Bytes of request line and headers a request may have (431 past it).
    max_header_bytes: int = Field(default=32768, ge=1024)
    # Open connections; past it a new one gets a 503 and is closed.
    max_connections: int = Field(default=4096, ge=1)
    # Requests being served at once; past it a 503 with Retry-After (health checks and /metrics are exempt).
    max_requests: int = Field(default=2048, ge=1)
    # Origins other than the gateway's own whose pages may call it, comma-separated ("*": any).
    allowed_origins: str = ""
