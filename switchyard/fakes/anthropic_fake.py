"""The built-in fake Anthropic provider: a real HTTP server speaking the Messages API.

Scripted exactly like the OpenAI fake (it reuses that server's scripting, admin API and request
log): request headers `x-fake-<key>`, admin scripts per model (`POST /_fake/scripts`), and the
server's defaults. Keys: latency_ms, ttft_ms, chunk_delay_ms, chunks, status (Anthropic error
bodies; 429 with retry-after and anthropic-ratelimit-* headers; 529 overloaded_error), retry_after,
cut_after (close the stream after K events, no message_stop), malformed (`json` or `schema`),
mid_stream_error (an `event: error` overloaded_error after K events), tool_call, api_key (the key this
request must carry), reply_model (the model the reply names) and usage (`omit`, `negative`, `inflated`).

Like the real API it routes `POST /v1/messages` and `GET /v1/models`, accepts `x-api-key` and
`Authorization: Bearer`, requires `anthropic-version` (2023-06-01 or 2026-10-21) and answers 400
invalid_request_error for what the API rejects (see `anthropic_fake_wire.check_request`). Each log
entry adds `auth` (`x-api-key`, `bearer` or None) and `anthropic_version` to the OpenAI fake's
fields. Run it with `python -m switchyard.fakes --wire anthropic --port P`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson

from switchyard.fakes import anthropic_fake_wire as wire
from switchyard.fakes.common import LIMIT_TOKENS, sleep_ms, tamper_events, tamper_usage, write_events
from switchyard.fakes.http import HttpRequest, Response
from switchyard.fakes.openai_fake import FakeOpenAI, FakeOptions
from switchyard.wire.anthropic import vocabulary as vocab

DEFAULT_MODELS = ("fake-claude-sonnet", "fake-claude-haiku")
_WINDOW_S = 60.0

_MALFORMED_BODY = {
    "json": b'{"id":"msg_broken","type":"message","content":[{"type":"text",',
    "schema": b'{"id":"msg_broken","type":"message","role":"assistant","model":"m","content":"none"}',
}
_MALFORMED_EVENT = {
    "json": b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,\n\n',
    "schema": b'event: content_block_delta\ndata: {"type":"content_block_delta","index":7,"delta":{}}\n\n',
}


def _auth(headers: dict[str, str]) -> tuple[str | None, str | None]:
    """Returns (scheme, key) of the credential a request carries: x-api-key or a Bearer token."""
    if vocab.API_KEY_HEADER in headers:
        return vocab.API_KEY_HEADER, headers[vocab.API_KEY_HEADER]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return "bearer", token
    return None, None


class FakeAnthropic(FakeOpenAI):
    """An in-process fake Anthropic server; `async with FakeAnthropic.running(port=0) as fake: fake.url`."""

    def __init__(self, defaults: FakeOptions | None = None, api_key: str | None = None, log_size: int = 10_000) -> None:
        super().__init__(defaults, api_key, log_size)
        self._models = set(DEFAULT_MODELS)

    @property
    def url(self) -> str:
        """Returns the API base URL clients use: the server root (the SDK and adapter add `/v1/...`)."""
        return f"http://{self.host}:{self.port}"

    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        path = request.path
        if path == vocab.MESSAGES_PATH and request.method == "POST":
            await self._chat(request, response)
        elif path == vocab.MODELS_PATH and request.method == "GET":
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"}
                for m in sorted(self._models)
            ]
            page = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
            response.send(200, orjson.dumps(page), self._headers(self._count))
        elif path == "/health":
            response.send(200, b"{}")
        elif path.startswith("/_fake/"):
            self._admin(request, response)
        else:
            response.send(404, wire.error_body(404, f"Unknown path {path}."))

    def _headers(self, number: int, tokens: int = 0) -> list[tuple[str, str]]:
        now = time.monotonic()
        if now - self._window_start >= _WINDOW_S:
            self._window_start, self._window_requests, self._window_tokens = now, 0, 0
        self._window_requests += 1
        self._window_tokens += tokens
        reset = datetime.fromtimestamp(time.time() + self._window_start + _WINDOW_S - now, UTC)
        stamp = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
        tokens_left = str(max(0, LIMIT_TOKENS - self._window_tokens))
        headers = [(vocab.REQUEST_ID_HEADER, f"req_fake_{number:08d}"), ("anthropic-organization-id", "org-fake")]
        requests_left = str(max(0, self.limit_requests - self._window_requests))
        for kind in vocab.RATE_LIMIT_KINDS:
            limit, left = (self.limit_requests, requests_left) if kind == "requests" else (LIMIT_TOKENS, tokens_left)
            headers += [
                (vocab.rate_limit_header(kind, "limit"), str(limit)),
                (vocab.rate_limit_header(kind, "remaining"), left),
                (vocab.rate_limit_header(kind, "reset"), stamp),
            ]
        return headers

    async def _answer(self, request: HttpRequest, response: Response, number: int, entry: dict[str, Any]) -> None:
        headers = request.headers
        scheme, key = _auth(headers)
        version = headers.get(vocab.VERSION_HEADER)
        entry.update(authorization=scheme is not None, auth=scheme, anthropic_version=version)
        try:
            body: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            body = None
        entry["body"] = body if isinstance(body, dict) else {"_raw": request.body[:2000].decode(errors="replace")}
        try:
            opts = self._options(headers, body if isinstance(body, dict) else None)
        except ValueError as exc:
            self._error(response, number, entry, 400, f"bad fake option: {exc}")
            return
        required = opts.api_key or self.api_key
        if key is None or (required and key != required):
            self._error(response, number, entry, 401, opts=opts)
            return
        if version not in vocab.VERSIONS:
            self._error(response, number, entry, 400, f"anthropic-version: {version!r} is not a valid version")
            return
        if opts.status:
            await sleep_ms(opts.latency_ms)
            self._error(response, number, entry, opts.status, opts=opts)
            return
        try:
            wire.check_request(body, version)
        except wire.InvalidRequest as exc:
            self._error(response, number, entry, 400, str(exc), opts=opts)
            return
        model = body["model"]
        self._models.add(model)
        reply = wire.plan_reply(body, number, opts.tool_call)
        mid = f"msg_fake{number:08d}"
        out_headers = self._headers(number, reply.input_tokens + reply.output_tokens)
        entry["status"] = 200
        claimed = opts.reply_model or model
        if body.get("stream"):
            events = tamper_events(wire.stream_events(reply, mid, claimed, opts.chunks), opts.usage)
            await self._send_stream(response, entry, opts, out_headers, events)
            return
        await sleep_ms(opts.latency_ms)
        if opts.malformed:
            response.send(200, _MALFORMED_BODY.get(opts.malformed, _MALFORMED_BODY["json"]), out_headers)
            return
        response.send(200, orjson.dumps(tamper_usage(wire.message(reply, mid, claimed), opts.usage)), out_headers)

    def _error(
        self,
        response: Response,
        number: int,
        entry: dict[str, Any],
        status: int,
        message: str | None = None,
        *,
        opts: FakeOptions | None = None,
    ) -> None:
        headers = self._headers(number)
        if status == 429:
            headers = [(k, "0" if k.endswith("-remaining") else v) for k, v in headers]
            headers.append(("retry-after", (opts.retry_after if opts else None) or "1"))
        elif status >= 500 and opts and opts.retry_after:
            headers.append(("retry-after", opts.retry_after))
        entry["status"] = status
        response.send(status, wire.error_body(status, message, f"req_fake_{number:08d}"), headers)

    async def _send_stream(
        self,
        response: Response,
        entry: dict[str, Any],
        opts: FakeOptions,
        headers: list[tuple[str, str]],
        events: list[bytes],
    ) -> None:
        if opts.malformed and len(events) > 1:
            events.insert(2, _MALFORMED_EVENT.get(opts.malformed, _MALFORMED_EVENT["json"]))
        if opts.mid_stream_error is not None:
            events = [*events[: opts.mid_stream_error], wire.stream_error_event()]
        response.start_stream(200, [*headers, ("cache-control", "no-cache")])
        await sleep_ms(opts.latency_ms if opts.ttft_ms is None else opts.ttft_ms)
        await write_events(response, entry, events, b"", chunk_delay_ms=opts.chunk_delay_ms, cut_after=opts.cut_after)
