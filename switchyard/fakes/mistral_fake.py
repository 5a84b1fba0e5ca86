"""The fake Mistral provider: La Plateforme's Chat Completions at `POST /v1/chat/completions` and its
Embeddings at `POST /v1/embeddings` (`output_dimension` for OpenAI's `dimensions`).

Answers what the OpenAI fake would (all its scripting works), the way Mistral does:
- request fields outside Mistral's schema (as the `mistralai` SDK 2.x types it: `seed`, `logit_bias`,
  `stream_options`, `top_k`, ... are not in it) are refused with 422 `extra_forbidden`;
- tool-call ids are 9 characters of [a-zA-Z0-9], both in replies and in requests (anything else in a
  request is a 400);
- streams carry usage on the last chunk, with its finish_reason (no `stream_options` needed), and
  each tool call whole (id, name and all its arguments) in that chunk's delta, never in fragments;
- errors are flat `{"object":"error","message","type","param","code"}`, and 401/429 come from
  Mistral's gateway as `{"message": ..., "request_id": ...}`.
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Any

import orjson

from switchyard.fakes.http import HttpRequest, Response
from switchyard.fakes.rewriting import Rewriter, RewritingFake, load

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
        "response_format",
        "tools",
        "tool_choice",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "prediction",
        "parallel_tool_calls",
        "safe_prompt",
        "prompt_mode",
        "metadata",
        "reasoning_effort",
        "guardrails",
        "prompt_cache_key",
        "service_tier",
    }
)
# The fields of Mistral's embeddings request (`output_dimension` is its name for OpenAI's `dimensions`).
EMBEDDING_FIELDS = frozenset({"model", "input", "output_dimension", "output_dtype", "encoding_format", "metadata"})
_MISTRAL_ONLY = ("random_seed", "safe_prompt", "prompt_mode", "guardrails", "service_tier")
_TOOL_ID = re.compile(r"[a-zA-Z0-9]{9}")
_ALPHABET = string.ascii_letters + string.digits
_GATEWAY = {401: "Unauthorized", 429: "Requests rate limit exceeded"}


def mistral_id(original: str) -> str:
    """Returns a stable 9-character [a-zA-Z0-9] tool-call id for an OpenAI-fake one."""
    digest = int.from_bytes(hashlib.sha256(original.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        digest, rest = divmod(digest, len(_ALPHABET))
        chars.append(_ALPHABET[rest])
    return "".join(chars)


def flat_error(message: Any, kind: str, param: str | None = None, code: str | None = None) -> bytes:
    """Returns Mistral's flat error body."""
    return orjson.dumps({"object": "error", "message": message, "type": kind, "param": param, "code": code})


def extra_forbidden(body: dict[str, Any], accepted: frozenset[str]) -> tuple[int, bytes] | None:
    """Returns Mistral's 422 for the fields of body outside accepted, None when there are none."""
    extra = sorted(set(body) - accepted)
    if not extra:
        return None
    detail = [
        {"type": "extra_forbidden", "loc": ["body", k], "msg": "Extra inputs are not permitted", "input": body[k]}
        for k in extra
    ]
    return 422, flat_error({"detail": detail}, "invalid_request_message_error")


def check(body: dict[str, Any]) -> tuple[int, bytes] | None:
    """Returns the (status, body) Mistral refuses a request with, or None when it takes it."""
    extra = extra_forbidden(body, ACCEPTED)
    if extra:
        return extra
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict):
            continue
        ids = [c.get("id") for c in message.get("tool_calls") or () if isinstance(c, dict)]
        if message.get("role") == "tool":
            ids.append(message.get("tool_call_id"))
        for value in ids:
            if not (isinstance(value, str) and _TOOL_ID.fullmatch(value)):
                text = f"Tool call id was {value} but must be a-z, A-Z, 0-9, with a length of 9."
                return 400, flat_error(text, "invalid_request_error")
    return None


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    """Returns the OpenAI request a Mistral request means."""
    out = {k: v for k, v in body.items() if k not in _MISTRAL_ONLY}
    if "random_seed" in body:
        out["seed"] = body["random_seed"]
    if out.get("tool_choice") == "any":
        out["tool_choice"] = "required"
    if out.get("stream"):
        out["stream_options"] = {"include_usage": True}
    return out


def _rename_calls(calls: Any) -> None:
    for call in calls if isinstance(calls, list) else ():
        if isinstance(call, dict) and isinstance(call.get("id"), str):
            call["id"] = mistral_id(call["id"])


class MistralRewriter(Rewriter):
    """Rewrites ids, errors and the usage chunk of OpenAI answers into Mistral's."""

    def __init__(self) -> None:
        self._held: dict[str, Any] | None = None
        self._calls: dict[int, dict[str, Any]] = {}

    def whole(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> tuple[bytes, list[tuple[str, str]]]:
        raw = load(body)
        if status >= 400:
            error = raw.get("error") if isinstance(raw, dict) else None
            error = error if isinstance(error, dict) else {}
            if status in _GATEWAY:
                return orjson.dumps({"message": _GATEWAY[status], "request_id": "fake"}), headers
            return flat_error(error.get("message"), str(error.get("type") or ""), error.get("param")), headers
        if not isinstance(raw, dict) or not isinstance(raw.get("choices"), list):
            return body, headers
        for choice in raw["choices"]:
            _rename_calls((choice.get("message") or {}).get("tool_calls"))
        return orjson.dumps(raw), headers

    def event(self, payload: bytes) -> bytes:
        raw = load(payload)
        if not isinstance(raw, dict) or raw.get("error") is not None:
            return self._flush() + super().event(payload)
        choices = raw.get("choices")
        if not choices and raw.get("usage") and self._held is not None:
            # Mistral sends usage on the finishing chunk itself.
            held, self._held = self._held, None
            held["usage"] = raw["usage"]
            return super().event(orjson.dumps(held))
        raw.pop("usage", None)
        for choice in choices or ():
            self._gather((choice.get("delta") or {}).pop("tool_calls", None))
        if any(c.get("finish_reason") for c in choices or ()):
            if self._calls:
                calls = [self._calls[i] for i in sorted(self._calls)]
                _rename_calls(calls)
                raw["choices"][0].setdefault("delta", {})["tool_calls"] = calls
            self._held = raw
            return b""
        if choices and not any(c.get("delta") for c in choices):
            return b""  # only tool-call fragments: they travel whole with the finish
        return super().event(orjson.dumps(raw))

    def _gather(self, fragments: Any) -> None:
        for fragment in fragments if isinstance(fragments, list) else ():
            call = self._calls.setdefault(
                fragment.get("index", 0), {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
            call["index"] = fragment.get("index", 0)
            call["id"] = fragment.get("id") or call["id"]
            function = fragment.get("function") or {}
            call["function"]["name"] += function.get("name") or ""
            call["function"]["arguments"] += function.get("arguments") or ""

    def _flush(self) -> bytes:
        held, self._held = self._held, None
        return super().event(orjson.dumps(held)) if held is not None else b""

    def finish(self) -> bytes:
        return self._flush()


class MistralEmbeddingsRewriter(MistralRewriter):
    """Rewrites an OpenAI embeddings reply into Mistral's: an `id`, and usage counting no completion tokens."""

    def whole(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> tuple[bytes, list[tuple[str, str]]]:
        raw = load(body)
        if status >= 400 or not isinstance(raw, dict):
            return super().whole(status, body, headers)
        usage = raw.get("usage") or {}
        reply = {
            "id": f"emb-{hashlib.sha256(body).hexdigest()[:24]}",
            **raw,
            "usage": {**usage, "completion_tokens": 0},
        }
        return orjson.dumps(reply), headers


class FakeMistral(RewritingFake):
    """An in-process fake Mistral server; `async with FakeMistral.running(port=0) as fake: fake.url`."""

    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        if request.path == "/v1/chat/completions" and request.method == "POST":
            await self._mistral_chat(request, response)
        elif request.path == "/v1/embeddings" and request.method == "POST":
            self._mistral_embeddings(request, response)
        elif request.path.startswith("/v1/models") or request.path.startswith("/_fake/") or request.path == "/health":
            await super().handle(request, response)
        else:
            response.send(404, orjson.dumps({"detail": "Not Found"}))

    async def _mistral_chat(self, request: HttpRequest, response: Response) -> None:
        body = load(request.body)
        refusal = check(body) if isinstance(body, dict) else None
        if refusal is not None:
            self.log_refusal(request, body, refusal[0])
            response.send(*refusal)
            return
        openai_body = to_openai(body) if isinstance(body, dict) else body
        await self.delegate(request, response, openai_body, MistralRewriter(), body)

    def _mistral_embeddings(self, request: HttpRequest, response: Response) -> None:
        """Answers `POST /v1/embeddings` as the OpenAI fake would, in Mistral's field names and error shapes."""
        body = load(request.body)
        refusal = extra_forbidden(body, EMBEDDING_FIELDS) if isinstance(body, dict) else None
        if refusal is not None:
            self.log_refusal(request, body, refusal[0])
            response.send(*refusal)
            return
        openai_body = body
        if isinstance(body, dict):
            openai_body = {k: v for k, v in body.items() if k not in ("output_dtype", "output_dimension")}
            if body.get("output_dimension") is not None:
                openai_body["dimensions"] = body["output_dimension"]
        self.delegate_embeddings(request, response, openai_body, MistralEmbeddingsRewriter(), body)
