"""The whole file: LiteLLM's top-level keys, Switchyard's own `switchyard:` section, and the checks
that span sections (every name a section refers to is a group, an alias or a deployment)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from switchyard.config.analytics import AnalyticsSection
from switchyard.config.base import Section
from switchyard.config.cache import CacheSection
from switchyard.config.evaluation import EvaluationSection
from switchyard.config.governance import GovernanceSection, master_key_of
from switchyard.config.models import ModelEntry
from switchyard.config.responses import ResponsesSection
from switchyard.config.router_settings import RouterSettings
from switchyard.config.routing import (
    NOT_ROUTABLE,
    AliasPolicy,
    ContentRule,
    Experiment,
    GroupSettings,
    GuardSection,
    ResidencySection,
    RoutingSection,
    check_aliases,
    check_experiments,
    migrate_aliases,
)
from switchyard.config.services import FakeProviderSection, ServicesSection


class SwitchyardSection(Section):
    services: ServicesSection = ServicesSection()
    fake_provider: FakeProviderSection = FakeProviderSection()
    # request_timeout bounds a whole request, all attempts and the whole stream included (seconds).
    # 120 s suits interactive use (LiteLLM's default is 600 s); raise it for long batch generations.
    request_timeout: float = Field(default=120.0, gt=0)
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
    # analytics: the durable history of the ledger (SQLite or PostgreSQL) that spend reports read.
    analytics: AnalyticsSection = AnalyticsSection()
    # evaluation: which completed requests the evaluator grades, and which model group judges them.
    evaluation: EvaluationSection = EvaluationSection()
    # responses: the Responses API's stored conversations (previous_response_id), in Redis when configured.
    responses: ResponsesSection = ResponsesSection()

    @field_validator("aliases", mode="before")
    @classmethod
    def _one_alias_form(cls, value: object) -> object:
        return migrate_aliases(value)


class Config(Section):
    model_list: list[ModelEntry] = Field(min_length=1)
    router_settings: RouterSettings = RouterSettings()
    litellm_settings: dict[str, Any] = Field(default_factory=dict)
    general_settings: dict[str, Any] = Field(default_factory=dict)
    environment_variables: dict[str, Any] = Field(default_factory=dict)
    switchyard: SwitchyardSection = SwitchyardSection()

    @model_validator(mode="after")
    def _routing_names_exist(self) -> Config:
        groups = self.groups()
        check_aliases(self.switchyard.aliases, groups, self.model_list)
        for name in self.switchyard.groups:
            if name not in groups:
                raise ValueError(f"switchyard.groups.{name} is not a model group")
        routable = set(groups) | set(self.switchyard.aliases)
        check_experiments(self.switchyard.experiments, routable)
        requested = routable | {e.model for e in self.switchyard.experiments.values()}
        for index, rule in enumerate(self.switchyard.rules):
            if rule.route_to not in routable:
                raise ValueError(f"switchyard.rules[{index}].route_to names {rule.route_to!r}, {NOT_ROUTABLE}")
            for model in rule.models:
                if model not in requested:
                    raise ValueError(f"switchyard.rules[{index}].models names {model!r}, which no client can ask for")
        return self

    @model_validator(mode="after")
    def _judge_exists(self) -> Config:
        judge = self.switchyard.evaluation.judge
        if judge and judge not in self.groups():
            raise ValueError(f"switchyard.evaluation.judge names {judge!r}, which is not a model group")
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

    def state_url(self) -> str:
        """Returns the Redis URL of the shared state, or "" for in-memory state."""
        return self.switchyard.redis_url or self.router_settings.redis_url()

    def groups(self) -> dict[str, list[ModelEntry]]:
        """Returns the deployments of each model group, in file order."""
        result: dict[str, list[ModelEntry]] = {}
        for entry in self.model_list:
            result.setdefault(entry.model_name, []).append(entry)
        return result
