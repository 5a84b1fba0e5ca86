"""Provider adapters, one per wire format, behind the Protocol in `base`."""

from __future__ import annotations

from services.common.telemetry import Telemetry
from services.providers.adapters.anthropic import AnthropicAdapter
from services.providers.adapters.base import Adapter, ClientPool
from services.providers.adapters.gemini import GeminiAdapter
from services.providers.adapters.openai import OpenAIAdapter
from services.providers.adapters.vllm import VLLMAdapter

# Wire formats that have an adapter; deployments of any other provider are listed as unavailable.
SUPPORTED_PROVIDERS = frozenset({"openai", "vllm", "anthropic", "gemini"})


def build_adapters(clients: ClientPool, telemetry: Telemetry) -> dict[str, Adapter]:
    """Returns an adapter for each wire format that has one, keyed by provider name."""
    return {
        "openai": OpenAIAdapter(clients, telemetry),
        "vllm": VLLMAdapter(clients, telemetry),
        "anthropic": AnthropicAdapter(clients, telemetry),
        "gemini": GeminiAdapter(clients, telemetry),
    }
