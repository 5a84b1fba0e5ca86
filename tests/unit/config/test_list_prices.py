"""Bedrock deployments carry AWS's list prices when model_info names none, so cost routing and budgets see them."""

from __future__ import annotations

import pytest

from switchyard.config import parse_config
from switchyard.config.list_prices import bedrock_price


def _info(model: str, model_info: str = "") -> tuple[float | None, float | None]:
    text = f"model_list:\n  - model_name: g\n    litellm_params: {{model: '{model}'}}\n{model_info}"
    info = parse_config(text).model_list[0].model_info
    return info.input_cost_per_token, info.output_cost_per_token


@pytest.mark.parametrize(
    ("model", "prices"),
    [
        ("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", (3e-6, 15e-6)),
        ("bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0", (3e-6, 15e-6)),
        ("bedrock/meta.llama3-1-70b-instruct-v1:0", (0.72e-6, 0.72e-6)),
        ("bedrock/amazon.titan-embed-text-v2:0", (0.02e-6, 0.0)),
    ],
)
def test_listed_models_are_priced(model: str, prices: tuple[float, float]) -> None:
    assert _info(model) == pytest.approx(prices)


def test_configured_prices_win_and_unlisted_models_stay_unpriced() -> None:
    own = "    model_info: {input_cost_per_token: 0.000001}\n"
    assert _info("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", own) == (0.000001, None)
    assert _info("bedrock/ai21.jamba-1-5-large-v1:0") == (None, None)
    assert _info("anthropic/claude-3-5-sonnet-20240620") == (None, None)
    assert bedrock_price("eu.meta.llama3-2-3b-instruct-v1:0") == pytest.approx((0.15e-6, 0.15e-6))
