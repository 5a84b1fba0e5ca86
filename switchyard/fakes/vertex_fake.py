"""The fake Google Vertex AI: Gemini and Claude models under one project, behind Google's OAuth 2 tokens.

Routes, with `{v}` `v1` or `v1beta1` (google-genai's Vertex default):

    POST /token                                   the JWT-bearer grant (`vertex_fake_oauth`)
    POST /{v}/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
                                                      .../{m}:streamGenerateContent[?alt=sse]
    POST /{v}/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict
                                                         .../{m}:streamRawPredict
    GET  /{v}/publishers/{google|anthropic}/models/{m}   the model's publisher entry (a probe)

Every model call needs `Authorization: Bearer <token>` with a token this fake issued to an account of
that project and not yet expired; a missing, unknown or expired one is a 401 UNAUTHENTICATED (another
project's a 403), in Google's error shape. Behind the token check the fake Gemini answers the `google`
publisher and the fake Anthropic the `anthropic` one, so replies, streams, errors and scripting are
theirs (`x-fake-*` headers; `script(model, ...)` goes to the fake that serves the model). An Anthropic
body must carry an `anthropic_version` (`vertex-2023-10-16`, or an API version as the anthropic SDK
sends) and no `model` (it is in the URL). The request
log (`requests`) holds each model call with the body as the client sent it, plus `publisher`,
`project`, `location` and `account`. Run it with
`python -m switchyard.fakes --wire vertex --service-account-key KEY.json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

import orjson

from switchyard.fakes.anthropic_fake import FakeAnthropic
from switchyard.fakes.anthropic_fake_wire import error_body as anthropic_error
from switchyard.fakes.common import FakeServer
from switchyard.fakes.gemini_fake import FakeGemini, FakeGeminiOptions
from switchyard.fakes.gemini_fake_errors import error_body as google_error
from switchyard.fakes.http import HttpRequest, Response
from switchyard.fakes.openai_fake import FakeOpenAI, FakeOptions
from switchyard.fakes.vertex_fake_oauth import GrantError, ServiceAccount, TokenIssuer
from switchyard.wire.anthropic import vocabulary as vocab

TOKEN_PATH = "/token"
ANTHROPIC_VERTEX_VERSION = "vertex-2023-10-16"
# The anthropic_version values a body may carry, and the Messages API semantics each means: Vertex's own,
# or an API version (the anthropic SDK sends its default, 2026-10-21, which drops the sampling parameters).
MESSAGES_VERSIONS = {ANTHROPIC_VERTEX_VERSION: vocab.VERSION_2023, **{v: v for v in vocab.VERSIONS}}
_VERSION = r"(?P<version>v1|v1beta1)"
_CALL = re.compile(
    _VERSION + r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/(?P<publisher>google|anthropic)/models/(?P<model>[^/:]+):(?P<method>\w+)"
)
_PUBLISHER_MODEL = re.compile(_VERSION + r"/publishers/(?P<publisher>google|anthropic)/models/(?P<model>[^/:]+)")
_METHODS = {"google": ("generateContent", "streamGenerateContent"), "anthropic": ("rawPredict", "streamRawPredict")}


class FakeVertex(FakeServer[FakeGeminiOptions]):
    """An in-process fake Vertex AI; `async with FakeVertex.running(port=0, service_accounts=[...]) as fake`.

    Its `url` is the api_base clients use; `token_uri` is its token endpoint. Tokens live
    `token_lifetime_s` seconds.
    """

    def __init__(
        self,
        defaults: FakeGeminiOptions | None = None,
        api_key: str | None = None,
        log_size: int = 10_000,
        service_accounts: Iterable[ServiceAccount] = (),
        token_lifetime_s: float = 3600.0,
    ) -> None:
        defaults = defaults or FakeGeminiOptions()
        super().__init__(defaults, None, log_size, ())
        self.gemini = FakeGemini(defaults, log_size=log_size)
        timing = {k: getattr(defaults, k) for k in ("latency_ms", "ttft_ms", "chunk_delay_ms", "chunks")}
        self.anthropic = FakeAnthropic(FakeOptions(**timing), log_size=log_size)
        self.issuer = TokenIssuer("", token_lifetime_s)
        self.issuer.trust(service_accounts)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Starts listening and returns the bound port; the token endpoint's own URL becomes the audience."""
        bound = await super().start(host, port)
        self.issuer.audience = self.token_uri
        return bound

    @property
    def token_uri(self) -> str:
        """Returns the token endpoint a service-account key should name."""
        return f"{self.url}{TOKEN_PATH}"

    def trust(self, *accounts: ServiceAccount) -> None:
        """Accepts grants signed by these accounts' keys."""
        self.issuer.trust(accounts)

    # ------------------------------------------------------------ scripting goes to the fake serving the model

    def _fake_for(self, model: str) -> FakeOpenAI | FakeGemini:
        return self.anthropic if model.startswith("claude") else self.gemini

    def script(self, model: str | None = None, times: int | None = None, **values: Any) -> None:
        """Scripts the next `times` requests for model (every model of both publishers when None)."""
        targets: list[FakeOpenAI | FakeGemini] = [self._fake_for(model)] if model else [self.gemini, self.anthropic]
        for fake in targets:
            fake.script(model, times, **values)

    def clear_scripts(self) -> None:
        self.gemini.clear_scripts()
        self.anthropic.clear_scripts()

    # ------------------------------------------------------------ routing

    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        path = request.path
        call = _CALL.fullmatch(path.lstrip("/"))
        entry = _PUBLISHER_MODEL.fullmatch(path.lstrip("/"))
        if path == TOKEN_PATH and request.method == "POST":
            self._grant(request, response)
        elif call and request.method == "POST":
            await self._call(request, response, call)
        elif entry and request.method == "GET":
            self._publisher_model(request, response, entry["publisher"], unquote(entry["model"]))
        elif path == "/health":
            response.send(200, b"{}")
        elif path.startswith("/_fake/"):
            self._admin(request, response)
        else:
            response.send(404, google_error(404, f"The requested URL {path} was not found on this server."))

    def _admin_error(self, status: int, message: str) -> bytes:
        return google_error(status, message)

    def _grant(self, request: HttpRequest, response: Response) -> None:
        try:
            response.send(200, self.issuer.grant(request.body))
        except GrantError as exc:
            response.send(400, exc.body())

    def _publisher_model(self, request: HttpRequest, response: Response, publisher: str, model: str) -> None:
        refused = self.issuer.check(request.headers.get("authorization"), "")
        if refused is not None:
            response.send(*refused)
            return
        name = f"publishers/{publisher}/models/{model}"
        response.send(200, orjson.dumps({"name": name, "versionId": "001", "launchStage": "GA"}))

    # ------------------------------------------------------------ model calls

    async def _call(self, request: HttpRequest, response: Response, route: re.Match[str]) -> None:
        publisher, model, method = route["publisher"], unquote(route["model"]), route["method"]
        vertex = {"publisher": publisher, "project": route["project"], "location": route["location"]}
        refused = self.issuer.check(request.headers.get("authorization"), route["project"])
        if refused is not None:
            self._refuse(request, response, vertex, *refused)
            return
        if method not in _METHODS[publisher]:
            self._refuse(request, response, vertex, 404, google_error(404, f"Method {method} is not found."))
            return
        vertex["account"] = self._account(request)
        client_body = _json(request.body)
        path = request.path
        if publisher == "google":
            request.path = f"/v1/models/{model}:{method}"
            inner: FakeOpenAI | FakeGemini = self.gemini
        else:
            problem = _anthropic_problem(client_body)
            if problem:
                self._refuse(request, response, vertex, 400, anthropic_error(400, problem))
                return
            _as_messages_request(request, client_body, model, stream=method == "streamRawPredict")
            inner = self.anthropic
        number = inner._count + 1
        await inner.handle(request, response)
        logged: dict[str, Any] = next((e for e in reversed(inner.requests) if e["id"] == number), {})
        self._log.append({**logged, **vertex, "path": path, "body": client_body, "id": self._next_id()})

    def _account(self, request: HttpRequest) -> str:
        token = request.headers.get("authorization", "").partition(" ")[2]
        return self.issuer.issued[token].account.email

    def _next_id(self) -> int:
        self._count += 1
        return self._count

    def _refuse(
        self, request: HttpRequest, response: Response, vertex: dict[str, str], status: int, body: bytes
    ) -> None:
        self._log.append(
            {
                **vertex,
                "id": self._next_id(),
                "method": request.method,
                "path": request.path,
                "body": _json(request.body),
                "status": status,
                "completed": True,
                "disconnected": False,
                "cut": False,
                "events_sent": 0,
            }
        )
        response.send(status, body)

    def clear_requests(self) -> None:
        super().clear_requests()
        self.gemini.clear_requests()
        self.anthropic.clear_requests()


def _json(body: bytes) -> Any:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"_raw": body[:2000].decode(errors="replace")}
    return value if isinstance(value, dict) else {"_raw": value}


def _anthropic_problem(body: Any) -> str:
    """Returns why Vertex refuses a Messages body ("" when it does not)."""
    if "_raw" in body:
        return "The request body is not valid JSON."
    if body.get("anthropic_version") not in MESSAGES_VERSIONS:
        return f"anthropic_version: {body.get('anthropic_version')!r} is not a valid version"
    if "model" in body:
        return "model: Extra inputs are not permitted (the model is named in the URL)"
    return ""


def _as_messages_request(request: HttpRequest, body: dict[str, Any], model: str, *, stream: bool) -> None:
    """Turns a rawPredict request into the Messages API request the fake Anthropic answers."""
    messages = {k: v for k, v in body.items() if k != "anthropic_version"}
    messages["model"] = model
    version = MESSAGES_VERSIONS[body["anthropic_version"]]
    if stream:
        messages["stream"] = True
    request.path = "/v1/messages"
    request.body = orjson.dumps(messages)
    # The fake Anthropic wants its own headers; Vertex checked the caller's token already.
    request.headers = {**request.headers, "anthropic-version": version, "x-api-key": "vertex"}
    request.headers.pop("authorization", None)
