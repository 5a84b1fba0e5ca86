"""Quality priors: what `auto` assumes of a well-known model whose quality the config does not set."""

from __future__ import annotations

from switchyard.config import parse_config
from switchyard.config.quality_priors import prior_quality

CONFIG = """
model_list:
  - model_name: small
    litellm_params: {model: openai/gpt-4o-mini-2024-07-18}
  - model_name: big
    litellm_params: {model: openai/gpt-4o}
  - model_name: rated
    litellm_params: {model: openai/gpt-4o}
    model_info: {quality: 0.5, quality_by_category: {code: 0.7}}
  - model_name: unknown
    litellm_params: {model: hosted_vllm/my-finetune}
"""


def test_the_most_specific_family_wins_and_dated_versions_find_it() -> None:
    assert prior_quality("gpt-4o-mini-2024-07-18") == prior_quality("gpt-4o-mini") < prior_quality("gpt-4o")
    assert prior_quality("anthropic.claude-3-5-sonnet-20241022-v2:0") is None  # a Bedrock id is not a prefix match
    assert prior_quality("models/gemini-2.5-flash") == prior_quality("gemini-2.5-flash")
    assert prior_quality("my-finetune") is None


def test_a_configured_quality_wins_over_the_prior() -> None:
    entries = {e.model_name: e for e in parse_config(CONFIG).model_list}
    assert entries["small"].quality_for("") == prior_quality("gpt-4o-mini")
    assert entries["big"].quality_for("math") == prior_quality("gpt-4o")
    assert entries["rated"].quality_for("") == 0.5 and entries["rated"].quality_for("code") == 0.7
    assert entries["unknown"].quality_for("") is None
