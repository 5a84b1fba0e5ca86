"""Provider adapters, one per wire format, behind the Protocol in `base`."""

from __future__ import annotations

from switchyard.runtime.telemetry import Telemetry
from switchyard.services.providers.adapters.anthropic import AnthropicAdapter
from switchyard.services.providers.adapters.base import Adapter, ClientPool
from switchyard.services.providers.adapters.gemini import GeminiAdapter
from switchyard.services.providers.adapters.openai import OpenAIAdapter
from switchyard.services.providers.adapters.vllm import VLLMAdapter

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
