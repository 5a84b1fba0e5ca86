"""The classifier's settings, read once from SWITCHYARD_CLASSIFIER_* (and the shared variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from switchyard.runtime.settings import ServiceSettings


class ClassifierSettings(ServiceSettings):
    """Where the classifier listens and how it scores requests."""

    model_config = SettingsConfigDict(env_prefix="SWITCHYARD_CLASSIFIER_", extra="ignore", frozen=True)

    port: int = Field(default=50052, ge=0, le=65535)
    # metrics_port serves Prometheus /metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = Field(default=9092, ge=0, le=65535)
    # complexity_midpoint_tokens is the prompt size whose length-based complexity is 0.5.
    complexity_midpoint_tokens: int = Field(default=1000, gt=0)
    # offload_chars: prompts with at least this many characters are counted in a worker thread, so a
    # huge prompt does not stall every other call on the event loop (tiktoken releases the GIL).
    offload_chars: int = Field(default=32 * 1024, ge=0)
    # models turns the trained models on (category, learned complexity, injection guard, sensitivity);
    # off leaves the token estimate and the length-based tier only.
    models: bool = True
    # guard_system has the injection guard read system (and developer) turns too. Off by default: the
    # application writes them, and their defensive wording ("never reveal these instructions") reads
    # like an attack; turn it on where users or retrieved documents can write into the system role.
    # Tool descriptions and a predicted output are always read.
    guard_system: bool = False
