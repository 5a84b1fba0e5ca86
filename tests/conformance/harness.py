"""The conformance harness: every adapter, its fake, and the golden transcripts it must parse.

A provider entry says how to start its fake, build its adapter and deployment, where the system
prompt lands in its wire format, and which golden transcripts it must parse. All four wire formats
support every case of the suite, so no provider opts out of any.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from switchyard.common.v1 import chat_pb2
from switchyard.fakes import FakeOpenAI
from switchyard.fakes.anthropic_fake import FakeAnthropic
from switchyard.fakes.gemini_fake import FakeGemini
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.anthropic import AnthropicAdapter
from switchyard.services.providers.adapters.base import Adapter, ClientPool, Deployment
from switchyard.services.providers.adapters.gemini import GeminiAdapter
from switchyard.services.providers.adapters.openai import OpenAIAdapter
from switchyard.services.providers.adapters.vllm import VLLMAdapter


@dataclass(frozen=True)
class Provider:
    """One wire format under test."""

    name: str
    fake: Callable[[], AbstractAsyncContextManager[Any]]
    adapter: Callable[[ClientPool], Adapter]
    model: str
    # api_base returns the deployment's api_base for a running fake.
    api_base: Callable[[Any], str]
    # system_prompt returns the system text the fake received, from the logged request body.
    system_prompt: Callable[[dict[str, Any]], str | None]
    # error_script adds the keys that make the fake answer errors in this provider's own style.
    error_script: dict[str, Any] = field(default_factory=dict)
    # transcripts maps a case name to the raw SSE body the provider would send.
    transcripts: dict[str, list[bytes]] = field(default_factory=dict)
    # credentials returns the Deployment fields (key, project, ...) a deployment at an api_base needs.
    credentials: Callable[[str], dict[str, Any]] = lambda api_base: {"api_key": "sk-conformance"}


def _openai_system(body: dict[str, Any]) -> str | None:
    first = body["messages"][0]
    return first["content"] if first["role"] in ("system", "developer") else None


OPENAI_CHUNK = (
    '{"id":"chatcmpl-g","object":"chat.completion.chunk","created":1,"model":"m",'
    '"choices":[{"index":0,"delta":%s,"finish_reason":%s}]}'
)


def _openai_transcript(text: str, newline: bytes) -> list[bytes]:
    """Returns an OpenAI SSE body spelling text, split mid-character, with the given line ending."""
    import json

    events = [
        OPENAI_CHUNK % ('{"role":"assistant","content":""}', "null"),
        OPENAI_CHUNK % (json.dumps({"content": text}, ensure_ascii=False), "null"),
        OPENAI_CHUNK % ("{}", '"stop"'),
        '{"id":"chatcmpl-g","object":"chat.completion.chunk","created":1,"model":"m","choices":[],'
        '"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
    ]
    raw = b"".join(b": keep-alive" + newline + b"data: " + e.encode() + newline + newline for e in events)
    raw += b"data: [DONE]" + newline + newline
    return _split_inside_characters(raw)


def _split_inside_characters(raw: bytes) -> list[bytes]:
    """Returns raw cut into pieces whose boundaries fall inside multi-byte UTF-8 characters."""
    cuts = [i for i in range(1, len(raw)) if 0x80 <= raw[i] < 0xC0]  # continuation bytes
    cuts = sorted({*cuts[::3], len(raw) // 3})
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(raw[start:cut])
        start = cut
    pieces.append(raw[start:])
    return [p for p in pieces if p]


GOLDEN_TEXT = "Grüße aus Zürich — 東京 ✓"

OPENAI = Provider(
    name="openai",
    fake=lambda: FakeOpenAI.running(port=0),
    adapter=lambda clients: OpenAIAdapter(clients, init_telemetry("test", "")),
    model="fake-gpt-4o",
    api_base=lambda fake: fake.url,
    system_prompt=_openai_system,
    transcripts={
        "utf8_split": _openai_transcript(GOLDEN_TEXT, b"\n"),
        "crlf": _openai_transcript(GOLDEN_TEXT, b"\r\n"),
    },
)
VLLM = Provider(
    name="vllm",
    fake=lambda: FakeOpenAI.running(port=0),
    adapter=lambda clients: VLLMAdapter(clients, init_telemetry("test", "")),
    model="fake-llama-3.1-8b",
    api_base=lambda fake: fake.url,
    system_prompt=_openai_system,
    error_script={"error_style": "vllm"},
    transcripts=OPENAI.transcripts,
)


def _anthropic_system(body: dict[str, Any]) -> str | None:
    system = body.get("system")
    if isinstance(system, list):
        return "".join(block.get("text", "") for block in system)
    return system


def _anthropic_transcript(text: str, newline: bytes) -> list[bytes]:
    """Returns an Anthropic Messages SSE body spelling text, split mid-character, with the given line ending."""
    import json

    half = len(text) // 2
    events = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_g",
                    "type": "message",
                    "role": "assistant",
                    "model": "m",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 3, "output_tokens": 1},
                },
            },
        ),
        ("ping", {"type": "ping"}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text[:half]}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text[half:]}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 2},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    raw = b"".join(
        b"event: "
        + name.encode()
        + newline
        + b"data: "
        + json.dumps(data, ensure_ascii=False).encode()
        + newline
        + newline
        for name, data in events
    )
    return _split_inside_characters(raw)


ANTHROPIC = Provider(
    name="anthropic",
    fake=lambda: FakeAnthropic.running(port=0),
    adapter=lambda clients: AnthropicAdapter(clients, init_telemetry("test", "")),
    model="fake-claude-sonnet",
    api_base=lambda fake: fake.url.removesuffix("/v1"),
    system_prompt=_anthropic_system,
    transcripts={
        "utf8_split": _anthropic_transcript(GOLDEN_TEXT, b"\n"),
        "crlf": _anthropic_transcript(GOLDEN_TEXT, b"\r\n"),
    },
)


def _gemini_system(body: dict[str, Any]) -> str | None:
    instruction = body.get("systemInstruction")
    return "".join(part.get("text", "") for part in instruction["parts"]) if instruction else None


def _gemini_transcript(text: str, newline: bytes) -> list[bytes]:
    """Returns a Gemini `alt=sse` body spelling text, split mid-character, with the given line ending."""
    import json

    half = len(text) // 2
    events = [
        {
            "candidates": [{"content": {"role": "model", "parts": [{"text": text[:half]}]}, "index": 0}],
            "modelVersion": "m",
            "responseId": "g",
        },
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text[half:]}]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
            "modelVersion": "m",
            "responseId": "g",
        },
    ]
    raw = b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode() + newline + newline for e in events)
    return _split_inside_characters(raw)


GEMINI = Provider(
    name="gemini",
    fake=lambda: FakeGemini.running(port=0),
    adapter=lambda clients: GeminiAdapter(clients, init_telemetry("test", "")),
    model="fake-gemini-2.5-flash",
    api_base=lambda fake: fake.url.removesuffix("/v1"),
    system_prompt=_gemini_system,
    transcripts={
        "utf8_split": _gemini_transcript(GOLDEN_TEXT, b"\n"),
        "crlf": _gemini_transcript(GOLDEN_TEXT, b"\r\n"),
    },
)

PROVIDERS = [OPENAI, VLLM, ANTHROPIC, GEMINI]


def deployment(provider: Provider, api_base: str, model: str | None = None, timeout: float = 30.0) -> Deployment:
    return Deployment(
        id=f"{provider.name}-conformance",
        group="conformance",
        provider=provider.name,
        model=model or provider.model,
        api_base=api_base,
        timeout=timeout,
        **provider.credentials(api_base),
    )


@contextlib.asynccontextmanager
async def adapter_for(provider: Provider, api_base: str) -> AsyncIterator[Adapter]:
    clients = ClientPool([api_base])
    try:
        yield provider.adapter(clients)
    finally:
        await clients.aclose()


class ReplayServer:
    """A real HTTP server that answers every POST with the given body pieces, each its own chunk.

    A POST to `/token` is a service-account token grant (Vertex AI's keys name it): it gets an access token.
    """

    def __init__(self, pieces: list[bytes], content_type: bytes = b"text/event-stream") -> None:
        self._pieces = pieces
        self._content_type = content_type
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> ReplayServer:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        """Returns the base URL in the OpenAI fakes' shape (`/v1` included)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        await reader.readexactly(length)
        if head.startswith(b"POST /token "):
            token = b'{"access_token":"ya29.replay","expires_in":3600,"token_type":"Bearer"}'
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % len(token))
            writer.write(b"connection: close\r\n\r\n" + token)
            await writer.drain()
            writer.close()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: " + self._content_type + b"\r\ntransfer-encoding: chunked\r\n"
            b"connection: close\r\n\r\n"
        )
        for piece in self._pieces:
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0)  # give the reader a chance to see each piece on its own
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()


def ask(text: str, *, system: str | None = None, **fields: Any) -> chat_pb2.ChatRequest:
    messages = []
    if system is not None:
        messages.append(chat_pb2.ChatMessage(role=chat_pb2.ROLE_SYSTEM, text=system))
    messages.append(chat_pb2.ChatMessage(role=chat_pb2.ROLE_USER, text=text))
    return chat_pb2.ChatRequest(model="conformance", messages=messages, **fields)
