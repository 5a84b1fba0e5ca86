"""Provider adapters, one per wire format, behind the Protocol in `base`."""

from __future__ import annotations

import os
from collections.abc import Mapping

from switchyard.runtime.telemetry import Telemetry
from switchyard.services.providers.adapters.anthropic import AnthropicAdapter
from switchyard.services.providers.adapters.azure import AzureOpenAIAdapter
from switchyard.services.providers.adapters.base import Adapter, ClientPool
from switchyard.services.providers.adapters.bedrock import BedrockAdapter
from switchyard.services.providers.adapters.gemini import GeminiAdapter
from switchyard.services.providers.adapters.mistral import MistralAdapter
from switchyard.services.providers.adapters.ollama import OllamaAdapter
from switchyard.services.providers.adapters.openai import OpenAIAdapter
from switchyard.services.providers.adapters.presets import (
    DeepSeekAdapter,
    FireworksAIAdapter,
    GroqAdapter,
    OpenRouterAdapter,
    TogetherAIAdapter,
)
from switchyard.services.providers.adapters.vertex import VertexAIAdapter
from switchyard.services.providers.adapters.vllm import VLLMAdapter

# Wire formats that have an adapter; deployments of any other provider are listed as unavailable.
SUPPORTED_PROVIDERS = frozenset(
    {
        "openai",
        "vllm",
        "anthropic",
        "gemini",
        "azure",
        "mistral",
        "ollama",
        "openrouter",
        "together_ai",
        "groq",
        "deepseek",
        "fireworks_ai",
        "bedrock",
        "vertex_ai",
    }
)


def build_adapters(
    clients: ClientPool, telemetry: Telemetry, environ: Mapping[str, str] | None = None
) -> dict[str, Adapter]:
    """Returns an adapter for each wire format that has one, keyed by provider name.

    environ (os.environ) gives OpenRouter's optional app attribution, under LiteLLM's variable names
    OR_SITE_URL and OR_APP_NAME; SWITCHYARD_PROVIDERS_GOOGLE_TOKEN_URI replaces the token endpoint
    that Vertex AI service-account keys name.
    """
    env = os.environ if environ is None else environ
    adapters: list[Adapter] = [
        OpenAIAdapter(clients, telemetry),
        VLLMAdapter(clients, telemetry),
        AnthropicAdapter(clients, telemetry),
        GeminiAdapter(clients, telemetry),
        AzureOpenAIAdapter(clients, telemetry),
        MistralAdapter(clients, telemetry),
        OllamaAdapter(clients, telemetry),
        OpenRouterAdapter(clients, telemetry, env.get("OR_SITE_URL", ""), env.get("OR_APP_NAME", "")),
        TogetherAIAdapter(clients, telemetry),
        GroqAdapter(clients, telemetry),
        DeepSeekAdapter(clients, telemetry),
        FireworksAIAdapter(clients, telemetry),
        BedrockAdapter(clients, telemetry),
        VertexAIAdapter(clients, telemetry, env.get("SWITCHYARD_PROVIDERS_GOOGLE_TOKEN_URI", "")),
    ]
    return {adapter.provider: adapter for adapter in adapters}
