"""The configuration file: LiteLLM files load unchanged, bad files say where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.config import ConfigError, load_config, parse_config, resolve_secret, split_provider
from tests.support import ROOT


def test_litellm_example_loads_as_is() -> None:
    config = load_config(ROOT / "examples" / "litellm-compat.yaml")
    groups = config.groups()
    assert [e.provider for e in groups["default"]] == ["openai", "anthropic"]
    assert [e.upstream_model for e in groups["fast"]] == ["gpt-4o-mini", "claude-3-haiku-20240307"]
    assert config.router_settings.routing_strategy == "latency-based-routing"
    assert (config.router_settings.num_retries, config.router_settings.timeout) == (2, 30)
    assert groups["default"][0].model_info.max_tokens == 128000


def test_embedded_default_has_the_demo_groups() -> None:
    config = load_config(None)
    assert {"default", "fast", "cheap"} <= set(config.groups())
    assert config.switchyard.fake_provider.enabled


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
    good = parse_config(base + "switchyard:\n  aliases:\n    auto: {cheap: a, strong: a, strong_share: 0.3}\n")
    assert good.switchyard.aliases["auto"].strong_share == 0.3
    with pytest.raises(ConfigError, match="not a model group"):
        parse_config(base + "switchyard:\n  aliases:\n    auto: {cheap: a, strong: gpt-9}\n")
    with pytest.raises(ConfigError, match="name of a model group"):
        parse_config(base + "switchyard:\n  aliases:\n    a: {cheap: a, strong: a}\n")
