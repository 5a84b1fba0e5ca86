"""The Mistral adapter: La Plateforme's Chat Completions (`{api_base}/chat/completions`, Bearer auth).

Mistral's API is OpenAI-shaped with these differences, handled here:
- `random_seed` instead of `seed`, `max_tokens` (no `max_completion_tokens`), and `safe_prompt`
  (read from the request's `extra`); it refuses fields it does not know with 422, so only the fields
  of its request schema (as in the `mistralai` SDK 2.x) are sent: not `logit_bias`, `logprobs`,
  `store`, `user`, `stream_options` nor other servers' sampling extras (`top_k`, `min_p`, ...), and
  `service_tier` only when it is one of Mistral's (`auto`, `standard_only`).
- Tool-call ids must be 9 characters of [a-zA-Z0-9]: ids minted by another provider (a conversation
  that failed over, `call_...`) are mapped to a stable 9-character id, the same in the assistant turn
  and in the tool result that answers it.
- Streams carry usage on the last chunk together with its finish_reason; it is split off into a
  usage-only chunk, the shape the rest of Switchyard expects.
- Embeddings (`{api_base}/embeddings`) take `output_dimension` instead of `dimensions` and no `user`.
- Error bodies are flat (`{"object":"error","message":...,"type":...}`) or `{"message":...}` from its
  gateway (401, 429); the shared parser reads both.
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Any

import orjson

from switchyard.common.v1 import chat_pb2, embeddings_pb2
from switchyard.services.providers.adapters.base import Deployment
from switchyard.services.providers.adapters.openai import OpenAIAdapter
from switchyard.services.providers.adapters.spans import StreamSummary
from switchyard.wire.values import struct_to_dict

_TOOL_ID = re.compile(r"[a-zA-Z0-9]{9}")
_ALPHABET = string.ascii_letters + string.digits
# The fields of Mistral's chat request; it answers 422 "extra_forbidden" to any other.
ACCEPTED = frozenset(
    {
        "model",
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "stream",
        "stop",
        "random_seed",
        "metadata",
        "response_format",
        "tools",
        "tool_choice",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "prediction",
        "parallel_tool_calls",
        "reasoning_effort",
        "prompt_mode",
        "guardrails",
        "prompt_cache_key",
        "service_tier",
        "safe_prompt",
    }
)
_SERVICE_TIERS = frozenset({"auto", "standard_only"})
# Mistral-only parameters a caller may pass in `extra`.
MISTRAL_EXTRAS = frozenset({"safe_prompt"})


def tool_call_id(original: str) -> str:
    """Returns original when Mistral accepts it as a tool-call id, else a stable 9-character id for it."""
    if _TOOL_ID.fullmatch(original):
        return original
    digest = int.from_bytes(hashlib.sha256(original.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        digest, rest = divmod(digest, len(_ALPHABET))
        chars.append(_ALPHABET[rest])
    return "".join(chars)


def to_mistral(body: dict[str, Any], request: chat_pb2.ChatRequest) -> dict[str, Any]:
    """Returns an OpenAI-format body rewritten into Mistral's vocabulary."""
    if "seed" in body:
        body["random_seed"] = body.pop("seed")
    if body.get("service_tier") not in _SERVICE_TIERS:
        body.pop("service_tier", None)
    for key in set(body) - ACCEPTED:
        del body[key]
    if request.HasField("extra"):
        extra = struct_to_dict(request.extra)
        body.update((k, v) for k, v in extra.items() if k in MISTRAL_EXTRAS)
    for message in body["messages"]:
        for call in message.get("tool_calls") or ():
            call["id"] = tool_call_id(call.get("id") or "")
        if message.get("role") == "tool" and isinstance(message.get("tool_call_id"), str):
            message["tool_call_id"] = tool_call_id(message["tool_call_id"])
    return body


def split_usage(chunk: chat_pb2.ChatCompletionChunk) -> list[chat_pb2.ChatCompletionChunk]:
    """Returns a chunk carrying choices and usage as two chunks, the usage-only one last."""
    if not (chunk.choices and chunk.HasField("usage")):
        return [chunk]
    usage = chat_pb2.ChatCompletionChunk(id=chunk.id, created=chunk.created, model=chunk.model)
    usage.usage.CopyFrom(chunk.usage)
    chunk.ClearField("usage")
    return [chunk, usage]


class MistralAdapter(OpenAIAdapter):
    """Speaks Mistral's Chat Completions to any deployment whose provider is `mistral`."""

    provider = "mistral"
    max_tokens_field = "max_tokens"

    def _body(self, deployment: Deployment, request: chat_pb2.ChatRequest, stream: bool) -> bytes:
        body = orjson.loads(super()._body(deployment, request, stream))
        return orjson.dumps(to_mistral(body, request))

    def _parse(
        self, events: list[Any], deployment: Deployment, summary: StreamSummary
    ) -> list[chat_pb2.ChatCompletionChunk]:
        return [part for chunk in super()._parse(events, deployment, summary) for part in split_usage(chunk)]

    def _embedding_body(self, deployment: Deployment, request: embeddings_pb2.EmbeddingRequest) -> dict[str, Any]:
        """Returns the embeddings body in Mistral's field names (it refuses OpenAI's `dimensions` and `user`)."""
        body = super()._embedding_body(deployment, request)
        body.pop("user", None)
        if "dimensions" in body:
            body["output_dimension"] = body.pop("dimensions")
        return body
