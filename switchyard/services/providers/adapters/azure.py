"""The Azure OpenAI adapter: Chat Completions on a deployment, `api-key` auth, Azure's content filter.

Differences from OpenAI handled here:
- URL `{api_base}/openai/deployments/{deployment}/chat/completions?api-version=...`; the deployment is
  the part after `azure/` in litellm_params.model, the version litellm_params.api_version.
- Auth: `api-key: <key>`; a Microsoft Entra (AD) token goes as `Authorization: Bearer <token>` instead.
- API versions before 2024-09-01 know neither `max_completion_tokens` (they get `max_tokens`) nor
  `stream_options` (not sent: their streams carry no usage).
- Azure's content filter: a prompt it blocks is a 400 with `code: content_filter` or only
  `innererror.code: ResponsibleAIPolicyViolation`, both UPSTREAM_CONTENT_FILTERED (the router's
  content_policy_fallbacks then apply); a completion it cuts ends with `finish_reason: content_filter`.
- Streams open with a chunk of `prompt_filter_results` and no choices; it says nothing the client can
  use (an empty choices list before usage would read as a usage chunk), so it is dropped.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.runtime.errors import Reason, SwitchyardError
from switchyard.services.providers.adapters import errors
from switchyard.services.providers.adapters.base import Deployment
from switchyard.services.providers.adapters.openai import OpenAIAdapter
from switchyard.services.providers.adapters.spans import StreamSummary

R = errors_pb2.ErrorReason

# The GA version LiteLLM users most often pin; a deployment's api_version overrides it.
DEFAULT_API_VERSION = "2024-10-21"
# The first API version that takes `max_completion_tokens` (needed by o-series deployments).
_MAX_COMPLETION_TOKENS_SINCE = "2024-09-01"
RESPONSIBLE_AI_POLICY_VIOLATION = "ResponsibleAIPolicyViolation"
# An api_key written `azure_ad_token:<token>` is a Microsoft Entra token, sent as Bearer (LiteLLM's
# litellm_params.azure_ad_token; the providers config passes only api_key to adapters).
AD_TOKEN_PREFIX = "azure_ad_token:"


def api_version(deployment: Deployment) -> str:
    """Returns the api-version query value a deployment speaks."""
    return deployment.api_version or DEFAULT_API_VERSION


def credential(deployment: Deployment) -> str | None:
    """Returns the key or Entra token a deployment sends, without the `azure_ad_token:` marker."""
    key = deployment.api_key
    return key.removeprefix(AD_TOKEN_PREFIX) if key else key


def is_policy_violation(body: bytes) -> bool:
    """Returns whether an Azure error body says the content filter refused the prompt."""
    try:
        raw: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    error = raw.get("error") if isinstance(raw, dict) else None
    if not isinstance(error, dict):
        return False
    inner = error.get("innererror")
    return isinstance(inner, dict) and inner.get("code") == RESPONSIBLE_AI_POLICY_VIOLATION


class AzureOpenAIAdapter(OpenAIAdapter):
    """Speaks Azure OpenAI Chat Completions to any deployment whose provider is `azure`."""

    provider = "azure"

    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns the chat completions URL of an Azure deployment, api-version included."""
        name = quote(deployment.model, safe="")
        return (
            f"{deployment.api_base}/openai/deployments/{name}/chat/completions"
            f"?api-version={quote(api_version(deployment), safe='')}"
        )

    def embeddings_url(self, deployment: Deployment) -> str:
        """Returns the embeddings URL of an Azure deployment, api-version included."""
        name = quote(deployment.model, safe="")
        return (
            f"{deployment.api_base}/openai/deployments/{name}/embeddings"
            f"?api-version={quote(api_version(deployment), safe='')}"
        )

    def probe_url(self, deployment: Deployment) -> str:
        """Returns `{api_base}/openai/models?api-version=...`, what `probe` GETs."""
        return f"{deployment.api_base}/openai/models?api-version={quote(api_version(deployment), safe='')}"

    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        key = deployment.api_key
        if not key:
            return {}
        if key.startswith(AD_TOKEN_PREFIX):
            return {"authorization": f"Bearer {credential(deployment)}"}
        return {"api-key": key}

    def _error(self, reason: Reason, what: str, deployment: Deployment, status: int = 0) -> SwitchyardError:
        return errors.transport_error(
            reason,
            what,
            provider=self.provider,
            deployment_id=deployment.id,
            status=status,
            secret=credential(deployment),
        )

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        rendered = super()._body(deployment, request, stream)
        if api_version(deployment) >= _MAX_COMPLETION_TOKENS_SINCE:
            return rendered
        body = orjson.loads(rendered)
        if self.max_tokens_field in body:
            body["max_tokens"] = body.pop(self.max_tokens_field)
        # Older versions answer 400 "Unrecognized request argument" to stream_options: such streams
        # go unmetered rather than fail.
        body.pop("stream_options", None)
        return orjson.dumps(body)

    def _status_error(self, response: httpx.Response, body: bytes, deployment: Deployment) -> SwitchyardError:
        # The credential on the wire is the token alone: that is what an upstream could echo back.
        err = errors.from_response(
            response.status_code,
            body,
            response.headers,
            provider=self.provider,
            deployment_id=deployment.id,
            secret=credential(deployment),
        )
        if response.status_code != 400 or err.reason == R.ERROR_REASON_UPSTREAM_CONTENT_FILTERED:
            return err
        if not is_policy_violation(body):
            return err
        return dataclasses.replace(err, reason=R.ERROR_REASON_UPSTREAM_CONTENT_FILTERED)

    def _parse(
        self, events: list[Any], deployment: Deployment, summary: StreamSummary
    ) -> list[chat_pb2.ChatCompletionChunk]:
        batch = super()._parse(events, deployment, summary)
        return [c for c in batch if c.choices or c.HasField("usage")]
