"""Fakes of OpenAI-like vendors built on the OpenAI fake: requests translated in, replies rewritten out.

Azure OpenAI, Mistral and Ollama answer what OpenAI would (same deterministic replies, same scripting:
`x-fake-*` headers, `fake_*` metadata, `/_fake/scripts`), in their own paths, bodies, stream framing
and error shapes. A `RewritingFake` turns the vendor's request into an OpenAI request, lets the OpenAI
fake answer it into a `RewritingResponse`, and a `Rewriter` rewrites each whole body and each stream
event on the way out. The request log keeps the body as the vendor's client sent it.
"""

from __future__ import annotations

from typing import Any, cast

import orjson

from switchyard.fakes.http import Headers, HttpRequest, Response
from switchyard.fakes.openai_fake import FakeOpenAI


class Rewriter:
    """Rewrites one OpenAI answer into a vendor's; the default changes nothing."""

    content_type = "text/event-stream"

    def whole(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> tuple[bytes, list[tuple[str, str]]]:
        """Returns the body and headers of a complete (non-stream or error) response."""
        return body, headers

    def event(self, payload: bytes) -> bytes:
        """Returns what the vendor writes for one OpenAI SSE event's data (`[DONE]` included)."""
        return b"data: " + payload + b"\n\n"

    def finish(self) -> bytes:
        """Returns what the vendor writes when the stream ends cleanly, after the last event."""
        return b""


def sse_payloads(data: bytes) -> list[bytes]:
    """Returns the data of each OpenAI SSE event in data (the OpenAI fake writes whole events)."""
    return [block.removeprefix(b"data: ") for block in data.split(b"\n\n") if block.strip()]


def load(payload: bytes) -> Any:
    """Returns the decoded JSON of payload, or None when it is not JSON (a scripted malformed event)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


class RewritingResponse:
    """Stands in for a Response, passing what the OpenAI fake writes through a Rewriter."""

    def __init__(self, inner: Response, rewriter: Rewriter) -> None:
        self._inner = inner
        self._rewriter = rewriter

    @property
    def started(self) -> bool:
        return self._inner.started

    @property
    def finished(self) -> bool:
        return self._inner.finished

    @property
    def disconnected(self) -> bool:
        return self._inner.disconnected

    def send(self, status: int, body: bytes, headers: Headers = (), content_type: str = "application/json") -> None:
        body, out = self._rewriter.whole(status, body, list(headers))
        self._inner.send(status, body, out, content_type)

    def start_stream(self, status: int, headers: Headers = (), content_type: str = "text/event-stream") -> None:
        self._inner.start_stream(status, headers, self._rewriter.content_type)

    def _events(self, data: bytes) -> bytes:
        return b"".join(self._rewriter.event(p) for p in sse_payloads(data))

    def write(self, data: bytes) -> None:
        self._inner.write(self._events(data))

    async def drain(self) -> None:
        await self._inner.drain()

    def end(self, data: bytes = b"") -> None:
        self._inner.end(self._events(data) + self._rewriter.finish())

    def abort(self) -> None:
        self._inner.abort()


class RewritingFake(FakeOpenAI):
    """An OpenAI fake that answers another vendor's requests; subclasses route and translate."""

    async def delegate(
        self, request: HttpRequest, response: Response, openai_body: Any, rewriter: Rewriter, wire_body: Any
    ) -> None:
        """Lets the OpenAI fake answer openai_body into rewriter; logs wire_body as the request's body."""
        number, path = self._count + 1, request.path
        request.body = orjson.dumps(openai_body)
        await self._chat(request, cast(Response, RewritingResponse(response, rewriter)))
        self.log_wire_body(number, path, wire_body)

    def delegate_embeddings(
        self, request: HttpRequest, response: Response, openai_body: Any, rewriter: Rewriter, wire_body: Any
    ) -> None:
        """Lets the OpenAI fake answer an embeddings openai_body into rewriter; logs wire_body as the body."""
        number, path = self._count + 1, request.path
        request.body = orjson.dumps(openai_body)
        self._embeddings(request, cast(Response, RewritingResponse(response, rewriter)))
        self.log_wire_body(number, path, wire_body)

    def log_wire_body(self, number: int, path: str, wire_body: Any) -> None:
        """Puts the body and path the vendor's client sent into request `number`'s log entry."""
        for entry in reversed(self._log):
            if entry["id"] == number:
                entry["body"] = wire_body if isinstance(wire_body, dict) else {"_raw": str(wire_body)[:2000]}
                entry["path"] = path
                break

    def log_refusal(self, request: HttpRequest, body: Any, status: int) -> None:
        """Logs a request the vendor refused before the OpenAI fake saw it."""
        self._count += 1
        self._log.append(
            {
                "id": self._count,
                "method": request.method,
                "path": request.path,
                "body": body if isinstance(body, dict) else {"_raw": request.body[:2000].decode(errors="replace")},
                "status": status,
                "authorization": "authorization" in request.headers,
                "completed": True,
                "disconnected": False,
                "cut": False,
                "events_sent": 0,
            }
        )
