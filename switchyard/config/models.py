"""`model_list`: the deployments, each a LiteLLM entry (model group, litellm_params, model_info)."""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from switchyard.config.base import LiteLLMSection
from switchyard.config.list_prices import with_list_prices
from switchyard.config.quality_priors import prior_quality

# Provider prefixes understood in litellm_params.model, and the wire format each speaks.
PROVIDER_PREFIXES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "hosted_vllm": "vllm",
    "vllm": "vllm",
    "azure": "azure",
    "mistral": "mistral",
    # LiteLLM's ollama/ calls /api/generate and ollama_chat/ /api/chat; both speak /api/chat here.
    "ollama": "ollama",
    "ollama_chat": "ollama",
    "openrouter": "openrouter",
    "together_ai": "together_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "fireworks_ai": "fireworks_ai",
    # Bedrock Runtime's Converse API (aws_access_key_id, aws_secret_access_key, aws_region_name, ...).
    "bedrock": "bedrock",
    # Gemini and Claude models on Google Vertex AI (vertex_project, vertex_location, vertex_credentials).
    "vertex_ai": "vertex_ai",
}
# litellm_params that hold AWS credentials: never part of a deployment's id.
AWS_SECRET_PARAMS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
_NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt-", "openai"),
    ("claude-", "anthropic"),
    ("gemini-", "gemini"),
)
DEFAULT_API_BASES: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    # Azure has none: every resource has its own endpoint (litellm_params.api_base).
    "mistral": "https://api.mistral.ai/v1",
    "ollama": "http://localhost:11434",
    "openrouter": "https://openrouter.ai/api/v1",
    "together_ai": "https://api.together.xyz/v1",
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1",
}


def split_provider(model: str) -> tuple[str, str]:
    """Returns (wire format, upstream model name) for a litellm_params.model value."""
    prefix, sep, rest = model.partition("/")
    if sep and prefix in PROVIDER_PREFIXES:
        return PROVIDER_PREFIXES[prefix], rest
    for start, provider in _NAME_HINTS:
        if model.startswith(start):
            return provider, model
    raise ValueError(
        f"cannot tell the provider of model {model!r}: prefix it with one of "
        + ", ".join(f"{p}/" for p in PROVIDER_PREFIXES)
    )


class LiteLLMParams(LiteLLMSection):
    model: str
    api_base: str | None = None
    api_key: str | None = None
    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)
    timeout: float | None = Field(default=None, gt=0)
    # stream_timeout: for streamed requests, how long to wait for the first token before failing over.
    stream_timeout: float | None = Field(default=None, gt=0)
    weight: float = Field(default=1.0, ge=0)
    order: int | None = None
    region_name: str | None = None

    @field_validator("model")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        split_provider(value)
        return value


# Data classes from least to most sensitive; a deployment's class is the most sensitive it may receive.
DATA_CLASSES: tuple[str, ...] = ("public", "internal", "confidential", "restricted")
DataClass = Literal["public", "internal", "confidential", "restricted"]
Capability = Literal["tools", "vision", "json"]


class ModelInfo(LiteLLMSection):
    """LiteLLM's model_info (window, prices, capabilities) plus Switchyard's routing facts."""

    id: str | None = None
    # mode is LiteLLM's kind of model: "chat" (the default) or "embedding" (served by /v1/embeddings only).
    mode: str | None = None
    # max_tokens is the whole context window unless max_input_tokens is larger (then it caps the output).
    max_tokens: int | None = Field(default=None, gt=0)
    max_input_tokens: int | None = Field(default=None, gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    cache_read_input_token_cost: float | None = Field(default=None, ge=0)
    # Capabilities under LiteLLM's names; None means assumed supported. response_schema covers JSON mode.
    supports_function_calling: bool | None = None
    supports_vision: bool | None = None
    supports_response_schema: bool | None = None
    # quality: expected answer quality in [0, 1], 1 being the best model's (the `auto` policy uses it);
    # quality_by_category overrides it for classifier categories ("code", "math", ...).
    quality: float | None = Field(default=None, ge=0, le=1)
    quality_by_category: dict[str, float] = Field(default_factory=dict)
    # region: where the deployment processes data (falls back to litellm_params.region_name).
    region: str | None = None
    # data_classification: the most sensitive class the deployment may receive (unset: residency default).
    data_classification: DataClass | None = None

    @field_validator("quality_by_category")
    @classmethod
    def _qualities_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for category, quality in value.items():
            if not 0.0 <= quality <= 1.0:
                raise ValueError(f"quality of category {category!r} must be between 0 and 1, not {quality}")
        return value

    def quality_for(self, category: str) -> float | None:
        """Returns the quality for a classifier category (its own when configured), None when unrated."""
        return self.quality_by_category.get(category, self.quality) if category else self.quality


class ModelEntry(LiteLLMSection):
    model_name: str = Field(min_length=1)
    litellm_params: LiteLLMParams
    model_info: ModelInfo = ModelInfo()

    @model_validator(mode="before")
    @classmethod
    def _list_prices(cls, data: Any) -> Any:
        return with_list_prices(data)

    @cached_property
    def provider(self) -> str:
        return split_provider(self.litellm_params.model)[0]

    @cached_property
    def upstream_model(self) -> str:
        return split_provider(self.litellm_params.model)[1]

    def quality_for(self, category: str) -> float | None:
        """Returns the deployment's quality for a classifier category: its configured one, else the prior of
        its model (switchyard.config.quality_priors), None when neither is known."""
        configured = self.model_info.quality_for(category)
        return configured if configured is not None else prior_quality(self.upstream_model)

    @cached_property
    def region(self) -> str:
        """Returns the lower-case region the deployment runs in, "" when not configured."""
        return (self.model_info.region or self.litellm_params.region_name or "").lower()

    @cached_property
    def deployment_id(self) -> str:
        """Returns a stable id derived from the deployment's definition (credentials excluded)."""
        if self.model_info.id:
            return self.model_info.id
        secrets = {"api_key", "vertex_credentials", *AWS_SECRET_PARAMS}
        params = self.litellm_params.model_dump(exclude=secrets, exclude_none=True)
        canonical = json.dumps([self.model_name, params], sort_keys=True, default=str)
        return f"{self.model_name}-{hashlib.sha256(canonical.encode()).hexdigest()[:10]}"
