"""`switchyard.services` and `switchyard.fake_provider`: where `switchyard up` runs each process."""

from __future__ import annotations

from pydantic import Field

from switchyard.config.base import Section


class FakeProviderSection(Section):
    """The built-in fake OpenAI-compatible provider that `switchyard up` starts when enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9700, ge=0, le=65535)
    latency_ms: float = Field(default=0.0, ge=0)


class ServiceAddress(Section):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


class ServicesSection(Section):
    """Where `switchyard up` runs each service (loopback by default)."""

    edge: ServiceAddress = ServiceAddress(port=8080)
    router: ServiceAddress = ServiceAddress(port=50051)
    classifier: ServiceAddress = ServiceAddress(port=50052)
    cache: ServiceAddress = ServiceAddress(port=50053)
    providers: ServiceAddress = ServiceAddress(port=50054)
    evaluator: ServiceAddress = ServiceAddress(port=50055)
