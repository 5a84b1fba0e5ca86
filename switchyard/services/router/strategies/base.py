"""The routing-strategy interface: a pure function from candidates to a ranked plan."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

from switchyard.common.v1 import errors_pb2
from switchyard.config import ModelEntry

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
    # recovered_s: seconds since the circuit last closed after being open (the slow-start ramp reads it),
    # None when it has not closed within SLOW_START_MAX_S.
    recovered_s: float | None = None


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
    # model is the name the client asked for.
    model: str = ""
    stream: bool = False
    category_confidence: float = 0.0
    # data_classification: the more sensitive of the caller's and the classifier's ("" when neither says).
    data_classification: str = ""
    # data_assumed: neither said (the classifier was unavailable, no header): residency assumes the worst.
    data_assumed: bool = False
    # region: where the data must stay, lower case ("" means anywhere).
    region: str = ""
    user: str = ""
    tenant: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    # tokens_by_family: the classifier's prompt-size estimates for other tokenizers ("anthropic", "gemini").
    tokens_by_family: Mapping[str, int] = field(default_factory=dict)
    # min_context_tokens: a window every candidate must have, whatever this request needs (alias policies).
    min_context_tokens: int = 0


@dataclass(frozen=True)
class Candidate:
    """A deployment the request may go to, with what the strategy may weigh."""

    entry: ModelEntry
    stats: DeploymentStats = field(default_factory=DeploymentStats)

    @property
    def deployment_id(self) -> str:
        return self.entry.deployment_id


class Skip(NamedTuple):
    """A deployment left out of a plan: which, the ErrorReason value, and why in words."""

    deployment_id: str
    reason: errors_pb2.ErrorReason.ValueType
    detail: str


@dataclass(frozen=True)
class Plan:
    """A ranked list of deployments to try in order, and why."""

    strategy: str
    order: tuple[Candidate, ...]
    reason: str
    score: float = 0.0
    # skipped: candidates left out (residency, capability, window, open circuit), each with its cause.
    skipped: tuple[Skip, ...] = ()


@dataclass(frozen=True)
class ShareRule:
    """The `auto` alias's strong_share rule (strategies/quality.py), in place of a quality floor."""

    strong_share: float
    # threshold: the p_cheap_ok below which about strong_share of requests fall (the complexity model's calibration).
    threshold: float
    # groups: the pool's groups read cheap to strong, which order deployments whose prices or qualities tie.
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class StrategyOptions:
    """What a strategy is configured with; rng is injectable so tests draw reproducibly."""

    rng: random.Random = field(default_factory=random.Random)
    exploration_rate: float = 0.05
    expected_output_tokens: int = 256
    quality_floor: float = 0.8
    length_midpoint_tokens: int = 1000
    # share: set for an `auto` alias with a strong_share, which cost-quality then follows instead of the floor.
    share: ShareRule | None = None


class Strategy(Protocol):
    """Ranks the candidates of one request; must not do I/O."""

    name: str

    def plan(self, candidates: Sequence[Candidate], facts: RequestFacts) -> Plan: ...


StrategyFactory = Callable[[StrategyOptions], Strategy]
_REGISTRY: dict[str, StrategyFactory] = {}


def register(*names: str) -> Callable[[StrategyFactory], StrategyFactory]:
    """Registers a strategy factory under its config names."""

    def add(factory: StrategyFactory) -> StrategyFactory:
        for name in names:
            _REGISTRY[name] = factory
        return factory

    return add


def lookup(name: str, options: StrategyOptions | None = None) -> Strategy | None:
    """Returns a new strategy for a config name, or None when none is registered under it."""
    factory = _REGISTRY.get(name)
    return factory(options or StrategyOptions()) if factory else None


# The classifier's tokens_by_family key for each wire format whose tokenizer differs from cl100k.
TOKEN_FAMILY = {"anthropic": "anthropic", "gemini": "gemini"}


def prompt_tokens_for(entry: ModelEntry, facts: RequestFacts) -> int:
    """Returns the prompt size in the deployment's own tokens when the classifier estimated it."""
    family = TOKEN_FAMILY.get(entry.provider)
    if entry.provider == "vertex_ai":
        # Vertex AI serves Anthropic's claude-* models and Google's Gemini models, each counting its own way.
        family = "anthropic" if entry.upstream_model.startswith("claude") else "gemini"
    if family is None:
        return facts.prompt_tokens
    return facts.tokens_by_family.get(family, facts.prompt_tokens)
