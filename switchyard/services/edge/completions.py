"""POST /v1/completions: OpenAI's legacy text completions, served as a chat request with one user turn.

The translation, both ways:

- Request: `prompt` (a string, or a list holding exactly one string) becomes the content of a single
  `user` message; `model`, `max_tokens` (default 16, the legacy API's), `temperature`, `top_p`, `n`,
  `stop`, `presence_penalty`, `frequency_penalty`, `logit_bias`, `seed`, `user`, `stream` and
  `stream_options` carry over unchanged and are validated as Chat Completions validates them.
  Several prompts in one request (one choice per prompt), `suffix`, `echo: true`, `best_of > 1` and
  `logprobs` have no chat equivalent: they are a 400 naming the parameter.
- Reply: each chat choice's message content becomes a `text_completion` choice's `text` (with
  `logprobs: null`), keeping index and finish reason; the `id` is the chat completion's with `cmpl-`
  in front of its own prefix removed; usage is unchanged. A stream renders each chunk's delta content
  as a `text_completion` chunk and ends with `data: [DONE]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from switchyard.common.v1 import chat_pb2, context_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.translate import Headers, error_body, error_response, request_context
from switchyard.wire.openai import FINISH_NAMES, parse_request, usage_to_wire
from switchyard.wire.openai.vocabulary import DONE_EVENT, event

ROUTE = "/v1/completions"
OBJECT = "text_completion"
DEFAULT_MAX_TOKENS = 16
# Legacy parameters that carry over to the chat request as they are.
_CARRIED = (
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "seed",
    "user",
    "stream",
    "stream_options",
)


def _invalid(param: str, message: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, message, param=param)


def _prompt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if isinstance(value, list) and len(value) > 1 and all(isinstance(v, str) for v in value):
        raise _invalid("prompt", "This gateway answers one prompt per request: send each prompt on its own.")
    if value is None:
        raise _invalid("prompt", "Missing required parameter: 'prompt'.")
    raise _invalid("prompt", "Invalid 'prompt': expected a string (token-id prompts are not supported).")


def _unsupported(payload: dict[str, Any]) -> None:
    if payload.get("suffix") is not None:
        raise _invalid("suffix", "'suffix' is not supported: completions are served by chat models.")
    if payload.get("echo"):
        raise _invalid("echo", "'echo' is not supported: completions are served by chat models.")
    if payload.get("best_of") not in (None, 1):
        raise _invalid("best_of", "'best_of' is not supported: completions are served by chat models.")
    if payload.get("logprobs") is not None:
        raise _invalid("logprobs", "'logprobs' is not supported on /v1/completions.")
    known = {*_CARRIED, "prompt", "suffix", "echo", "best_of", "logprobs"}
    unknown = sorted(set(payload) - known)
    if unknown:
        raise _invalid(unknown[0], f"Unrecognized request argument supplied: {unknown[0]}")


def chat_payload(payload: Any) -> dict[str, Any]:
    """Returns the Chat Completions body a legacy completions body translates to (see the module docstring)."""
    if not isinstance(payload, dict):
        raise _invalid("", "The request body must be a JSON object.")
    _unsupported(payload)
    chat = {key: payload[key] for key in _CARRIED if key in payload and payload[key] is not None}
    chat.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    chat["messages"] = [{"role": "user", "content": _prompt(payload.get("prompt"))}]
    return chat


def _id(chat_id: str) -> str:
    return "cmpl-" + chat_id.removeprefix("chatcmpl-")


def completion_to_wire(completion: chat_pb2.ChatCompletion) -> dict[str, Any]:
    """Returns the text_completion object of a chat completion."""
    return {
        "id": _id(completion.id),
        "object": OBJECT,
        "created": completion.created,
        "model": completion.model,
        "choices": [
            {
                "index": c.index,
                "text": c.message.text,
                "logprobs": None,
                "finish_reason": FINISH_NAMES.get(c.finish_reason) or "stop",
            }
            for c in completion.choices
        ],
        "usage": usage_to_wire(completion.usage),
    }


def chunk_to_wire(chunk: chat_pb2.ChatCompletionChunk, include_usage: bool) -> dict[str, Any]:
    """Returns the text_completion chunk of a chat completion chunk."""
    result: dict[str, Any] = {
        "id": _id(chunk.id),
        "object": OBJECT,
        "created": chunk.created,
        "model": chunk.model,
        "choices": [
            {
                "index": c.index,
                "text": c.delta.content,
                "logprobs": None,
                "finish_reason": FINISH_NAMES.get(c.finish_reason),
            }
            for c in chunk.choices
        ],
    }
    if include_usage:
        result["usage"] = usage_to_wire(chunk.usage) if chunk.HasField("usage") else None
    return result


class _TextStream:
    """text_completion chunks as `data:` events, ended by [DONE] or an error event."""

    def __init__(self, include_usage: bool) -> None:
        self._include_usage = include_usage

    def begin(self) -> bytes:
        return b""

    def chunks(self, chunks: Sequence[chat_pb2.ChatCompletionChunk]) -> bytes:
        out = []
        for chunk in chunks:
            # A role-only opening delta says nothing a text completion has a field for.
            if chunk.choices and all(not c.delta.content and not c.finish_reason for c in chunk.choices):
                continue
            if not chunk.choices and not (self._include_usage and chunk.HasField("usage")):
                continue
            out.append(event(chunk_to_wire(chunk, self._include_usage)))
        return b"".join(out)

    def end(self) -> bytes:
        return DONE_EVENT

    def fail(self, err: SwitchyardError) -> bytes:
        return event(error_body(err))


class TextCompletionsFormat:
    """POST /v1/completions: OpenAI's legacy Completions API over the chat pipeline."""

    route = ROUTE

    def context(self, headers: dict[str, str]) -> context_pb2.RequestContext:
        return request_context(headers)

    def parse(self, payload: Any, headers: dict[str, str]) -> chat_pb2.ChatRequest:
        return parse_request(chat_payload(payload))

    def completion(self, request: chat_pb2.ChatRequest, completion: chat_pb2.ChatCompletion) -> bytes:
        return orjson.dumps(completion_to_wire(completion))

    def stream(self, request: chat_pb2.ChatRequest) -> _TextStream:
        return _TextStream(request.stream_options.include_usage)

    def error(self, err: SwitchyardError, request_id: str) -> tuple[int, Headers, bytes]:
        return error_response(err, request_id)

    def headers(self, request_id: str) -> Headers:
        return []
