"""List prices of the models on Google Vertex AI: what a `vertex_ai/` deployment costs when model_info names none.

Standard (on-demand) prices in USD per token as Google Cloud lists them, for prompts up to 200k tokens
where a model has tiers; Claude on Vertex costs what Anthropic lists. A model id's `@version` suffix
(`claude-sonnet-4@20250514`) is not part of the price. Configured `input_cost_per_token` /
`output_cost_per_token` always win; a model not listed here stays unpriced.
"""

from __future__ import annotations

_M = 1_000_000
# Vertex model id (without @version) → (input, output) USD per token.
VERTEX_PRICES: dict[str, tuple[float, float]] = {
    "gemini-2.5-pro": (1.25 / _M, 10.0 / _M),
    "gemini-2.5-flash": (0.3 / _M, 2.5 / _M),
    "gemini-2.5-flash-lite": (0.1 / _M, 0.4 / _M),
    "gemini-2.0-flash": (0.15 / _M, 0.6 / _M),
    "gemini-2.0-flash-lite": (0.075 / _M, 0.3 / _M),
    "claude-3-haiku": (0.25 / _M, 1.25 / _M),
    "claude-3-5-haiku": (0.8 / _M, 4.0 / _M),
    "claude-3-5-sonnet": (3.0 / _M, 15.0 / _M),
    "claude-3-5-sonnet-v2": (3.0 / _M, 15.0 / _M),
    "claude-3-7-sonnet": (3.0 / _M, 15.0 / _M),
    "claude-sonnet-4": (3.0 / _M, 15.0 / _M),
    "claude-opus-4": (15.0 / _M, 75.0 / _M),
    "claude-opus-4-1": (15.0 / _M, 75.0 / _M),
}


def vertex_price(model: str) -> tuple[float, float] | None:
    """Returns the (input, output) USD per-token price of a Vertex model id, None when not listed."""
    return VERTEX_PRICES.get(model.partition("@")[0])
