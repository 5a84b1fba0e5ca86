"""Google Vertex AI: Gemini and Anthropic models behind one `vertex_ai/` provider, with service-account tokens.

Both publishers live under one project and location:

    {api_base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent
                                                                                      :streamGenerateContent?alt=sse
    {api_base}/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:rawPredict
                                                                                         :streamRawPredict

`vertex_ai/claude-*` models are Anthropic's and speak the Messages body (with `anthropic_version:
vertex-2023-10-16` in the body and the model in the URL only); every other model is Google's and speaks
generateContent. The translation is the Gemini and Anthropic adapters' own; only URLs, auth and the body's
envelope differ. Every call carries `Authorization: Bearer <token>`, the token held for the deployment's
service-account key by `vertex_tokens.AccessTokens` (fetched before the call only when none is usable).
The api_base is `https://{location}-aiplatform.googleapis.com` (`https://aiplatform.googleapis.com` for
the `global` location) unless configured; `probe` GETs the model's publisher entry, which costs no tokens.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import orjson

from switchyard.common.v1 import chat_pb2, errors_pb2
from switchyard.config.secrets import resolve_secret
from switchyard.providers.v1 import providers_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.runtime.telemetry import Telemetry
from switchyard.services.providers.adapters.anthropic import AnthropicAdapter
from switchyard.services.providers.adapters.anthropic_wire import request_to_wire
from switchyard.services.providers.adapters.base import ClientPool, Deployment, ProbeResult, StreamItem, remaining
from switchyard.services.providers.adapters.gemini import GeminiAdapter
from switchyard.services.providers.adapters.vertex_tokens import AccessTokens
from switchyard.wire.anthropic import vocabulary as anthropic_vocab
from switchyard.wire.gemini.vocabulary import GENERATE, STREAM_GENERATE

PROVIDER = "vertex_ai"
# The anthropic_version a Messages body on Vertex carries (the anthropic-version header is not used there).
ANTHROPIC_VERTEX_VERSION = "vertex-2023-10-16"
DEFAULT_LOCATION = "us-central1"
API_VERSION = "v1"
# A call left less time than this once its token is there cannot connect and answer: it times out at once.
MIN_CALL_S = 0.05
R = errors_pb2.ErrorReason


def api_base_for(location: str) -> str:
    """Returns the Vertex AI endpoint of a location (the global one has no regional host)."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{location}-aiplatform.googleapis.com"


def is_anthropic(model: str) -> bool:
    """Says whether a Vertex model is Anthropic's (publisher `anthropic`) rather than Google's."""
    return model.startswith("claude")


@dataclass(frozen=True)
class VertexTarget:
    """Where a `vertex_ai/` deployment runs and which key it uses, from its litellm_params (LiteLLM's names)."""

    project: str
    location: str
    # credentials is the vertex_credentials value as configured: a reference (`file:`, `os.environ/`,
    # `vault:`, `aws-sm:`) or the JSON key itself; a bare absolute path is read as `file:`.
    credentials: str | None
    missing: str = ""


def vertex_target(params: Mapping[str, Any], api_key: str | None, environ: Mapping[str, str]) -> VertexTarget:
    """Returns the project, location and key reference of a vertex_ai deployment.

    vertex_project and vertex_location fall back to LiteLLM's VERTEXAI_PROJECT and VERTEXAI_LOCATION (then
    us-central1); vertex_credentials to api_key, then to the file GOOGLE_APPLICATION_CREDENTIALS names.
    """
    project, missing_project = resolve_secret(params.get("vertex_project"), environ)
    location, missing_location = resolve_secret(params.get("vertex_location"), environ)
    project = project or environ.get("VERTEXAI_PROJECT", "")
    location = location or environ.get("VERTEXAI_LOCATION", "") or DEFAULT_LOCATION
    credentials = params.get("vertex_credentials") or api_key
    if not credentials and environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        credentials = environ["GOOGLE_APPLICATION_CREDENTIALS"]
    if isinstance(credentials, str) and credentials.startswith("/"):
        credentials = f"file:{credentials}"
    missing = ""
    if missing_project or missing_location:
        missing = f"environment variable {missing_project or missing_location} is not set"
    elif not project:
        missing = "vertex_project is not configured (nor VERTEXAI_PROJECT set)"
    elif not credentials:
        missing = "vertex_credentials is not configured (nor GOOGLE_APPLICATION_CREDENTIALS set)"
    text = credentials if isinstance(credentials, str) or credentials is None else orjson.dumps(credentials).decode()
    return VertexTarget(project=project, location=location, credentials=text, missing=missing)


def model_url(deployment: Deployment, publisher: str) -> str:
    """Returns `.../projects/{p}/locations/{l}/publishers/{publisher}/models/{model}` of a deployment."""
    root = deployment.api_base.removesuffix(f"/{API_VERSION}")
    version = deployment.api_version if publisher == "google" and deployment.api_version else API_VERSION
    return (
        f"{root}/{version}/projects/{quote(deployment.project, safe='')}/locations/"
        f"{quote(deployment.location, safe='')}/publishers/{publisher}/models/{quote(deployment.model, safe='@')}"
    )


def publisher_model_url(deployment: Deployment, publisher: str) -> str:
    """Returns the model's publisher entry, `{api_base}/v1/publishers/{publisher}/models/{model}` (the probe)."""
    root = deployment.api_base.removesuffix(f"/{API_VERSION}")
    return f"{root}/{API_VERSION}/publishers/{publisher}/models/{quote(deployment.model, safe='@')}"


def anthropic_body(request: chat_pb2.ChatRequest, stream: bool) -> dict[str, Any]:
    """Returns the rawPredict body of a request: the Messages body, `anthropic_version` in it, no model."""
    body = request_to_wire(request, "", anthropic_vocab.VERSION_2023, stream)
    del body["model"]
    return {"anthropic_version": ANTHROPIC_VERTEX_VERSION, **body}


class VertexGeminiAdapter(GeminiAdapter):
    """Gemini on Vertex: generateContent on the `google` publisher's path, with a bearer token."""

    provider = PROVIDER

    def __init__(self, clients: ClientPool, telemetry: Telemetry, tokens: AccessTokens) -> None:
        super().__init__(clients, telemetry, api_version=API_VERSION)
        self._tokens = tokens

    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns the model's generateContent (or streamGenerateContent?alt=sse) URL on Vertex."""
        method = f"{STREAM_GENERATE}?alt=sse" if stream else GENERATE
        return f"{model_url(deployment, 'google')}:{method}"

    def probe_url(self, deployment: Deployment) -> str:
        """Returns the model's publisher entry, what `probe` GETs."""
        return publisher_model_url(deployment, "google")

    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        return {"authorization": f"Bearer {self._tokens.current(deployment.api_key or '')}"}


class VertexAnthropicAdapter(AnthropicAdapter):
    """Claude on Vertex: the Messages body (`anthropic_version` inside, no model) to rawPredict, with a bearer token."""

    provider = PROVIDER

    def __init__(self, clients: ClientPool, telemetry: Telemetry, tokens: AccessTokens) -> None:
        super().__init__(clients, telemetry)
        self._tokens = tokens

    def version(self, deployment: Deployment) -> str:
        """Returns the Messages semantics spoken on Vertex: 2023-06-01's (sampling parameters allowed)."""
        return anthropic_vocab.VERSION_2023

    def url(self, deployment: Deployment, stream: bool) -> str:
        """Returns the model's rawPredict (or streamRawPredict) URL on Vertex."""
        return f"{model_url(deployment, 'anthropic')}:{'streamRawPredict' if stream else 'rawPredict'}"

    def probe_url(self, deployment: Deployment) -> str:
        """Returns the model's publisher entry, what `probe` GETs."""
        return publisher_model_url(deployment, "anthropic")

    def _auth_headers(self, deployment: Deployment) -> dict[str, str]:
        return {"authorization": f"Bearer {self._tokens.current(deployment.api_key or '')}"}

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        return orjson.dumps(anthropic_body(request, stream))


class VertexAIAdapter:
    """Speaks Vertex AI to any deployment whose provider is `vertex_ai`: Anthropic's models or Google's.

    token_uri, when set, replaces the token endpoint every key names (a private endpoint, a test server).
    """

    provider = PROVIDER

    def __init__(self, clients: ClientPool, telemetry: Telemetry, token_uri: str = "") -> None:
        self._tokens = AccessTokens(token_uri)
        self._gemini = VertexGeminiAdapter(clients, telemetry, self._tokens)
        self._anthropic = VertexAnthropicAdapter(clients, telemetry, self._tokens)

    def _publisher(self, deployment: Deployment) -> VertexGeminiAdapter | VertexAnthropicAdapter:
        return self._anthropic if is_anthropic(deployment.model) else self._gemini

    async def _authorize(self, deployment: Deployment, deadline: float | None) -> None:
        metadata = {"provider": PROVIDER, "deployment_id": deployment.id}
        try:
            await self._tokens.token(deployment.api_key or "", remaining(deployment, deadline))
        except SwitchyardError as exc:
            # One refresh can fail many waiting calls: each gets its own error, naming its deployment.
            raise replace(exc, metadata={**exc.metadata, **metadata}) from None
        if deadline is not None and deadline - time.monotonic() < MIN_CALL_S:
            # The token came, but too late for the call to connect: that is the deadline's doing, a timeout.
            raise SwitchyardError(
                R.ERROR_REASON_UPSTREAM_TIMEOUT,
                "vertex_ai: the deadline passed while fetching a token",
                metadata=metadata,
            )

    async def generate(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> tuple[chat_pb2.ChatCompletion, providers_pb2.UpstreamRecord]:
        """Returns the deployment's completion and the record of the call; raises SwitchyardError."""
        await self._authorize(deployment, deadline)
        return await self._publisher(deployment).generate(deployment, request, deadline, request_id)

    async def stream(
        self,
        deployment: Deployment,
        request: chat_pb2.ChatRequest,
        deadline: float | None,
        request_id: str = "",
    ) -> AsyncIterator[StreamItem]:
        """Yields chunk batches as they arrive, then the UpstreamRecord; raises SwitchyardError."""
        await self._authorize(deployment, deadline)
        async for item in self._publisher(deployment).stream(deployment, request, deadline, request_id):
            yield item

    async def probe(self, deployment: Deployment, deadline: float | None) -> ProbeResult:
        """Returns whether the deployment's key gets a token and its model's publisher entry answers."""
        started = time.perf_counter()
        try:
            await self._authorize(deployment, deadline)
        except SwitchyardError as exc:
            return ProbeResult(False, (time.perf_counter() - started) * 1000, exc.message, exc.reason)
        return await self._publisher(deployment).probe(deployment, deadline)
