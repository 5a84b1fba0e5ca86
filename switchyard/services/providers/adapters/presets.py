"""OpenAI-compatible hosted providers, by LiteLLM prefix: the OpenAI adapter with each one's quirks.

Each preset has its default api_base in `switchyard.config.models.DEFAULT_API_BASES` and speaks
Chat Completions with Bearer auth. What differs:
- OpenRouter (`openrouter/`): optional `HTTP-Referer` and `X-Title` headers attribute the traffic to
  an app (LiteLLM reads them from OR_SITE_URL and OR_APP_NAME); takes `max_tokens`.
- Together AI (`together_ai/`), Fireworks AI (`fireworks_ai/`): `max_tokens`.
- Groq (`groq/`): `max_completion_tokens`, as OpenAI.
- DeepSeek (`deepseek/`): `max_tokens`; deepseek-reasoner streams its chain of thought as
  `reasoning_content` in deltas (and messages), which the OpenAI parser already maps to the
  `reasoning` field of ChatMessage / ChoiceDelta.
"""

from __future__ import annotations

from switchyard.runtime.telemetry import Telemetry
from switchyard.services.providers.adapters.base import ClientPool, Deployment
from switchyard.services.providers.adapters.openai import OpenAIAdapter


class OpenRouterAdapter(OpenAIAdapter):
    """Speaks to OpenRouter, naming the calling app when a site URL or title is configured."""

    provider = "openrouter"
    max_tokens_field = "max_tokens"

    def __init__(self, clients: ClientPool, telemetry: Telemetry, site_url: str = "", app_name: str = "") -> None:
        super().__init__(clients, telemetry)
        self._app_headers = {
            name: value for name, value in (("http-referer", site_url), ("x-title", app_name)) if value
        }

    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        return {**super()._auth_headers(deployment), **self._app_headers}


class TogetherAIAdapter(OpenAIAdapter):
    """Speaks to Together AI's OpenAI-compatible API."""

    provider = "together_ai"
    max_tokens_field = "max_tokens"


class GroqAdapter(OpenAIAdapter):
    """Speaks to Groq's OpenAI-compatible API."""

    provider = "groq"


class DeepSeekAdapter(OpenAIAdapter):
    """Speaks to DeepSeek's OpenAI-compatible API (reasoning_content arrives as `reasoning`)."""

    provider = "deepseek"
    max_tokens_field = "max_tokens"


class FireworksAIAdapter(OpenAIAdapter):
    """Speaks to Fireworks AI's OpenAI-compatible API."""

    provider = "fireworks_ai"
    max_tokens_field = "max_tokens"
