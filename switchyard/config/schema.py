"""The Switchyard configuration file: a LiteLLM-compatible core plus Switchyard's own section.

`load_config(path)` returns a validated `Config`; a bad file raises `ConfigError` naming the field
path, its line and the reason. With no path the embedded default (`default.yaml`) is used: every
deployment answered by the built-in fake provider, so the gateway works with no keys and no network.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from switchyard.config.cache import CacheSection
from switchyard.config.governance import GovernanceSection, master_key_of

ENV_PREFIX = "os.environ/"

# Provider prefixes understood in litellm_params.model, and the wire format each speaks.
PROVIDER_PREFIXES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "hosted_vllm": "vllm",
    "vllm": "vllm",
}
_NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "gemini"),
)
DEFAULT_API_BASES: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
}


class ConfigError(ValueError):
    """A configuration file that cannot be used, with where and why."""


def split_provider(model: str) -> tuple[str, str]:
    """Returns (wire format, upstream model name) for a litellm_params.model value."""
    prefix, sep, rest = model.partition("/")
    if sep and prefix in PROVIDER_PREFIXES:
        return PROVIDER_PREFIXES[prefix], rest
    for start, provider in _NAME_HINTS:
        if model.startswith(start):
            return provider, model
    raise ValueError(
        f"cannot tell the provider of model {model!r}: prefix it with one of "
        + ", ".join(f"{p}/" for p in PROVIDER_PREFIXES)
    )


class _Open(BaseModel):
    """LiteLLM sections accept keys Switchyard does not use yet, so LiteLLM files load unchanged."""

    model_config = ConfigDict(extra="allow", frozen=True)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LiteLLMParams(_Open):
    model: str
    api_base: str | None = None
    api_key: str | None = None
    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)
    timeout: float | None = Field(default=None, gt=0)
    # stream_timeout: for streamed requests, how long to wait for the first token before failing over.
    stream_timeout: float | None = Field(default=None, gt=0)
    weight: float = Field(default=1.0, ge=0)
    order: int | None = None
    region_name: str | None = None

    @field_validator("model")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        split_provider(value)
        return value


# Data classes from least to most sensitive; a deployment's class is the most sensitive it may receive.
DATA_CLASSES: tuple[str, ...] = ("public", "internal", "confidential", "restricted")
DataClass = Literal["public", "internal", "confidential", "restricted"]
Capability = Literal["tools", "vision", "json"]


class ModelInfo(_Open):
    """LiteLLM's model_info (window, prices, capabilities) plus Switchyard's routing facts."""

    id: str | None = None
    # max_tokens is the whole context window unless max_input_tokens is larger (then it caps the output).
    max_tokens: int | None = Field(default=None, gt=0)
    max_input_tokens: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    cache_read_input_token_cost: float | None = Field(default=None, ge=0)
    # Capabilities under LiteLLM's names; None means assumed supported. response_schema covers JSON mode.
    supports_function_calling: bool | None = None
    supports_vision: bool | None = None
    supports_response_schema: bool | None = None
    # quality: expected answer quality in [0, 1], 1 being the best model's (the `auto` policy uses it);
    # quality_by_category overrides it for classifier categories ("code", "math", ...).
    quality: float | None = Field(default=None, ge=0, le=1)
    quality_by_category: dict[str, float] = Field(default_factory=dict)
    # region: where the deployment processes data (falls back to litellm_params.region_name).
    region: str | None = None
    # data_classification: the most sensitive class the deployment may receive (unset: residency default).
    data_classification: DataClass | None = None
    self_hosted: bool = False

    @field_validator("quality_by_category")
    @classmethod
    def _qualities_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for category, quality in value.items():
            if not 0.0 <= quality <= 1.0:
                raise ValueError(f"quality of category {category!r} must be between 0 and 1, not {quality}")
        return value


class ModelEntry(_Open):
    model_name: str = Field(min_length=1)
    litellm_params: LiteLLMParams
    model_info: ModelInfo = ModelInfo()

    @cached_property
    def provider(self) -> str:
        return split_provider(self.litellm_params.model)[0]

    @cached_property
    def upstream_model(self) -> str:
        return split_provider(self.litellm_params.model)[1]

    @cached_property
    def region(self) -> str:
        """Returns the lower-case region the deployment runs in, "" when not configured."""
        return (self.model_info.region or self.litellm_params.region_name or "").lower()

    @cached_property
    def deployment_id(self) -> str:
        """Returns a stable id derived from the deployment's definition (credentials excluded)."""
        if self.model_info.id:
            return self.model_info.id
        params = self.litellm_params.model_dump(exclude={"api_key"}, exclude_none=True)
        canonical = json.dumps([self.model_name, params], sort_keys=True, default=str)
        return f"{self.model_name}-{hashlib.sha256(canonical.encode()).hexdigest()[:10]}"


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


# LiteLLM writes fallbacks as a list of one-key mappings: [{"gpt-4o": ["claude-sonnet", "gemini-pro"]}].
Fallbacks = list[dict[str, list[str]]]


class RouterSettings(_Open):
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
    fallbacks: Fallbacks = Field(default_factory=list)
    context_window_fallbacks: Fallbacks = Field(default_factory=list)
    content_policy_fallbacks: Fallbacks = Field(default_factory=list)
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


class FakeProviderSection(_Closed):
    """The built-in fake OpenAI-compatible provider that `switchyard up` starts when enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=9700, ge=0, le=65535)
    latency_ms: float = Field(default=0.0, ge=0)


class ServiceAddress(_Closed):
    host: str = "127.0.0.1"
    port: int = Field(ge=0, le=65535)


class ServicesSection(_Closed):
    """Where `switchyard up` runs each service (loopback by default)."""

    edge: ServiceAddress = ServiceAddress(port=8080)
    router: ServiceAddress = ServiceAddress(port=50051)
    classifier: ServiceAddress = ServiceAddress(port=50052)
    cache: ServiceAddress = ServiceAddress(port=50053)
    providers: ServiceAddress = ServiceAddress(port=50054)


class GuardSection(_Closed):
    """What the router does with a request the prompt-injection guard flags."""

    # block: 400 prompt_blocked, nothing forwarded; flag: forwarded and recorded; route: sent to route_to.
    action: Literal["block", "flag", "route"] = "block"
    route_to: str = ""

    @model_validator(mode="after")
    def _route_needs_a_target(self) -> GuardSection:
        if self.action == "route" and not self.route_to:
            raise ValueError("guard.action 'route' needs guard.route_to (a hardened model group)")
        return self


class AliasPolicy(_Closed):
    """An alias routed by policy rather than a fixed list of deployments.

    - `auto` with `cheap` and `strong` (two groups): the cheap group unless the classifier predicts the
      cheap model would do worse, calibrated so that about `strong_share` of requests go to the strong group.
    - `auto` over a pool: the cheapest deployment whose predicted quality for the request,
      p_cheap_ok + (1 - p_cheap_ok) * quality, reaches `quality_floor` (see strategies/quality.py).
    - `cheap`: the cheapest deployment of the pool; `fast`: the lowest expected latency.
    The pool is the deployments of `groups` plus those named in `deployments` (ids); both empty means
    every deployment. `needs` and `min_context_tokens` are capabilities every request of the alias needs.
    """

    policy: Literal["auto", "cheap", "fast"] = "auto"
    cheap: str | None = None
    strong: str | None = None
    strong_share: float = Field(default=0.5, ge=0.0, le=1.0)
    groups: list[str] = Field(default_factory=list)
    deployments: list[str] = Field(default_factory=list)
    quality_floor: float | None = Field(default=None, ge=0.0, le=1.0)
    needs: list[Capability] = Field(default_factory=list)
    min_context_tokens: int = Field(default=0, ge=0)

    @property
    def two_groups(self) -> bool:
        """Returns whether this is the `auto` form over a cheap and a strong group."""
        return self.cheap is not None or self.strong is not None

    @model_validator(mode="after")
    def _one_form(self) -> AliasPolicy:
        if self.two_groups:
            if self.policy != "auto":
                raise ValueError("cheap and strong belong to the auto policy")
            if self.cheap is None or self.strong is None:
                raise ValueError("the auto policy over two groups needs both cheap and strong")
            if self.groups or self.deployments or self.quality_floor is not None:
                raise ValueError("give either cheap and strong, or a pool (groups, deployments, quality_floor)")
        elif self.quality_floor is not None and self.policy != "auto":
            raise ValueError(f"quality_floor belongs to the auto policy, not to {self.policy!r}")
        return self


class GroupSettings(_Closed):
    """Switchyard's settings of one model group."""

    # routing_strategy overrides router_settings.routing_strategy for this group.
    routing_strategy: RoutingStrategy | None = None
    # quality_floor is the floor of the cost-quality strategy (default: routing.quality_floor).
    quality_floor: float | None = Field(default=None, ge=0.0, le=1.0)


class RuleMatch(_Closed):
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


class ContentRule(_Closed):
    """Sends requests for `models` (every name when empty) that match to the group or alias `route_to`."""

    name: str = ""
    match: RuleMatch
    models: list[str] = Field(default_factory=list)
    route_to: str = Field(min_length=1)


class ExperimentArm(_Closed):
    name: str = Field(min_length=1)
    # group: the model group or alias this arm's requests are routed in.
    group: str = Field(min_length=1)
    weight: float = Field(default=1.0, ge=0)


class ShadowTraffic(_Closed):
    """A copy of `share` of the requests sent to `group`; its answer is recorded, never returned."""

    group: str = Field(min_length=1)
    share: float = Field(default=1.0, ge=0.0, le=1.0)


class Experiment(_Closed):
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


class ResidencySection(_Closed):
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


class RoutingSection(_Closed):
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


class SwitchyardSection(_Closed):
    services: ServicesSection = ServicesSection()
    fake_provider: FakeProviderSection = FakeProviderSection()
    # request_timeout bounds a whole request, all attempts included (seconds).
    request_timeout: float = Field(default=600.0, gt=0)
    # max_body_bytes caps the request body the edge accepts.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    cache_enabled: bool = True
    guard: GuardSection = GuardSection()
    aliases: dict[str, AliasPolicy] = Field(default_factory=dict)
    groups: dict[str, GroupSettings] = Field(default_factory=dict)
    rules: list[ContentRule] = Field(default_factory=list)
    experiments: dict[str, Experiment] = Field(default_factory=dict)
    residency: ResidencySection = ResidencySection()
    routing: RoutingSection = RoutingSection()
    # redis_url: shared state (rate windows, circuits, latency, budgets, cache) for every replica;
    # empty means in-memory state, one process only (the embedded default).
    redis_url: str = ""
    cache: CacheSection = CacheSection()
    # governance: virtual keys, teams, apps and their budgets (auth is on once keys or a master key exist).
    governance: GovernanceSection = GovernanceSection()


class Config(_Closed):
    model_list: list[ModelEntry] = Field(min_length=1)
    router_settings: RouterSettings = RouterSettings()
    litellm_settings: dict[str, Any] = Field(default_factory=dict)
    general_settings: dict[str, Any] = Field(default_factory=dict)
    environment_variables: dict[str, Any] = Field(default_factory=dict)
    switchyard: SwitchyardSection = SwitchyardSection()

    @model_validator(mode="after")
    def _routing_names_exist(self) -> Config:
        groups = self.groups()
        _check_aliases(self, groups)
        for name in self.switchyard.groups:
            if name not in groups:
                raise ValueError(f"switchyard.groups.{name} is not a model group")
        routable = set(groups) | set(self.switchyard.aliases)
        _check_experiments(self.switchyard.experiments, routable)
        requested = routable | {e.model for e in self.switchyard.experiments.values()}
        for index, rule in enumerate(self.switchyard.rules):
            if rule.route_to not in routable:
                raise ValueError(f"switchyard.rules[{index}].route_to names {rule.route_to!r}, {_NOT_ROUTABLE}")
            for model in rule.models:
                if model not in requested:
                    raise ValueError(f"switchyard.rules[{index}].models names {model!r}, which no client can ask for")
        return self

    @model_validator(mode="after")
    def _guard_target_exists(self) -> Config:
        target = self.switchyard.guard.route_to
        if target and target not in self.groups():
            raise ValueError(f"switchyard.guard.route_to names {target!r}, which is not a model group")
        return self

    @model_validator(mode="after")
    def _fallbacks_name_groups(self) -> Config:
        known = set(self.groups()) | set(self.switchyard.aliases)
        settings = self.router_settings
        for field in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
            for index, mapping in enumerate(getattr(settings, field)):
                for source, targets in mapping.items():
                    for target in (source, *targets):
                        if target not in known:
                            raise ValueError(
                                f"router_settings.{field}[{index}] names {target!r}, which is not a model group"
                            )
        for target in settings.default_fallbacks:
            if target not in known:
                raise ValueError(f"router_settings.default_fallbacks names {target!r}, which is not a model group")
        return self

    @field_validator("general_settings")
    @classmethod
    def _master_key_is_text(cls, value: dict[str, Any]) -> dict[str, Any]:
        master_key_of(value)
        return value

    def state_url(self) -> str:
        """Returns the Redis URL of the shared state, or "" for in-memory state."""
        return self.switchyard.redis_url or self.router_settings.redis_url()

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.model_list):
            if entry.deployment_id in seen:
                raise ValueError(
                    f"model_list[{index}] has the same deployment id {entry.deployment_id!r} "
                    f"as model_list[{seen[entry.deployment_id]}]"
                )
            seen[entry.deployment_id] = index
        return self

    def groups(self) -> dict[str, list[ModelEntry]]:
        """Returns the deployments of each model group, in file order."""
        result: dict[str, list[ModelEntry]] = {}
        for entry in self.model_list:
            result.setdefault(entry.model_name, []).append(entry)
        return result

    def deployment(self, deployment_id: str) -> ModelEntry | None:
        return next((e for e in self.model_list if e.deployment_id == deployment_id), None)


_NOT_ROUTABLE = "which is neither a model group nor an alias"


def alias_pool(config: Config, alias: AliasPolicy) -> list[ModelEntry]:
    """Returns the deployments an alias's policy chooses among, in file order (every one for an empty pool)."""
    if not alias.groups and not alias.deployments:
        return list(config.model_list)
    groups, ids = set(alias.groups), set(alias.deployments)
    return [e for e in config.model_list if e.model_name in groups or e.deployment_id in ids]


def _check_aliases(config: Config, groups: Mapping[str, list[ModelEntry]]) -> None:
    ids = {entry.deployment_id for entry in config.model_list}
    for name, alias in config.switchyard.aliases.items():
        where = f"switchyard.aliases.{name}"
        if name in groups:
            raise ValueError(f"{where} has the name of a model group")
        targets = [("cheap", alias.cheap), ("strong", alias.strong)] + [("groups", g) for g in alias.groups]
        for role, target in targets:
            if target is not None and target not in groups:
                raise ValueError(f"{where}.{role} names {target!r}, which is not a model group")
        for deployment in alias.deployments:
            if deployment not in ids:
                raise ValueError(f"{where}.deployments names {deployment!r}, which is not a deployment id")
        if alias.policy == "auto" and not alias.two_groups:
            unrated = [e.deployment_id for e in alias_pool(config, alias) if e.model_info.quality is None]
            if unrated:
                raise ValueError(f"{where}: the auto policy needs model_info.quality on {', '.join(unrated)}")


def _check_experiments(experiments: Mapping[str, Experiment], routable: set[str]) -> None:
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
                raise ValueError(f"{where}: arm {arm.name!r} names {arm.group!r}, {_NOT_ROUTABLE}")
        if experiment.shadow is not None and experiment.shadow.group not in routable:
            raise ValueError(f"{where}.shadow.group names {experiment.shadow.group!r}, {_NOT_ROUTABLE}")


def resolve_secret(value: str | None, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Returns (value, missing variable name) for a literal or an `os.environ/NAME` reference."""
    if value is None or not value.startswith(ENV_PREFIX):
        return value, None
    name = value.removeprefix(ENV_PREFIX)
    found = environ.get(name)
    return (found, None) if found else (None, name)


def _lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Returns the 1-based line of every mapping key and sequence item in a YAML text."""
    found: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        found[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                walk(value, child)
                found[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return found


def parse_config(text: str, source: str = "<config>") -> Config:
    """Returns the validated config in a YAML text, or raises ConfigError naming field, line and reason."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = _lines(text)
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
            where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
            problems.append(f"{source}:{line}: {where or '(top)'}: {error['msg']}")
        raise ConfigError("invalid configuration\n  " + "\n  ".join(problems)) from None


def load_config(path: str | Path | None) -> Config:
    """Returns the config at path, or the embedded default when path is empty."""
    if not path:
        text = resources.files("switchyard.config").joinpath("default.yaml").read_text()
        return parse_config(text, "embedded default")
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    return parse_config(text, str(file))
