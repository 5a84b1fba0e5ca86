"""The fake Ollama server: the native chat API, `POST /api/chat`, streaming NDJSON.

Answers what the OpenAI fake would (all its scripting works), the way Ollama does: `stream` defaults
to true; `options` {temperature, top_p, seed, stop, num_predict, ...} and `format` ("json" or a JSON
Schema) shape the reply; images come as base64 `images` beside a message's text; tool calls carry
object arguments and no ids (results name their tool in `tool_name`), each whole in one line; a stream
is one JSON object per line, the last `done: true` with `done_reason`, `prompt_eval_count` and
`eval_count`; errors are `{"error": "..."}` (mid-stream too). Also `GET /api/tags`, `/api/version` and
the OpenAI-compatible `POST /v1/embeddings`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson

from switchyard.fakes.http import HttpRequest, Response
from switchyard.fakes.rewriting import Rewriter, RewritingFake, load

_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "num_predict": "max_tokens",
}
VERSION = "0.12.6"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _message(raw: Any, i: int, ids: dict[str, str]) -> Any:
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {"role": raw.get("role"), "content": raw.get("content")}
    images = raw.get("images")
    if isinstance(images, list) and images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": raw.get("content") or ""}]
        parts += [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b}"}} for b in images]
        out["content"] = parts
    calls = []
    for j, call in enumerate(raw.get("tool_calls") or ()):
        function = call.get("function") or {}
        call_id = f"call_{i}_{j}"
        ids[function.get("name", "")] = call_id
        arguments = function.get("arguments")
        calls.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": function.get("name", ""), "arguments": orjson.dumps(arguments or {}).decode()},
            }
        )
    if calls:
        out["tool_calls"] = calls
        out["content"] = out["content"] or None
    if raw.get("role") == "tool":
        out["tool_call_id"] = ids.get(raw.get("tool_name") or "", "call_unknown")
    return out


def to_openai(body: dict[str, Any]) -> dict[str, Any]:
    """Returns the OpenAI request an /api/chat request means."""
    ids: dict[str, str] = {}
    messages = body.get("messages")
    out: dict[str, Any] = {
        "model": body.get("model"),
        "messages": [_message(m, i, ids) for i, m in enumerate(messages)] if isinstance(messages, list) else messages,
    }
    raw_options = body.get("options")
    options: dict[str, Any] = raw_options if isinstance(raw_options, dict) else {}
    out.update((name, options[key]) for key, name in _OPTIONS.items() if key in options)
    if body.get("tools"):
        out["tools"] = body["tools"]
    fmt = body.get("format")
    if fmt == "json":
        out["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, dict):
        out["response_format"] = {"type": "json_schema", "json_schema": {"name": "format", "schema": fmt}}
    if body.get("stream", True):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


def _calls(calls: Any) -> list[dict[str, Any]]:
    return [
        {"function": {"name": c["function"]["name"], "arguments": orjson.loads(c["function"]["arguments"] or "{}")}}
        for c in calls or ()
    ]


def _counts(usage: Any) -> dict[str, int]:
    usage = usage if isinstance(usage, dict) else {}
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {
        "total_duration": 1_000_000,
        "load_duration": 10_000,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": 100_000,
        "eval_count": completion,
        "eval_duration": 800_000,
    }


class OllamaRewriter(Rewriter):
    """Rewrites OpenAI answers into /api/chat replies and NDJSON lines."""

    content_type = "application/x-ndjson"

    def __init__(self, model: str) -> None:
        self._model = model
        self._calls: dict[int, dict[str, Any]] = {}
        self._finish: str | None = None

    def _line(self, value: dict[str, Any]) -> bytes:
        return orjson.dumps(value) + b"\n"

    def _head(self) -> dict[str, Any]:
        return {"model": self._model, "created_at": _now()}

    def whole(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> tuple[bytes, list[tuple[str, str]]]:
        raw = load(body)
        if status >= 400:
            error = raw.get("error") if isinstance(raw, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            return orjson.dumps({"error": str(message or "error")}), headers
        choices = raw.get("choices") if isinstance(raw, dict) else None
        if not isinstance(choices, list) or not choices:
            return body, headers
        message = choices[0]["message"]
        reply: dict[str, Any] = {"role": "assistant", "content": message.get("content") or ""}
        if message.get("tool_calls"):
            reply["tool_calls"] = _calls(message["tool_calls"])
        finish = "length" if choices[0].get("finish_reason") == "length" else "stop"
        out = {**self._head(), "message": reply, "done": True, "done_reason": finish, **_counts(raw.get("usage"))}
        return orjson.dumps(out), headers

    def event(self, payload: bytes) -> bytes:
        raw = load(payload)
        if raw is None:
            # A scripted malformed event, or [DONE]: Ollama has no terminator of its own.
            return b"" if payload == b"[DONE]" else payload + b"\n"
        if raw.get("error") is not None:
            return self._line({"error": str(raw["error"].get("message") or "error")})
        if not raw.get("choices"):
            return self._done(raw.get("usage")) if raw.get("usage") is not None else b""
        choice = raw["choices"][0]
        delta = choice.get("delta") or {}
        for call in delta.get("tool_calls") or ():
            whole = self._calls.setdefault(call["index"], {"function": {"name": "", "arguments": ""}})
            function = call.get("function") or {}
            whole["function"]["name"] += function.get("name") or ""
            whole["function"]["arguments"] += function.get("arguments") or ""
        out = b""
        if "content" in delta and not delta.get("tool_calls"):
            message = {"role": "assistant", "content": delta["content"] or ""}
            out = self._line({**self._head(), "message": message, "done": False})
        if choice.get("finish_reason"):
            self._finish = "length" if choice["finish_reason"] == "length" else "stop"
            if self._calls:
                calls = _calls([self._calls[i] for i in sorted(self._calls)])
                message = {"role": "assistant", "content": "", "tool_calls": calls}
                out += self._line({**self._head(), "message": message, "done": False})
        return out

    def _done(self, usage: Any) -> bytes:
        reason, self._finish = self._finish or "stop", None
        message = {"role": "assistant", "content": ""}
        return self._line({**self._head(), "message": message, "done": True, "done_reason": reason, **_counts(usage)})

    def finish(self) -> bytes:
        return self._done(None) if self._finish else b""


class FakeOllama(RewritingFake):
    """An in-process fake Ollama server; `ollama.Client(host=fake.url)`."""

    @property
    def url(self) -> str:
        """Returns the server root (Ollama's host, litellm_params.api_base)."""
        return self.admin_url

    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        path = request.path
        if path == "/api/chat" and request.method == "POST":
            body = load(request.body)
            model = body.get("model") if isinstance(body, dict) else None
            openai_body = to_openai(body) if isinstance(body, dict) else body
            await self.delegate(request, response, openai_body, OllamaRewriter(str(model or "")), body)
        elif path == "/v1/embeddings" and request.method == "POST":
            self._embeddings(request, response)  # the OpenAI-compatible endpoint speaks OpenAI's bodies
        elif path == "/api/tags" and request.method == "GET":
            response.send(200, orjson.dumps({"models": [self._card(m) for m in sorted(self._models)]}))
        elif path == "/api/version":
            response.send(200, orjson.dumps({"version": VERSION}))
        elif path.startswith("/_fake/") or path == "/health":
            await super().handle(request, response)
        else:
            response.send(404, b"404 page not found", content_type="text/plain")

    @staticmethod
    def _card(model: str) -> dict[str, Any]:
        return {
            "name": model,
            "model": model,
            "modified_at": datetime.fromtimestamp(time.time(), UTC).isoformat(),
            "size": 4_920_753_328,
            "digest": "0" * 64,
            "details": {"format": "gguf", "family": "llama", "parameter_size": "8.0B", "quantization_level": "Q4_K_M"},
        }

    def _admin_error(self, status: int, message: str) -> bytes:
        return orjson.dumps({"error": message})
