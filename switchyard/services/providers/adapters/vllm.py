"""The vLLM adapter: vLLM's OpenAI-compatible server, spoken through the OpenAI adapter.

Differences handled here or by the shared error parser: vLLM takes `max_tokens`; its error
bodies come as `{"error":"Unauthorized"}`, the flat `{"object":"error",...}` form of older
releases, or the nested form with an integer `code`; it sends no rate-limit headers (the quota
snapshot then says -1, unknown).
"""

from __future__ import annotations

from switchyard.services.providers.adapters.openai import OpenAIAdapter


class VLLMAdapter(OpenAIAdapter):
    """Speaks to a vLLM (or other OpenAI-compatible, self-hosted) server."""

    provider = "vllm"
    max_tokens_field = "max_tokens"
