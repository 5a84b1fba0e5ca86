"""List prices of the models on AWS Bedrock: what a Bedrock deployment costs when model_info names no price.

On-demand prices in USD per token (us-east-1, as AWS lists them), for Converse and InvokeModel alike;
configured `input_cost_per_token` / `output_cost_per_token` always win. Cross-region inference profiles
(`us.`, `eu.`, `apac.` before the model id) cost what the model does. A model not listed here stays
unpriced, as any other deployment without prices.
"""

from __future__ import annotations

from typing import Any

from switchyard.config.vertex_prices import vertex_price

_M = 1_000_000
# Bedrock model id → (input, output) USD per token.
BEDROCK_PRICES: dict[str, tuple[float, float]] = {
    "anthropic.claude-3-haiku-20240307-v1:0": (0.25 / _M, 1.25 / _M),
    "anthropic.claude-3-5-haiku-20241022-v1:0": (0.8 / _M, 4.0 / _M),
    "anthropic.claude-3-sonnet-20240229-v1:0": (3.0 / _M, 15.0 / _M),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": (3.0 / _M, 15.0 / _M),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": (3.0 / _M, 15.0 / _M),
    "anthropic.claude-3-7-sonnet-20250219-v1:0": (3.0 / _M, 15.0 / _M),
    "anthropic.claude-sonnet-4-20250514-v1:0": (3.0 / _M, 15.0 / _M),
    "anthropic.claude-3-opus-20240229-v1:0": (15.0 / _M, 75.0 / _M),
    "anthropic.claude-opus-4-20250514-v1:0": (15.0 / _M, 75.0 / _M),
    "meta.llama3-8b-instruct-v1:0": (0.3 / _M, 0.6 / _M),
    "meta.llama3-70b-instruct-v1:0": (2.65 / _M, 3.5 / _M),
    "meta.llama3-1-8b-instruct-v1:0": (0.22 / _M, 0.22 / _M),
    "meta.llama3-1-70b-instruct-v1:0": (0.72 / _M, 0.72 / _M),
    "meta.llama3-1-405b-instruct-v1:0": (2.4 / _M, 2.4 / _M),
    "meta.llama3-2-1b-instruct-v1:0": (0.1 / _M, 0.1 / _M),
    "meta.llama3-2-3b-instruct-v1:0": (0.15 / _M, 0.15 / _M),
    "meta.llama3-3-70b-instruct-v1:0": (0.72 / _M, 0.72 / _M),
    "amazon.titan-embed-text-v1": (0.1 / _M, 0.0),
    "amazon.titan-embed-text-v2:0": (0.02 / _M, 0.0),
    "cohere.embed-english-v3": (0.1 / _M, 0.0),
    "cohere.embed-multilingual-v3": (0.1 / _M, 0.0),
}
_PROFILES = ("us.", "eu.", "apac.", "us-gov.")


def bedrock_price(model: str) -> tuple[float, float] | None:
    """Returns the (input, output) USD per-token price of a Bedrock model id, None when not listed."""
    for profile in _PROFILES:
        if model.startswith(profile):
            model = model.removeprefix(profile)
            break
    return BEDROCK_PRICES.get(model)


def with_list_prices(entry: Any) -> Any:
    """Returns a raw model_list entry with its Bedrock (or Vertex AI, `vertex_prices`) model's list prices in
    model_info where none are set."""
    if not isinstance(entry, dict):
        return entry
    params = entry.get("litellm_params")
    model = params.get("model") if isinstance(params, dict) else None
    if not isinstance(model, str) or not model.startswith(("bedrock/", "vertex_ai/")):
        return entry
    prefix, _, name = model.partition("/")
    price = bedrock_price(name) if prefix == "bedrock" else vertex_price(name)
    info = entry.get("model_info") or {}
    if price is None or not isinstance(info, dict):
        return entry
    if info.get("input_cost_per_token") is not None or info.get("output_cost_per_token") is not None:
        return entry
    return {**entry, "model_info": {**info, "input_cost_per_token": price[0], "output_cost_per_token": price[1]}}
