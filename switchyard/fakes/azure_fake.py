"""The fake Azure OpenAI provider: Azure's paths, `api-key` auth, error shapes and content filter.

Serves `POST /openai/deployments/{deployment}/chat/completions?api-version=...` (the deployment in the
path names the model; a request without `api-version` is a 404, as on Azure) and
`GET /openai/models?api-version=...`. Auth is `api-key: K` or an Entra token as `Authorization:
Bearer K`. Replies are the OpenAI fake's (all its scripting works) plus Azure's filter annotations:
`prompt_filter_results` and per-choice `content_filter_results`, and streams open with Azure's
choice-less `prompt_filter_results` chunk. Errors other than 400 come in Azure's
`{"error":{"code":"<status>","message":...}}` form.

Azure's content filter, triggered by the prompt: a last user message containing `[[filter:prompt]]`
is refused with 400 `code: content_filter` and `innererror.code: ResponsibleAIPolicyViolation`; one
containing `[[filter:completion]]` is answered with `finish_reason: content_filter`.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from switchyard.fakes.http import HttpRequest, Response
from switchyard.fakes.rewriting import Rewriter, RewritingFake, load

_CHAT = re.compile(r"/openai/deployments/([^/]+)/chat/completions")
_EMBEDDINGS = re.compile(r"/openai/deployments/([^/]+)/embeddings")
PROMPT_TRIGGER = "[[filter:prompt]]"
COMPLETION_TRIGGER = "[[filter:completion]]"
_CATEGORIES = ("hate", "self_harm", "sexual", "violence")
_AZURE_MESSAGES = {
    401: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource.",
    404: "The API deployment for this resource does not exist.",
}


def filter_results(filtered: str | None = None) -> dict[str, Any]:
    """Returns Azure's content_filter_results, every category safe except `filtered` (high, filtered)."""
    return {
        c: {"filtered": True, "severity": "high"} if c == filtered else {"filtered": False, "severity": "safe"}
        for c in _CATEGORIES
    }


def content_filter_error() -> bytes:
    """Returns the 400 body Azure sends when its filter refuses a prompt."""
    return orjson.dumps(
        {
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management "
                "policy. Please modify your prompt and retry.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": filter_results("violence"),
                },
            }
        }
    )


def _last_user_text(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return orjson.dumps(message.get("content")).decode()
    return ""


class AzureRewriter(Rewriter):
    """Adds Azure's filter annotations and error shapes to what the OpenAI fake answers."""

    def __init__(self, filter_completion: bool) -> None:
        self._filter = filter_completion
        self._opened = False
        self._cut = False

    def whole(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> tuple[bytes, list[tuple[str, str]]]:
        headers = [*headers, ("apim-request-id", next((v for k, v in headers if k == "x-request-id"), ""))]
        raw = load(body)
        if status >= 400:
            return self._error(status, raw, body), headers
        if not isinstance(raw, dict) or not isinstance(raw.get("choices"), list):
            return body, headers
        raw["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": filter_results()}]
        for choice in raw["choices"]:
            choice["content_filter_results"] = filter_results("violence" if self._filter else None)
            if self._filter:
                choice["finish_reason"] = "content_filter"
                choice["message"]["content"] = None
                choice["message"].pop("tool_calls", None)
        return orjson.dumps(raw), headers

    @staticmethod
    def _error(status: int, raw: Any, body: bytes) -> bytes:
        if status == 400:
            return body
        error = raw.get("error") if isinstance(raw, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return orjson.dumps({"error": {"code": str(status), "message": _AZURE_MESSAGES.get(status, message)}})

    def event(self, payload: bytes) -> bytes:
        out = b""
        if not self._opened:
            self._opened = True
            opening = {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": filter_results()}],
            }
            out = b"data: " + orjson.dumps(opening) + b"\n\n"
        raw = load(payload)
        if not isinstance(raw, dict) or not raw.get("choices"):
            return out + super().event(payload)
        if self._cut:
            return out
        for choice in raw["choices"]:
            choice["content_filter_results"] = filter_results()
            if self._filter and choice.get("delta", {}).get("content"):
                # The filter stops the completion at its first words.
                choice["delta"] = {}
                choice["finish_reason"] = "content_filter"
                choice["content_filter_results"] = filter_results("violence")
                self._cut = True
        return out + super().event(orjson.dumps(raw))


class FakeAzureOpenAI(RewritingFake):
    """An in-process fake Azure OpenAI resource; `AzureOpenAI(azure_endpoint=fake.url, ...)`."""

    @property
    def url(self) -> str:
        """Returns the resource endpoint (litellm_params.api_base, the SDK's azure_endpoint)."""
        return self.admin_url

    async def handle(self, request: HttpRequest, response: Response) -> None:
        """Answers one HTTP request."""
        path = request.path
        chat = _CHAT.fullmatch(path)
        if path.startswith("/_fake/") or path == "/health":
            await super().handle(request, response)
        elif "api-version=" not in request.query:
            response.send(404, orjson.dumps({"error": {"code": "404", "message": "Resource not found"}}))
        elif chat and request.method == "POST":
            await self._azure_chat(request, response, chat.group(1))
        elif (embed := _EMBEDDINGS.fullmatch(path)) and request.method == "POST":
            self._azure_embeddings(request, response, embed.group(1))
        elif path == "/openai/models" and request.method == "GET":
            data = [{"id": m, "object": "model", "created_at": 0, "status": "succeeded"} for m in sorted(self._models)]
            response.send(200, orjson.dumps({"object": "list", "data": data}))
        else:
            response.send(404, orjson.dumps({"error": {"code": "404", "message": "Resource not found"}}))

    def _azure_embeddings(self, request: HttpRequest, response: Response, deployment: str) -> None:
        key = request.headers.get("api-key")
        if key:
            request.headers["authorization"] = f"Bearer {key}"
        body = load(request.body)
        if isinstance(body, dict):
            # The path names the model, as on Azure: the OpenAI fake answers for that deployment.
            request.body = orjson.dumps(dict(body, model=deployment))
        self._embeddings(request, response)

    async def _azure_chat(self, request: HttpRequest, response: Response, deployment: str) -> None:
        key = request.headers.get("api-key")
        if key:
            # The OpenAI fake checks Bearer keys: an api-key is the same credential.
            request.headers["authorization"] = f"Bearer {key}"
        body = load(request.body)
        text = _last_user_text(body)
        if PROMPT_TRIGGER in text:
            self.log_refusal(request, body, 400)
            response.send(400, content_filter_error())
            return
        openai_body = dict(body, model=deployment) if isinstance(body, dict) else body
        rewriter = AzureRewriter(filter_completion=COMPLETION_TRIGGER in text)
        await self.delegate(request, response, openai_body, rewriter, body)
