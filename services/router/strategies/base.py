"""The routing-strategy interface: a pure function from candidates to a ranked plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from services.common.config import ModelEntry

CircuitState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class DeploymentStats:
    """What the shared state knows of one deployment when a request is planned (a snapshot)."""

    # EWMAs over recent successful calls, None until measured.
    latency_ms: float | None = None
    ttft_ms: float | None = None
    samples: int = 0
    # in_flight counts requests being answered now, across router replicas.
    in_flight: int = 0
    # Use in the current one-minute window, across replicas, and the configured limits (None: no limit).
    rpm_used: int = 0
    tpm_used: int = 0
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    # What the provider last reported it has left (x-ratelimit-remaining-*), None when unknown.
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    circuit: CircuitState = "closed"


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What is known about the request being routed: from the request itself and the classifier."""

    prompt_tokens: int = 0
    # max_output_tokens is the completion budget the client asked for (max_tokens), None when unset.
    max_output_tokens: int | None = None
    category: str = ""
    # p_cheap_ok: the classifier's probability that a cheap model answers as well as a strong one.
    p_cheap_ok: float | None = None
    needs_tools: bool = False
    needs_vision: bool = False
    needs_json: bool = False
    # session_key keeps a user or session on one A/B arm ("" when the request carries none).
    session_key: str = ""


@dataclass(frozen=True)
class Candidate:
    """A deployment the request may go to, with what the strategy may weigh."""

    entry: ModelEntry
    stats: DeploymentStats = field(default_factory=DeploymentStats)

    @property
    def deployment_id(self) -> str:
        return self.entry.deployment_id


@dataclass(frozen=True)
class Plan:
    """A ranked list of deployments to try in order, and why."""

    strategy: str
    order: tuple[Candidate, ...]
    reason: str
    score: float = 0.0


class Strategy(Protocol):
    """Ranks the candidates of one request; must not do I/O."""

    name: str

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan: ...


_REGISTRY: dict[str, Callable[[], Strategy]] = {}


def register(*names: str) -> Callable[[Callable[[], Strategy]], Callable[[], Strategy]]:
    """Registers a strategy factory under its config names."""

    def add(factory: Callable[[], Strategy]) -> Callable[[], Strategy]:
        for name in names:
            _REGISTRY[name] = factory
        return factory

    return add


def lookup(name: str) -> Strategy | None:
    """Returns a new strategy for a config name, or None when none is registered under it."""
    factory = _REGISTRY.get(name)
    return factory() if factory else None
