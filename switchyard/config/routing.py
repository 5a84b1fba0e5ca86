"""Switchyard's routing sections: aliases, per-group settings, content rules, experiments, residency,
strategy defaults and the prompt-injection guard, with the checks that what they name exists."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field, field_validator, model_validator

from switchyard.config.base import Section
from switchyard.config.governance import duration_seconds
from switchyard.config.models import Capability, DataClass, ModelEntry
from switchyard.config.router_settings import RoutingStrategy

log = logging.getLogger(__name__)
NOT_ROUTABLE = "which is neither a model group nor an alias"
# The strong_share of a deprecated two-group `auto` alias that did not give one.
TWO_GROUP_STRONG_SHARE = 0.5


class GuardSection(Section):
    """What the router does with a request the prompt-injection guard flags, or could not check."""

    # block: 400 prompt_blocked, nothing forwarded; flag: forwarded and recorded; route: sent to route_to.
    action: Literal["block", "flag", "route"] = "block"
    route_to: str = ""
    # on_unavailable: what a request the classifier could not analyse (down, stalled, past
    # analysis_timeout) gets. allow (the default, DESIGN §5's availability): routed on defaults,
    # never served from nor stored in the cache, and, unless the caller declared its data
    # classification, treated as restricted by residency rules; block: 503 service_unavailable with
    # Retry-After, nothing forwarded.
    on_unavailable: Literal["block", "allow"] = "allow"

    @model_validator(mode="after")
    def _route_needs_a_target(self) -> GuardSection:
        if self.action == "route" and not self.route_to:
            raise ValueError("guard.action 'route' needs guard.route_to (a hardened model group)")
        return self


class HedgeSettings(Section):
    """Hedged requests of a group: when its first attempt has not answered after `after_ms`, or after the
    group's observed latency percentile (`after: p95`), another deployment of the group is called too; the
    first answer wins and the others are cancelled. A stream is hedged only until its first token."""

    after_ms: float | None = Field(default=None, gt=0)
    after: Literal["p50", "p90", "p95", "p99"] | None = None
    # max: how many more attempts may run beside the first.
    max: int = Field(default=1, ge=1, le=3)

    @model_validator(mode="after")
    def _one_delay(self) -> HedgeSettings:
        if (self.after_ms is None) == (self.after is None):
            raise ValueError("hedge takes one of after_ms (milliseconds) or after (p50, p90, p95 or p99)")
        return self


class AliasPolicy(Section):
    """An alias routed by policy over a pool of deployments rather than a fixed group.

    The pool is the deployments of `groups` plus those named in `deployments` (ids); both empty means
    every deployment. `needs` and `min_context_tokens` are capabilities every request of the alias needs.
    - `auto` with `quality_floor` (the default, routing.quality_floor): the cheapest deployment whose
      predicted quality for the request, p_cheap_ok + (1 - p_cheap_ok) * quality, reaches the floor.
    - `auto` with `strong_share`: the cheapest deployment when the classifier's p_cheap_ok reaches the
      threshold calibrated so that about `strong_share` of requests fall below it, else (and without an
      analysis) the highest-quality one. The pool is read cheap to strong (`groups` in order, then
      `deployments`) where prices or qualities are missing or equal. See strategies/quality.py.
    - `cheap`: the cheapest deployment of the pool; `fast`: the lowest expected latency.
    """

    policy: Literal["auto", "cheap", "fast"] = "auto"
    groups: list[str] = Field(default_factory=list)
    deployments: list[str] = Field(default_factory=list)
    quality_floor: float | None = Field(default=None, ge=0.0, le=1.0)
    strong_share: float | None = Field(default=None, ge=0.0, le=1.0)
    needs: list[Capability] = Field(default_factory=list)
    min_context_tokens: int = Field(default=0, ge=0)
    # hedge: hedged requests for this alias (off by default).
    hedge: HedgeSettings | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> AliasPolicy:
        for name, value in (("quality_floor", self.quality_floor), ("strong_share", self.strong_share)):
            if value is not None and self.policy != "auto":
                raise ValueError(f"{name} belongs to the auto policy, not to {self.policy!r}")
        if self.quality_floor is not None and self.strong_share is not None:
            raise ValueError("give the auto policy a quality_floor or a strong_share, not both")
        return self


def migrate_aliases(aliases: object) -> object:
    """Returns raw `switchyard.aliases` with each deprecated two-group `auto` alias in the pool form.

    `{cheap: A, strong: B, strong_share: s}` becomes `{policy: auto, groups: [A, B], strong_share: s}`
    (s 0.5 when not given); each one migrated is logged and warned about (DeprecationWarning) by name.
    """
    if not isinstance(aliases, Mapping):
        return aliases
    return {name: _from_two_groups(str(name), alias) for name, alias in aliases.items()}


def _from_two_groups(name: str, alias: object) -> object:
    if not isinstance(alias, Mapping) or ("cheap" not in alias and "strong" not in alias):
        return alias
    where = f"switchyard.aliases.{name}"
    fields = dict(alias)
    cheap, strong = fields.pop("cheap", None), fields.pop("strong", None)
    if fields.get("policy", "auto") != "auto":
        raise ValueError(f"{where}: cheap and strong belong to the auto policy")
    if cheap is None or strong is None:
        raise ValueError(f"{where}: the auto policy over two groups needs both cheap and strong")
    if any(key in fields for key in ("groups", "deployments", "quality_floor")):
        raise ValueError(f"{where}: give either cheap and strong, or a pool (groups, deployments, quality_floor)")
    groups = list(dict.fromkeys([cheap, strong]))
    share = fields.get("strong_share", TWO_GROUP_STRONG_SHARE)
    fields.update(policy="auto", groups=groups, strong_share=share)
    message = (
        f"{where}: the two-group form (cheap, strong) is deprecated; it is read as "
        f"{{policy: auto, groups: [{', '.join(map(str, groups))}], strong_share: {share}}}: write that instead"
    )
    log.warning(message)
    warnings.warn(message, DeprecationWarning, stacklevel=2)
    return fields


def alias_pool(model_list: Sequence[ModelEntry], alias: AliasPolicy) -> list[ModelEntry]:
    """Returns the deployments an alias's policy chooses among, in file order (every one for an empty pool)."""
    if not alias.groups and not alias.deployments:
        return list(model_list)
    groups, ids = set(alias.groups), set(alias.deployments)
    return [e for e in model_list if e.model_name in groups or e.deployment_id in ids]


def check_aliases(
    aliases: Mapping[str, AliasPolicy], groups: Mapping[str, list[ModelEntry]], model_list: Sequence[ModelEntry]
) -> None:
    """Raises ValueError for an alias that shadows a group, names what does not exist, or leaves the
    quality-floor `auto` policy a deployment without model_info.quality."""
    ids = {entry.deployment_id for entry in model_list}
    for name, alias in aliases.items():
        where = f"switchyard.aliases.{name}"
        if name in groups:
            raise ValueError(f"{where} has the name of a model group")
        for group in alias.groups:
            if group not in groups:
                raise ValueError(f"{where}.groups names {group!r}, which is not a model group")
        for deployment in alias.deployments:
            if deployment not in ids:
                raise ValueError(f"{where}.deployments names {deployment!r}, which is not a deployment id")
        if alias.policy == "auto" and alias.strong_share is None:
            unrated = [e.deployment_id for e in alias_pool(model_list, alias) if e.model_info.quality is None]
            if unrated:
                raise ValueError(f"{where}: the auto policy needs model_info.quality on {', '.join(unrated)}")


class GroupSettings(Section):
    """Switchyard's settings of one model group."""

    # routing_strategy overrides router_settings.routing_strategy for this group.
    routing_strategy: RoutingStrategy | None = None
    # quality_floor is the floor of the cost-quality strategy (default: routing.quality_floor).
    quality_floor: float | None = Field(default=None, ge=0.0, le=1.0)
    # hedge: hedged requests for this group (off by default).
    hedge: HedgeSettings | None = None


class RuleMatch(Section):
    """What a request must show for a content rule to apply; every given condition must hold."""

    # category: one of the classifier's categories, or a list of them.
    category: list[str] = Field(default_factory=list)
    min_category_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    # tags (request context) and metadata (request body): each key must carry one of the listed values.
    tags: dict[str, list[str]] = Field(default_factory=dict)
    metadata: dict[str, list[str]] = Field(default_factory=dict)
    min_prompt_tokens: int = Field(default=0, ge=0)

    @field_validator("category", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("tags", "metadata", mode="before")
    @classmethod
    def _values_one_or_many(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


class ContentRule(Section):
    """Sends requests for `models` (every name when empty) that match to the group or alias `route_to`."""

    name: str = ""
    match: RuleMatch
    models: list[str] = Field(default_factory=list)
    route_to: str = Field(min_length=1)


class ExperimentArm(Section):
    name: str = Field(min_length=1)
    # group: the model group or alias this arm's requests are routed in.
    group: str = Field(min_length=1)
    weight: float = Field(default=1.0, ge=0)


class ShadowTraffic(Section):
    """A copy of `share` of the requests sent to `group`; its answer is recorded, never returned."""

    group: str = Field(min_length=1)
    share: float = Field(default=1.0, ge=0.0, le=1.0)


class Experiment(Section):
    """An A/B split of the requests for `model` (a group, an alias, or a new name) over weighted arms.

    A client stays on one arm by its `sticky` key: the session key, the `user` field or the tenant,
    falling back in that order to the next one it carries, and to a random draw when it carries none.
    """

    model: str = Field(min_length=1)
    arms: list[ExperimentArm] = Field(default_factory=list)
    sticky: Literal["session", "user", "tenant"] = "session"
    shadow: ShadowTraffic | None = None

    @model_validator(mode="after")
    def _arms_make_sense(self) -> Experiment:
        if not self.arms and self.shadow is None:
            raise ValueError("an experiment needs arms, shadow traffic, or both")
        names = [arm.name for arm in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}")
        if self.arms and sum(arm.weight for arm in self.arms) <= 0:
            raise ValueError("at least one arm needs a weight above 0")
        return self


def check_experiments(experiments: Mapping[str, Experiment], routable: set[str]) -> None:
    """Raises ValueError for two experiments on one model, or an arm or shadow naming nothing routable."""
    seen: dict[str, str] = {}
    for name, experiment in experiments.items():
        where = f"switchyard.experiments.{name}"
        if experiment.model in seen:
            raise ValueError(
                f"{where}.model {experiment.model!r} is already split by experiment {seen[experiment.model]}"
            )
        seen[experiment.model] = name
        if not experiment.arms and experiment.model not in routable:
            raise ValueError(f"{where}: model {experiment.model!r} is new, so the experiment needs arms")
        for arm in experiment.arms:
            if arm.group not in routable:
                raise ValueError(f"{where}: arm {arm.name!r} names {arm.group!r}, {NOT_ROUTABLE}")
        if experiment.shadow is not None and experiment.shadow.group not in routable:
            raise ValueError(f"{where}.shadow.group names {experiment.shadow.group!r}, {NOT_ROUTABLE}")


class ResidencySection(Section):
    """How requests pinned to a region or carrying sensitive data are kept to allowed deployments.

    A request region R (for example "eu") admits a deployment region D when D == R, D starts with
    "R-" (eu-west-1) or D matches one of `regions[R]` (exact names, or prefixes ending in "*").
    `regions` adds to and overrides the built-in map (DEFAULT_REGIONS). A deployment without a region
    never receives a region-pinned request.
    """

    regions: dict[str, list[str]] = Field(default_factory=dict)
    # default_deployment_classification: what a deployment without data_classification may receive.
    default_deployment_classification: DataClass = "restricted"


DEFAULT_REGIONS: dict[str, list[str]] = {
    "eu": [
        "europe-*",
        "westeurope",
        "northeurope",
        "francecentral",
        "germanywestcentral",
        "swedencentral",
        "switzerlandnorth",
        "italynorth",
        "polandcentral",
    ],
    "us": ["northamerica-*", "eastus*", "westus*", "centralus", "northcentralus", "southcentralus", "westcentralus"],
}


class RetrainSettings(Section):
    """The router's own refit of its learned quality, on a schedule (`switchyard train-router --from-store`'s)."""

    # every: how often, as a duration ("24h", "30m"); "" (the default) leaves refits to the command.
    every: str = ""
    # min_samples: the judgements a deployment's category needs before its quality is refitted.
    min_samples: int = Field(default=10, ge=1)

    @field_validator("every")
    @classmethod
    def _a_duration(cls, value: str) -> str:
        if value:
            duration_seconds(value)
        return value

    @property
    def every_s(self) -> float:
        """Returns the period in seconds, 0 when off."""
        return float(duration_seconds(self.every)) if self.every else 0.0


class RoutingSection(Section):
    """Defaults of the routing strategies."""

    # utilisation_threshold: at this share of its rpm/tpm a deployment is tried only after cooler ones.
    utilisation_threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    # exploration_rate: how often latency-based routing tries another deployment first, to re-measure it.
    exploration_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    # expected_output_tokens: the completion size assumed for cost when the request sets no max_tokens.
    expected_output_tokens: int = Field(default=256, ge=0)
    quality_floor: float = Field(default=0.8, ge=0.0, le=1.0)
    # length_midpoint_tokens: without an analysis, p_cheap_ok = midpoint / (prompt_tokens + midpoint).
    length_midpoint_tokens: int = Field(default=1000, gt=0)
    # quality_file: the per-deployment, per-category quality `switchyard train-router --from-store` learned
    # from judgements; read over model_info.quality and reloaded when it changes. "" means
    # router-quality.json in the per-user state directory ($XDG_STATE_HOME/switchyard).
    quality_file: str = ""
    # retrain: refit the learned quality from the analytics store every so often, deploying a refit only
    # when it predicts the newest judgements no worse than the quality in force.
    retrain: RetrainSettings = RetrainSettings()
