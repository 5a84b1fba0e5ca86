"""The Switchyard configuration file: a LiteLLM-compatible core plus Switchyard's own section.

`load_config(path)` returns a validated `Config`; a bad file raises `ConfigError` naming the field
path, its line and the reason. A module per part of the file:

    models           model_list: deployments, litellm_params, model_info, provider prefixes
    router_settings  router_settings: strategy, retries, fallbacks, LiteLLM's Redis settings
    routing          switchyard: aliases, groups, rules, experiments, residency, routing, guard
    services         switchyard: services and the fake provider
    cache            switchyard.cache and LiteLLM's cache settings
    governance       switchyard.governance: keys, teams, apps, budgets
    document         the whole file (Config) and the checks across its sections
    loader           YAML to Config with line numbers; the embedded default (default.yaml)
    secrets          os.environ/NAME references
"""

from __future__ import annotations

from switchyard.config.cache import CacheSection
from switchyard.config.document import Config, SwitchyardSection
from switchyard.config.governance import GovernanceSection
from switchyard.config.loader import ConfigError, load_config, parse_config
from switchyard.config.models import (
    DATA_CLASSES,
    DEFAULT_API_BASES,
    PROVIDER_PREFIXES,
    Capability,
    DataClass,
    LiteLLMParams,
    ModelEntry,
    ModelInfo,
    split_provider,
)
from switchyard.config.router_settings import SLOW_START_MAX_S, FallbackList, RouterSettings, RoutingStrategy
from switchyard.config.routing import (
    DEFAULT_REGIONS,
    AliasPolicy,
    ContentRule,
    Experiment,
    ExperimentArm,
    GroupSettings,
    GuardSection,
    HedgeSettings,
    ResidencySection,
    RoutingSection,
    RuleMatch,
    ShadowTraffic,
    alias_pool,
)
from switchyard.config.secrets import ENV_PREFIX, resolve_secret
from switchyard.config.services import FakeProviderSection, ServiceAddress, ServicesSection

__all__ = [
    "DATA_CLASSES",
    "DEFAULT_API_BASES",
    "DEFAULT_REGIONS",
    "ENV_PREFIX",
    "PROVIDER_PREFIXES",
    "SLOW_START_MAX_S",
    "AliasPolicy",
    "CacheSection",
    "Capability",
    "Config",
    "ConfigError",
    "ContentRule",
    "DataClass",
    "Experiment",
    "ExperimentArm",
    "FakeProviderSection",
    "FallbackList",
    "GovernanceSection",
    "GroupSettings",
    "GuardSection",
    "HedgeSettings",
    "LiteLLMParams",
    "ModelEntry",
    "ModelInfo",
    "ResidencySection",
    "RouterSettings",
    "RoutingSection",
    "RoutingStrategy",
    "RuleMatch",
    "ServiceAddress",
    "ServicesSection",
    "ShadowTraffic",
    "SwitchyardSection",
    "alias_pool",
    "load_config",
    "parse_config",
    "resolve_secret",
    "split_provider",
]
