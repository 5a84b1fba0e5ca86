"""The configuration file: LiteLLM files load unchanged, bad files say where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.config import ConfigError, load_config, parse_config, resolve_secret, split_provider
from tests.support import ROOT


def test_litellm_example_loads_as_is() -> None:
    config = load_config(ROOT / "examples" / "litellm-compat.yaml")
    groups = config.groups()
    assert [e.provider for e in groups["default"]] == ["openai", "anthropic"]
    assert [e.upstream_model for e in groups["fast"]] == ["gpt-4o-mini", "claude-3-haiku-20240307"]
    assert config.router_settings.routing_strategy == "latency-based-routing"
    assert (config.router_settings.num_retries, config.router_settings.timeout) == (2, 30)
    assert groups["default"][0].model_info.max_tokens == 128000


def test_embedded_default_has_the_demo_groups_and_policy_aliases() -> None:
    config = load_config(None)
    assert {"default", "gpt-4o", "gpt-4o-mini", "llama-3.1-8b"} <= set(config.groups())
    aliases = config.switchyard.aliases
    assert {name: alias.policy for name, alias in aliases.items()} == {"auto": "auto", "fast": "fast", "cheap": "cheap"}
    assert aliases["auto"].quality_floor == 0.8
    assert config.switchyard.fake_provider.enabled
    for entry in config.model_list:
        info = entry.model_info
        assert info.max_tokens and info.input_cost_per_token and info.quality is not None, entry.deployment_id
        assert entry.region, f"{entry.deployment_id} has no region"


@pytest.mark.parametrize(
    ("model", "provider", "upstream"),
    [
        ("openai/gpt-4o", "openai", "gpt-4o"),
        ("anthropic/claude-3-5-sonnet-20241022", "anthropic", "claude-3-5-sonnet-20241022"),
        ("gemini/gemini-2.0-flash", "gemini", "gemini-2.0-flash"),
        ("hosted_vllm/meta-llama/Llama-3.1-8B-Instruct", "vllm", "meta-llama/Llama-3.1-8B-Instruct"),
        ("gpt-4o-mini", "openai", "gpt-4o-mini"),
    ],
)
def test_provider_prefixes(model: str, provider: str, upstream: str) -> None:
    assert split_provider(model) == (provider, upstream)


def test_bad_file_names_field_line_and_reason() -> None:
    text = "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/x\n      rpm: -5\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "bad.yaml")
    assert "bad.yaml:5: model_list[0].litellm_params.rpm" in str(caught.value)
    assert "greater than or equal to 0" in str(caught.value)


def test_unknown_provider_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("model_list:\n  - model_name: a\n    litellm_params: {model: mystery-model}\n")
    assert "prefix it with one of" in str(caught.value)


def test_unknown_switchyard_key_is_refused() -> None:
    text = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\nswitchyard:\n  cach_enabled: true\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert "switchyard.cach_enabled" in str(caught.value)


def test_deployment_ids_are_stable_and_exclude_keys() -> None:
    one = parse_config("model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, api_key: k1}\n")
    two = parse_config("model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, api_key: k2}\n")
    assert one.model_list[0].deployment_id == two.model_list[0].deployment_id
    assert "k1" not in one.model_list[0].deployment_id


def test_environment_references() -> None:
    assert resolve_secret("os.environ/SY_KEY", {"SY_KEY": "v"}) == ("v", None)
    assert resolve_secret("os.environ/SY_KEY", {}) == (None, "SY_KEY")
    assert resolve_secret("literal", {}) == ("literal", None)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_guard_route_needs_an_existing_group() -> None:
    base = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\n"
    with pytest.raises(ConfigError, match=r"needs guard\.route_to"):
        parse_config(base + "switchyard:\n  guard: {action: route}\n")
    with pytest.raises(ConfigError, match="not a model group"):
        parse_config(base + "switchyard:\n  guard: {action: route, route_to: hardened}\n")
    assert parse_config(base + "switchyard:\n  guard: {action: route, route_to: a}\n").switchyard.guard.route_to == "a"
    assert parse_config(base).switchyard.guard.action == "block", "blocking is the default"


def test_aliases_must_name_existing_groups_and_not_shadow_one() -> None:
    base = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\n"
    good = parse_config(base + "switchyard:\n  aliases:\n    auto: {groups: [a], strong_share: 0.3}\n")
    assert good.switchyard.aliases["auto"].strong_share == 0.3
    with pytest.raises(ConfigError, match="not a model group"):
        parse_config(base + "switchyard:\n  aliases:\n    auto: {groups: [a, gpt-9], strong_share: 0.3}\n")
    with pytest.raises(ConfigError, match="name of a model group"):
        parse_config(base + "switchyard:\n  aliases:\n    a: {policy: cheap}\n")


BASE = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, region_name: EU-West-1}\n"
TWO = BASE + "  - model_name: b\n    litellm_params: {model: openai/y}\n    model_info: {id: y, quality: 0.5}\n"


def refused(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(text)


def test_model_info_carries_capabilities_quality_and_residency() -> None:
    info = "    model_info: {supports_vision: false, quality: 0.7, data_classification: confidential,"
    info += " region: europe-west4}\n"
    entry = parse_config(BASE + info).model_list[0]
    assert entry.model_info.supports_vision is False and entry.model_info.supports_function_calling is None
    assert (entry.model_info.quality, entry.model_info.data_classification) == (0.7, "confidential")
    assert entry.region == "europe-west4", "model_info.region wins over litellm_params.region_name"
    assert parse_config(BASE).model_list[0].region == "eu-west-1"
    refused(BASE + "    model_info: {quality: 1.5}\n", "model_info.quality")
    refused(BASE + "    model_info: {data_classification: secret}\n", "model_info.data_classification")
    refused(BASE + "    model_info: {quality_by_category: {code: 2}}\n", "quality of category 'code'")


def test_strategies_are_selectable_per_group() -> None:
    config = parse_config(TWO + "switchyard:\n  groups:\n    b: {routing_strategy: least-busy}\n")
    assert config.switchyard.groups["b"].routing_strategy == "least-busy"
    refused(
        TWO + "switchyard:\n  groups:\n    c: {routing_strategy: least-busy}\n",
        "switchyard.groups.c is not a model group",
    )
    refused(TWO + "switchyard:\n  groups:\n    b: {routing_strategy: fastest}\n", "groups.b.routing_strategy")


def test_policy_aliases_name_real_pools() -> None:
    config = parse_config(TWO + "switchyard:\n  aliases:\n    pick: {policy: cheap, groups: [a], deployments: [y]}\n")
    assert config.switchyard.aliases["pick"].groups == ["a"]
    refused(TWO + "switchyard:\n  aliases:\n    pick: {policy: fast, groups: [c]}\n", "pick.groups names 'c'")
    refused(TWO + "switchyard:\n  aliases:\n    pick: {policy: fast, deployments: [z]}\n", "not a deployment id")
    refused(
        TWO + "switchyard:\n  aliases:\n    pick: {policy: cheap, cheap: a, strong: b}\n", "belong to the auto policy"
    )
    refused(TWO + "switchyard:\n  aliases:\n    pick: {cheap: a}\n", "needs both cheap and strong")
    refused(TWO + "switchyard:\n  aliases:\n    pick: {policy: fast, quality_floor: 0.5}\n", "quality_floor belongs")
    refused(TWO + "switchyard:\n  aliases:\n    pick: {policy: cheap, strong_share: 0.5}\n", "strong_share belongs")
    refused(
        TWO + "switchyard:\n  aliases:\n    pick: {groups: [b], quality_floor: 0.5, strong_share: 0.5}\n", "not both"
    )
    refused(TWO + "switchyard:\n  aliases:\n    pick: {policy: cheap, needs: [telepathy]}\n", "needs")


def test_auto_over_a_pool_needs_a_quality_for_every_deployment() -> None:
    good = parse_config(TWO + "switchyard:\n  aliases:\n    smart: {policy: auto, groups: [b], quality_floor: 0.6}\n")
    assert good.switchyard.aliases["smart"].quality_floor == 0.6
    refused(TWO + "switchyard:\n  aliases:\n    smart: {policy: auto}\n", "needs model_info.quality on a-")
    by_share = parse_config(TWO + "switchyard:\n  aliases:\n    smart: {policy: auto, strong_share: 0.3}\n")
    assert by_share.switchyard.aliases["smart"].quality_floor is None, "a strong_share needs no quality"


def test_the_two_group_auto_alias_is_read_as_its_pool_form_with_a_deprecation(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.warns(DeprecationWarning, match=r"switchyard\.aliases\.smart: the two-group form .* is deprecated"):
        config = parse_config(TWO + "switchyard:\n  aliases:\n    smart: {cheap: a, strong: b}\n")
    alias = config.switchyard.aliases["smart"]
    assert (alias.policy, alias.groups, alias.strong_share, alias.quality_floor) == ("auto", ["a", "b"], 0.5, None)
    assert "switchyard.aliases.smart" in caplog.text and "strong_share: 0.5" in caplog.text


def test_content_rules_name_routable_targets() -> None:
    rule = "switchyard:\n  rules:\n    - {match: {category: code, tags: {team: ml}}, models: [a], route_to: b}\n"
    parsed = parse_config(TWO + rule).switchyard.rules[0]
    assert parsed.match.category == ["code"] and parsed.match.tags == {"team": ["ml"]}
    refused(TWO + rule.replace("route_to: b", "route_to: c"), r"rules\[0\].route_to names 'c'")
    refused(TWO + rule.replace("models: [a]", "models: [zz]"), "which no client can ask for")


EXPERIMENT = (
    "switchyard:\n  experiments:\n    t:\n      model: a\n"
    "      arms: [{name: x, group: a, weight: 1}, {name: y, group: b}]\n"
)


def test_experiments_are_validated() -> None:
    experiment = parse_config(TWO + EXPERIMENT).switchyard.experiments["t"]
    assert [arm.weight for arm in experiment.arms] == [1, 1.0] and experiment.sticky == "session"
    refused(TWO + EXPERIMENT.replace("weight: 1}", "weight: -1}"), "greater than or equal to 0")
    refused(TWO + EXPERIMENT.replace("group: b}", "group: c}"), "arm 'y' names 'c'")
    refused(TWO + EXPERIMENT.replace("name: y", "name: x"), "arm names must be unique")
    refused(
        TWO + EXPERIMENT.replace("weight: 1}", "weight: 0}").replace("group: b}", "group: b, weight: 0}"),
        "weight above 0",
    )
    assert parse_config(TWO + EXPERIMENT.replace("model: a", "model: new")).switchyard.experiments["t"].model == "new"
    refused(
        TWO + "switchyard:\n  experiments:\n    t: {model: new, shadow: {group: b}}\n",
        "is new, so the experiment needs arms",
    )
    refused(
        TWO + "switchyard:\n  experiments:\n    t: {model: a, shadow: {group: c, share: 0.1}}\n",
        "shadow.group names 'c'",
    )
    twice = EXPERIMENT + "    u:\n      model: a\n      arms: [{name: z, group: b}]\n"
    refused(TWO + twice, "already split by experiment t")


def test_routing_defaults_and_bounds() -> None:
    routing = parse_config(BASE).switchyard.routing
    assert (routing.utilisation_threshold, routing.exploration_rate) == (0.8, 0.05)
    refused(BASE + "switchyard:\n  routing: {utilisation_threshold: 1.5}\n", "utilisation_threshold")
    residency = parse_config(BASE + "switchyard:\n  residency: {regions: {emea: [eu-*]}}\n").switchyard.residency
    assert residency.regions == {"emea": ["eu-*"]} and residency.default_deployment_classification == "restricted"
