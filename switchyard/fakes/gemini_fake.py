"""The fake Gemini provider: a real HTTP server speaking generateContent and streamGenerateContent.

Routes `/v1/` and `/v1beta/` alike (google-genai 3.x defaults to v1): `POST /{version}/models/{m}:generateContent`,
`POST .../{m}:streamGenerateContent?alt=sse` (`data: ` with the space, `\\r\\n\\r\\n` between events, no
sentinel; without alt=sse the chunks come back as one JSON array), and `GET /{version}/models`.
Replies are deterministic (see `gemini_fake_wire`; error bodies in `gemini_fake_errors`), and every
request can be scripted, in order of precedence: request headers `x-fake-<key>`, admin scripts per
model (`POST /_fake/scripts {"model": "m", "status": 503, "times": 2}`), then the server's defaults.

Keys, as for the fake OpenAI: latency_ms, ttft_ms, chunk_delay_ms, chunks, status (Google error bodies;
429 with QuotaFailure + RetryInfo), retry_after (the 429 retryDelay, e.g. `27s`), cut_after (close the
stream after K events), malformed (`json` or `schema`), mid_stream_error (a bare JSON error after K
events), tool_call (force a call of that function); plus `blocked` (prompt blocked: 200 with
promptFeedback and no candidates), `safety` (candidates end with finishReason SAFETY) and `thoughts`
(thoughtsTokenCount to report), api_key (the key this request must carry, instead of the server's),
reply_model (the modelVersion the reply names) and usage (`omit`, `negative` or `inflated` usageMetadata).
With an `api_key` configured, a wrong `x-goog-api-key` (or `?key=`)
gets 400 API_KEY_INVALID and a missing one 403. `GET /_fake/requests` returns the request log (oldest
first; entries carry `body`, `status`, `api_key`, `traceparent`, `completed`, `cut`, `disconnected`);
`DELETE` clears it. Run it with `python -m switchyard.fakes --wire gemini --port P`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import parse_qs

import orjson

from switchyard.fakes import gemini_fake_embeddings as embeddings
from switchyard.fakes import gemini_fake_wire as wire
from switchyard.fakes.common import FakeServer, sleep_ms, tamper_events, tamper_usage, usage_mode, write_events
from switchyard.fakes.gemini_fake_errors import error_body, stream_error
from switchyard.fakes.http import HttpRequest, Response
from switchyard.wire.gemini.vocabulary import (
    API_KEY_HEADER,
    API_VERSIONS,
    BATCH_EMBED,
    EMBED,
    GENERATE,
    STREAM_GENERATE,
    event,
)

DEFAULT_MODELS = ("fake-gemini-2.5-flash", "fake-gemini-2.5-pro", "fake-gemini-3-pro")
_VERSION = "(?P<version>" + "|".join(API_VERSIONS) + ")"
_ROUTE = re.compile(rf"/{_VERSION}/(?:models|tunedModels)/(?P<model>[^/:]+):(?P<method>\w+)")
_MODELS = re.compile(rf"/{_VERSION}/models/?")
_MALFORMED = {"json": b'{"candidates":[{"content":', "schema": b'{"candidates":"none","responseId":"broken"}'}


@dataclass(frozen=True)
class FakeGeminiOptions:
    """How the fake answers one request; every field can be scripted (see the module docstring)."""

    latency_ms: float = 0.0
    ttft_ms: float | None = None
    chunk_delay_ms: float = 0.0
    chunks: int = 4
    status: int | None = None
    retry_after: str | None = None
    cut_after: int | None = None
    malformed: str | None = None
    mid_stream_error: int | None = None
    tool_call: str | None = None
    blocked: bool = False
    safety: bool = False
    thoughts: int = 0
    api_key: str | None = None
    reply_model: str | None = None
    usage: str | None = None

    def merged(self, raw: dict[str, Any]) -> FakeGeminiOptions:
        """Returns these options overridden by raw string/number values; raises ValueError on a bad one."""
        changes: dict[str, Any] = {}
        for name, value in raw.items():
            if value is None or name not in OPTION_KEYS:
                continue
            text = str(value).lower()
            if name in ("latency_ms", "ttft_ms", "chunk_delay_ms"):
                changes[name] = float(value)
            elif name in ("chunks", "status", "cut_after", "mid_stream_error", "thoughts"):
                changes[name] = int(value)
            elif name in ("blocked", "safety"):
                changes[name] = text in ("1", "true", "yes")
            elif name == "malformed":
                off = text in ("", "0", "false", "no")
                changes[name] = None if off else ("json" if text in ("1", "true", "yes") else text)
            elif name == "usage":
                changes[name] = usage_mode(value)
            elif name == "retry_after":
                changes[name] = text if text.endswith("s") else f"{text}s"
            else:
                changes[name] = str(value)
        return replace(self, **changes) if changes else self


OPTION_KEYS = frozenset(f.name for f in fields(FakeGeminiOptions))


class FakeGemini(FakeServer[FakeGeminiOptions]):
    """An in-process fake Gemini API; `async with FakeGemini.running(port=0) as fake: fake.url`.

    Its `url` is the API root clients use (no version: clients add `/v1beta` or `/v1`).
    """

    option_keys = OPTION_KEYS

    def __init__(
        self, defaults: FakeGeminiOptions | None = None, api_key: str | None = None, log_size: int = 10_000
    ) -> None:
        super().__init__(defaults or FakeGeminiOptions(), api_key, log_size, DEFAULT_MODELS)

    # ------------------------------------------------------------ routing

    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        route = _ROUTE.fullmatch(request.path)
        if route and request.method == "POST" and route["method"] in (GENERATE, STREAM_GENERATE):
            await self._generate(request, response, route["version"], route["model"], route["method"])
        elif route and request.method == "POST" and route["method"] in (EMBED, BATCH_EMBED):
            self._embed(request, response, route["model"], route["method"])
        elif _MODELS.fullmatch(request.path) and request.method == "GET":
            self._models_list(request, response)
        elif request.path == "/health":
            response.send(200, b"{}")
        elif request.path.startswith("/_fake/"):
            self._admin(request, response)
        else:
            response.send(404, error_body(404, f"Unknown path {request.path}."))

    def _models_list(self, request: HttpRequest, response: Response) -> None:
        key_error = self._key_error(request)
        if key_error is not None:
            response.send(key_error[0], error_body(key_error[0], None, **key_error[1]))
            return
        models = [
            {"name": f"models/{m}", "displayName": m, "supportedGenerationMethods": [GENERATE, "countTokens"]}
            for m in sorted(self._models)
        ]
        response.send(200, orjson.dumps({"models": models}))

    def _admin_error(self, status: int, message: str) -> bytes:
        return error_body(status, message)

    # ------------------------------------------------------------ embedContent, batchEmbedContents

    def _embed(self, request: HttpRequest, response: Response, model: str, method: str) -> None:
        """Answers an embeddings method with deterministic vectors (gemini_fake_embeddings)."""
        self._count += 1
        try:
            body: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            body = None
        entry: dict[str, Any] = {"id": self._count, "method": request.method, "path": request.path, "model": model}
        entry.update(body=body, status=0, completed=False)
        self._log.append(entry)
        opts = self._admitted(request, response, entry, model)
        if opts is None:
            return
        if opts.status:
            self._fail(response, entry, opts.status, None, opts.retry_after or "1s", model=model)
            return
        try:
            answer = (embeddings.embed_content if method == EMBED else embeddings.batch_embed_contents)(model, body)
        except embeddings.InvalidEmbedding as exc:
            self._fail(response, entry, 400, f"Invalid JSON payload received. {exc}")
            return
        self._models.add(model)
        entry.update(status=200, completed=True)
        response.send(200, orjson.dumps(answer))

    # ------------------------------------------------------------ generateContent

    def _options(self, headers: dict[str, str], model: str) -> FakeGeminiOptions:
        raw: dict[str, Any] = {}
        for key in (model, "*"):
            script = next((s for s in self._scripts.get(key, ()) if s.times is None or s.times > 0), None)
            if script is not None:
                if script.times is not None:
                    script.times -= 1
                raw.update(script.values)
                break
        for key, value in headers.items():
            if key.startswith("x-fake-"):
                raw[key[7:].replace("-", "_")] = value
        return self.defaults.merged(raw) if raw else self.defaults

    def _admitted(
        self, request: HttpRequest, response: Response, entry: dict[str, Any], model: str
    ) -> FakeGeminiOptions | None:
        """Returns the request's options, or None once it was answered with a bad option or a key error."""
        try:
            opts = self._options(request.headers, model)
        except ValueError as exc:
            self._fail(response, entry, 400, f"bad fake option: {exc}")
            return None
        key_error = self._key_error(request, opts.api_key)
        if key_error is not None:
            self._fail(response, entry, key_error[0], None, **key_error[1])
            return None
        return opts

    def _key_error(self, request: HttpRequest, required: str | None = None) -> tuple[int, dict[str, str]] | None:
        required = required or self.api_key
        if not required:
            return None
        given = request.headers.get(API_KEY_HEADER) or next(iter(parse_qs(request.query).get("key") or ()), None)
        if given is None:
            return 403, {}
        return None if given == required else (400, {"api_key_invalid": "1"})

    async def _generate(self, request: HttpRequest, response: Response, version: str, model: str, method: str) -> None:
        self._count += 1
        number = self._count
        stream = method == STREAM_GENERATE
        entry: dict[str, Any] = {
            "id": number,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "version": version,
            "model": model,
            "stream": stream,
            "body": None,
            "status": 0,
            "api_key": API_KEY_HEADER in request.headers or "key=" in request.query,
            "traceparent": request.headers.get("traceparent"),
            "user_agent": request.headers.get("user-agent"),
            "completed": False,
            "disconnected": False,
            "cut": False,
            "events_sent": 0,
        }
        self._log.append(entry)
        try:
            await self._answer(
                request, response, number=number, model=model, version=version, stream=stream, entry=entry
            )
        finally:
            entry["disconnected"] = response.disconnected
            entry["completed"] = response.finished and not response.disconnected and not entry["cut"]

    async def _answer(
        self,
        request: HttpRequest,
        response: Response,
        *,
        number: int,
        model: str,
        version: str,
        stream: bool,
        entry: dict[str, Any],
    ) -> None:
        try:
            body: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            body = None
        entry["body"] = body if isinstance(body, dict) else {"_raw": request.body[:2000].decode(errors="replace")}
        opts = self._admitted(request, response, entry, model)
        if opts is None:
            return
        if opts.status:
            await sleep_ms(opts.latency_ms)
            self._fail(response, entry, opts.status, None, opts.retry_after or "1s", model=model, version=version)
            return
        try:
            body = wire.check_request(wire.normalize(body))
        except wire.InvalidRequest as exc:
            self._fail(response, entry, 400, str(exc))
            return
        self._models.add(model)
        reply = wire.plan_reply(body, opts.tool_call)
        n = int((body.get("generationConfig") or {}).get("candidateCount") or 1)
        response_id = f"fake-gemini-{number:08d}"
        claimed = opts.reply_model or model
        entry["status"] = 200
        if opts.blocked:
            events = [wire.blocked(reply, model, response_id)]
        elif opts.safety:
            events = [wire.safety_stop(reply, n, model, response_id)]
        else:
            events = []
        if not stream:
            await sleep_ms(opts.latency_ms)
            if opts.malformed:
                response.send(200, _MALFORMED.get(opts.malformed, _MALFORMED["json"]))
                return
            whole = events[0] if events else wire.response(reply, n, claimed, response_id, opts.thoughts)
            response.send(200, orjson.dumps(tamper_usage(whole, opts.usage)))
            return
        if events:
            data = [event(e) for e in events]
        else:
            data = wire.stream_events(reply, n, claimed, response_id, opts.chunks, thoughts=opts.thoughts)
        data = tamper_events(data, opts.usage)
        if "alt=sse" not in request.query:
            # Without alt=sse the live API answers with one JSON array of the chunks.
            array = [orjson.loads(d[6:]) for d in data]
            response.send(200, orjson.dumps(array))
            return
        await self._stream(response, entry, opts, data)

    def _fail(
        self,
        response: Response,
        entry: dict[str, Any],
        status: int,
        message: str | None,
        retry_delay: str = "1s",
        **names: str,
    ) -> None:
        entry["status"] = status
        response.send(status, error_body(status, message, retry_delay, **names))

    async def _stream(
        self, response: Response, entry: dict[str, Any], opts: FakeGeminiOptions, events: list[bytes]
    ) -> None:
        if opts.malformed and events:
            broken = _MALFORMED.get(opts.malformed, _MALFORMED["json"])
            events[min(1, len(events) - 1)] = b"data: " + broken + b"\r\n\r\n"
        tail = b""
        if opts.mid_stream_error is not None:
            events, tail = events[: opts.mid_stream_error], stream_error()
        response.start_stream(200)
        await sleep_ms(opts.latency_ms if opts.ttft_ms is None else opts.ttft_ms)
        await write_events(response, entry, events, tail, chunk_delay_ms=opts.chunk_delay_ms, cut_after=opts.cut_after)
