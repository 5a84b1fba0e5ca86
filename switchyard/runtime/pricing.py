"""What a request cost: a deployment's per-token prices applied to the usage its provider reported.

One function for the router (which settles budgets and writes the ledger with it) and the providers
service (which puts the cost on its GenAI span as `gen_ai.usage.cost`), so both say the same amount.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.common.v1 import chat_pb2
from switchyard.config import ModelEntry


@dataclass(frozen=True)
class Prices:
    """USD per token: prompt, completion, and prompt tokens read from the provider's prompt cache."""

    input: float = 0.0
    output: float = 0.0
    # cached_input is the price of a cached prompt token; None prices it as any prompt token.
    cached_input: float | None = None

    def cost(self, usage: chat_pb2.Usage) -> float:
        """Returns the cost in USD of usage at these prices (0 when unpriced)."""
        cached = min(usage.prompt_tokens_details.cached_tokens, usage.prompt_tokens)
        cached_price = self.input if self.cached_input is None else self.cached_input
        return self.of(usage.prompt_tokens - cached, usage.completion_tokens) + cached * cached_price

    def of(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Returns the cost in USD of a call this size, none of its prompt read from a prompt cache."""
        return prompt_tokens * self.input + completion_tokens * self.output


def prices_of(entry: ModelEntry) -> Prices:
    """Returns a deployment's configured prices (model_info's *_cost_per_token; absent is free)."""
    info = entry.model_info
    return Prices(
        input=info.input_cost_per_token or 0.0,
        output=info.output_cost_per_token or 0.0,
        cached_input=info.cache_read_input_token_cost,
    )
