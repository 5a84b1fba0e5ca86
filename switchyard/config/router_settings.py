"""`router_settings`: LiteLLM's routing, retry, fallback and shared-state settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from switchyard.config.base import LiteLLMSection

RoutingStrategy = Literal[
    "simple-shuffle",
    "shuffle",
    "weighted",
    "latency-based-routing",
    "least-busy",
    "usage-based-routing",
    "usage-based-routing-v2",
    "cost-based-routing",
    "cost-quality",
]


# The longest slow-start ramp: the shared state reports how long ago a circuit closed for this long at most.
SLOW_START_MAX_S = 600.0

# LiteLLM writes fallbacks as a list of one-key mappings: [{"gpt-4o": ["claude-sonnet", "gemini-pro"]}].
FallbackList = list[dict[str, list[str]]]


class RouterSettings(LiteLLMSection):
    routing_strategy: RoutingStrategy = "simple-shuffle"
    num_retries: int = Field(default=2, ge=0, le=20)
    timeout: float = Field(default=600.0, gt=0)
    allowed_fails: int = Field(default=3, ge=0)
    cooldown_time: float = Field(default=60.0, ge=0)
    # retry_policy: retries per error class, LiteLLM's keys (RateLimitErrorRetries, TimeoutErrorRetries,
    # InternalServerErrorRetries, ContentPolicyViolationErrorRetries, BadRequestErrorRetries, ...).
    retry_policy: dict[str, int] = Field(default_factory=dict)
    # retry_after: the least time (seconds) to wait before retrying a deployment; backoff grows from it.
    retry_after: float = Field(default=0.0, ge=0)
    # stream_timeout: default time-to-first-token deadline of streamed requests (per-deployment overrides).
    stream_timeout: float | None = Field(default=None, gt=0)
    # stream_idle_timeout: after a stream's first token, the longest gap between two chunks (seconds);
    # past it the stream ends with an error event and the deployment's circuit counts a failure.
    stream_idle_timeout: float = Field(default=30.0, gt=0)
    # slow_start_s: after its circuit closes, a deployment's share of traffic grows linearly over this
    # long (seconds; Envoy's slow start) from a tenth of it; 0 gives it its full share at once.
    slow_start_s: float = Field(default=30.0, ge=0, le=SLOW_START_MAX_S)
    # max_retry_wait_s: the longest a request waits to retry a deployment (its Retry-After or backoff)
    # while a fallback group is left to try; a longer wait goes to the fallback at once.
    max_retry_wait_s: float = Field(default=1.0, ge=0)
    fallbacks: FallbackList = Field(default_factory=list)
    context_window_fallbacks: FallbackList = Field(default_factory=list)
    content_policy_fallbacks: FallbackList = Field(default_factory=list)
    # default_fallbacks: groups tried after any group's own deployments and fallbacks fail.
    default_fallbacks: list[str] = Field(default_factory=list)
    # LiteLLM's shared-state settings; switchyard.redis_url takes precedence when set.
    redis_host: str | None = None
    redis_port: int | None = Field(default=None, ge=1, le=65535)
    redis_password: str | None = None

    def redis_url(self) -> str:
        """Returns the redis:// URL LiteLLM's redis_host/port/password describe, or "" when unset."""
        if not self.redis_host:
            return ""
        auth = f":{self.redis_password}@" if self.redis_password else ""
        return f"redis://{auth}{self.redis_host}:{self.redis_port or 6379}/0"
