"""The built-in fake OpenAI-compatible provider: a real HTTP server speaking Chat Completions.

Used by tests, the embedded default and the benchmark. Replies are deterministic (see
`openai_fake_wire`), and every request can be scripted, in order of precedence:

- request headers `x-fake-<key>` (e.g. `x-fake-status: 429`),
- request body `metadata` entries `fake_<key>` (what survives a trip through the gateway),
- admin scripts per upstream model: `POST /_fake/scripts {"model": "m", "status": 503, "times": 2}`,
- the server's defaults (`--latency-ms`, `--ttft-ms`, `--chunks`, ...).

Keys: latency_ms, ttft_ms, chunk_delay_ms (the pause between stream events), drip_after (the events
sent before chunk_delay_ms starts: a slow drip after the first token), status, retry_after,
cut_after (close the stream after K events, no [DONE]), malformed (`json` or `schema`),
mid_stream_error (an error event after K events), chunks, error_code (`insufficient_quota`),
error_style (`openai`, `vllm`, `vllm-flat`), tool_call (force a call of that tool), api_key (the key
this request must carry, instead of `--api-key`: what a key rotation looks like from the gateway),
reply_model (the model name the reply claims), content (the reply's text instead of the echo), reply_if
(a JSON object {"needle": "text"}: the text of the first needle found in the request's messages,
e.g. a judge scripted to grade answers by what they say) and usage (`omit`, `negative` or `inflated` token
counts). `GET /_fake/requests` returns the request log (a JSON list, oldest first), each entry with
`body`, `status`, `authorization` (present or not), `traceparent`, `completed`, `cut` and
`disconnected` (the client went away before its response was finished);
`DELETE` clears it. Run it with `python -m switchyard.fakes [--wire openai]`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from typing import Any

import orjson

from switchyard.fakes import embeddings
from switchyard.fakes import openai_fake_wire as wire
from switchyard.fakes.common import (
    LIMIT_REQUESTS,
    LIMIT_TOKENS,
    FakeServer,
    count_tokens,
    sleep_ms,
    tamper_events,
    tamper_usage,
    usage_mode,
    write_events,
)
from switchyard.fakes.http import HttpRequest, Response
from switchyard.wire.openai import vocabulary as vocab

DEFAULT_MODELS = ("fake-gpt-4o", "fake-gpt-4o-mini", "fake-llama-3.1-70b", "fake-llama-3.1-8b")
_WINDOW_S = 60.0
_JSON = "application/json"


@dataclass(frozen=True)
class FakeOptions:
    """How the fake answers one request; every field can be scripted (see the module docstring)."""

    latency_ms: float = 0.0
    ttft_ms: float | None = None
    chunk_delay_ms: float = 0.0
    drip_after: int = 0
    chunks: int = 4
    status: int | None = None
    retry_after: str | None = None
    cut_after: int | None = None
    malformed: str | None = None
    mid_stream_error: int | None = None
    error_code: str | None = None
    error_style: str = "openai"
    tool_call: str | None = None
    api_key: str | None = None
    reply_model: str | None = None
    content: str | None = None
    reply_if: str | None = None
    usage: str | None = None

    def merged(self, raw: dict[str, Any]) -> FakeOptions:
        """Returns these options overridden by raw string/number values; raises ValueError on a bad one."""
        changes: dict[str, Any] = {}
        for name, value in raw.items():
            if value is None or name not in OPTION_KEYS:
                continue
            if name in _FLOAT_KEYS:
                changes[name] = float(value)
            elif name in _INT_KEYS:
                changes[name] = int(value)
            elif name == "malformed":
                text = str(value).lower()
                off = text in ("", "0", "false", "no")
                changes[name] = None if off else ("json" if text in ("1", "true", "yes") else text)
            elif name == "usage":
                changes[name] = usage_mode(value)
            elif name == "reply_if":
                mapping = orjson.loads(value) if isinstance(value, str | bytes) else value
                if not isinstance(mapping, dict):
                    raise ValueError("reply_if must be a JSON object of needle -> reply text")
                changes[name] = orjson.dumps(mapping).decode()
            else:
                changes[name] = str(value)
        return replace(self, **changes) if changes else self


_FLOAT_KEYS = frozenset({"latency_ms", "ttft_ms", "chunk_delay_ms"})
_INT_KEYS = frozenset({"chunks", "status", "cut_after", "mid_stream_error", "drip_after"})
OPTION_KEYS = frozenset(f.name for f in fields(FakeOptions))


def _scripted(reply: wire.Reply, body: dict[str, Any], opts: FakeOptions) -> wire.Reply:
    """Returns reply with its text replaced as `content` or `reply_if` script it (tool calls are kept)."""
    if reply.content is None or reply.tool_calls:
        return reply
    text = opts.content
    if opts.reply_if:
        seen = orjson.dumps(body.get("messages") or []).decode()
        rules: dict[str, Any] = orjson.loads(opts.reply_if)
        text = next((str(v) for needle, v in rules.items() if needle in seen), text)
    if text is None:
        return reply
    return replace(reply, content=text, completion_tokens=count_tokens(text))


def _seconds(value: float) -> str:
    """Returns a duration the way OpenAI's x-ratelimit-reset-* headers write it (`12ms`, `1s`, `6m0s`)."""
    if value < 1:
        return f"{int(value * 1000)}ms"
    if value < 60:
        return f"{value:.3g}s"
    return f"{int(value // 60)}m{int(value % 60)}s"


class FakeOpenAI(FakeServer[FakeOptions]):
    """An in-process fake OpenAI server; `async with FakeOpenAI.running(port=0) as fake: fake.url`."""

    option_keys = OPTION_KEYS

    def __init__(self, defaults: FakeOptions | None = None, api_key: str | None = None, log_size: int = 10_000) -> None:
        super().__init__(defaults or FakeOptions(), api_key, log_size, DEFAULT_MODELS)
        # The requests per 60 s window the rate-limit headers advertise (`--limit-requests`).
        self.limit_requests = LIMIT_REQUESTS
        self._window_start = time.monotonic()
        self._window_requests = 0
        self._window_tokens = 0

    @property
    def url(self) -> str:
        """Returns the API base URL clients use, `/v1` included."""
        return f"http://{self.host}:{self.port}/v1"

    # ------------------------------------------------------------ routing

    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        path = request.path
        if path in ("/v1/chat/completions", "/chat/completions") and request.method == "POST":
            await self._chat(request, response)
        elif path in ("/v1/embeddings", "/embeddings") and request.method == "POST":
            self._embeddings(request, response)
        elif path in ("/v1/models", "/models") and request.method == "GET":
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "switchyard-fake"} for m in sorted(self._models)
            ]
            response.send(200, orjson.dumps({"object": "list", "data": data}), self._headers(self._count))
        elif path == "/health":
            response.send(200, b"{}")
        elif path.startswith("/_fake/"):
            self._admin(request, response)
        else:
            response.send(404, wire.error_body(404, f"Unknown path {path}.", None, "unknown_url"))

    def _admin_error(self, status: int, message: str) -> bytes:
        return (
            wire.error_body(status, message, None, "unknown_url") if status == 404 else wire.error_body(status, message)
        )

    # ------------------------------------------------------------ chat completions

    def _options(self, headers: dict[str, str], body: dict[str, Any] | None) -> FakeOptions:
        raw: dict[str, Any] = {}
        model = body.get("model") if body else None
        if self._scripts:
            raw.update(self._take_script(model if isinstance(model, str) else ""))
        metadata = body.get("metadata") if body else None
        if isinstance(metadata, dict):
            raw.update((k[5:], v) for k, v in metadata.items() if k.startswith("fake_"))
        for key, value in headers.items():
            if key.startswith("x-fake-"):
                raw[key[7:].replace("-", "_")] = value
        return self.defaults.merged(raw) if raw else self.defaults

    def _admitted(
        self, request: HttpRequest, response: Response, number: int, entry: dict[str, Any], body: Any
    ) -> FakeOptions | None:
        """Returns the request's options, or None once it has been answered 400 (a bad fake option) or 401
        (not the key the fake, or its script, requires)."""
        try:
            opts = self._options(request.headers, body if isinstance(body, dict) else None)
        except ValueError as exc:
            self._fail(response, number, entry, 400, message=f"bad fake option: {exc}", code="fake_option")
            return None
        required = opts.api_key or self.api_key
        if required and request.headers.get("authorization") != f"Bearer {required}":
            self._fail(response, number, entry, 401, opts=opts)
            return None
        return opts

    def _take_script(self, model: str) -> dict[str, Any]:
        for key in (model, "*"):
            for script in self._scripts.get(key, ()):
                if script.times is None:
                    return script.values
                if script.times > 0:
                    script.times -= 1
                    return script.values
        return {}

    def _headers(self, number: int, tokens: int = 0) -> list[tuple[str, str]]:
        now = time.monotonic()
        if now - self._window_start >= _WINDOW_S:
            self._window_start, self._window_requests, self._window_tokens = now, 0, 0
        self._window_requests += 1
        self._window_tokens += tokens
        reset = _seconds(max(0.001, self._window_start + _WINDOW_S - now))
        return [
            ("x-request-id", f"req_fake_{number:08d}"),
            ("openai-processing-ms", "1"),
            (vocab.LIMIT_REQUESTS_HEADER, str(self.limit_requests)),
            (vocab.REMAINING_REQUESTS_HEADER, str(max(0, self.limit_requests - self._window_requests))),
            (vocab.LIMIT_TOKENS_HEADER, str(LIMIT_TOKENS)),
            (vocab.REMAINING_TOKENS_HEADER, str(max(0, LIMIT_TOKENS - self._window_tokens))),
            (vocab.RESET_REQUESTS_HEADER, reset),
            (vocab.RESET_TOKENS_HEADER, reset),
        ]

    async def _chat(self, request: HttpRequest, response: Response) -> None:
        self._count += 1
        number = self._count
        headers = request.headers
        entry: dict[str, Any] = {
            "id": number,
            "method": request.method,
            "path": request.path,
            "body": None,
            "status": 0,
            "authorization": "authorization" in headers,
            "traceparent": headers.get("traceparent"),
            "user_agent": headers.get("user-agent"),
            "completed": False,
            "disconnected": False,
            "cut": False,
            "events_sent": 0,
        }
        self._log.append(entry)
        try:
            await self._answer(request, response, number, entry)
        finally:
            entry["disconnected"] = response.disconnected
            entry["completed"] = response.finished and not response.disconnected and not entry["cut"]

    async def _answer(self, request: HttpRequest, response: Response, number: int, entry: dict[str, Any]) -> None:
        try:
            body: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            body = None
        # The log's body is always an object, so log readers can .get() from it.
        if isinstance(body, dict):
            entry["body"] = body
        else:
            entry["body"] = {"_raw": request.body[:2000].decode(errors="replace")}
        opts = self._admitted(request, response, number, entry, body)
        if opts is None:
            return
        if opts.status:
            await sleep_ms(opts.latency_ms)
            self._fail(response, number, entry, opts.status, code=opts.error_code, opts=opts)
            return
        if body is None:
            self._fail(
                response,
                number,
                entry,
                400,
                message="We could not parse the JSON body of your request.",
                opts=opts,
            )
            return
        try:
            wire.check_request(body)
        except wire.InvalidRequest as exc:
            self._fail(response, number, entry, 400, message=str(exc), param=exc.param, code=exc.code, opts=opts)
            return
        model = body["model"]
        self._models.add(model)
        reply = _scripted(wire.plan_reply(body, number, opts.tool_call), body, opts)
        n = body.get("n") or 1
        claimed = opts.reply_model or model
        head: dict[str, Any] = {"id": f"chatcmpl-fake{number:08d}", "created": int(time.time()), "model": claimed}
        out_headers = self._headers(number, reply.prompt_tokens + reply.completion_tokens * n)
        entry["status"] = 200
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and opts.usage != "omit"
            events = wire.stream_events(reply, head, n, opts.chunks, include_usage)
            await self._stream(response, entry, opts, out_headers, tamper_events(events, opts.usage))
            return
        await sleep_ms(opts.latency_ms)
        if opts.malformed:
            response.send(200, _MALFORMED_BODY.get(opts.malformed, _MALFORMED_BODY["json"]), out_headers)
            return
        result = wire.completion(reply, head["id"], head["created"], claimed, n)
        response.send(200, orjson.dumps(tamper_usage(result, opts.usage)), out_headers)

    def _embeddings(self, request: HttpRequest, response: Response) -> None:
        """Answers an embeddings request with deterministic vectors (switchyard.fakes.embeddings)."""
        self._count += 1
        number = self._count
        try:
            body: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            body = None
        entry: dict[str, Any] = {"id": number, "method": "POST", "path": request.path, "body": body, "status": 0}
        self._log.append(entry)
        opts = self._admitted(request, response, number, entry, body)
        if opts is None:
            return
        if opts.status:
            self._fail(response, number, entry, opts.status, code=opts.error_code, opts=opts)
            return
        problem = embeddings.check(body)
        if problem is not None:
            self._fail(response, number, entry, 400, message=problem, opts=opts)
            return
        result = embeddings.reply(body)
        entry["status"] = 200
        response.send(200, orjson.dumps(result), self._headers(number, result["usage"]["prompt_tokens"]))

    def _fail(
        self,
        response: Response,
        number: int,
        entry: dict[str, Any],
        status: int,
        *,
        message: str | None = None,
        param: str | None = None,
        code: str | None = None,
        opts: FakeOptions | None = None,
    ) -> None:
        style = opts.error_style if opts else "openai"
        headers = self._headers(number)
        if status == 429:
            headers = [h for h in headers if h[0] != vocab.REMAINING_REQUESTS_HEADER]
            headers.append((vocab.REMAINING_REQUESTS_HEADER, "0"))
            if code != vocab.INSUFFICIENT_QUOTA:
                retry = (opts.retry_after if opts else None) or "1"
                headers.append(("retry-after", retry))
        elif status in (503, 529) and opts and opts.retry_after:
            headers.append(("retry-after", opts.retry_after))
        entry["status"] = status
        response.send(status, wire.error_body(status, message, param, code, style), headers)

    async def _stream(
        self,
        response: Response,
        entry: dict[str, Any],
        opts: FakeOptions,
        headers: list[tuple[str, str]],
        events: list[bytes],
    ) -> None:
        if opts.malformed and len(events) > 1:
            events[1] = _MALFORMED_EVENT.get(opts.malformed, _MALFORMED_EVENT["json"])
        if opts.mid_stream_error is not None:
            events = [*events[: opts.mid_stream_error], wire.stream_error_event()]
        response.start_stream(200, headers)
        await sleep_ms(opts.latency_ms if opts.ttft_ms is None else opts.ttft_ms)
        await write_events(
            response,
            entry,
            events,
            vocab.DONE_EVENT,
            chunk_delay_ms=opts.chunk_delay_ms,
            cut_after=opts.cut_after,
            drip_after=opts.drip_after,
        )


_MALFORMED_BODY = {
    "json": b'{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,',
    "schema": b'{"id":"chatcmpl-broken","object":"chat.completion","created":0,"model":"m","choices":"none"}',
}
_MALFORMED_EVENT = {
    "json": b'data: {"id":"chatcmpl-broken","choices":[{\n\n',
    "schema": b'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","created":0,"choices":1}\n\n',
}
