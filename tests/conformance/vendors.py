"""Conformance entries for the OpenAI-like vendors: Azure OpenAI, Mistral and Ollama.

Each runs against its own fake (`switchyard.fakes.{azure,mistral,ollama}_fake`), with golden transcripts
in the vendor's own stream shape: Azure's choice-less `prompt_filter_results` chunk first, Mistral's
usage on the finishing chunk, Ollama's NDJSON lines.
"""

from __future__ import annotations

import json

from switchyard.fakes.azure_fake import FakeAzureOpenAI
from switchyard.fakes.mistral_fake import FakeMistral
from switchyard.fakes.ollama_fake import FakeOllama
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.azure import AzureOpenAIAdapter
from switchyard.services.providers.adapters.mistral import MistralAdapter
from switchyard.services.providers.adapters.ollama import OllamaAdapter
from tests.conformance.harness import (
    GOLDEN_TEXT,
    OPENAI_CHUNK,
    Provider,
    _openai_system,
    _openai_transcript,
    _split_inside_characters,
)

AZURE_OPENING = (
    b'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":'
    b'[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}'
)


def _azure_transcript(text: str, newline: bytes) -> list[bytes]:
    opening = AZURE_OPENING + newline + newline
    return _split_inside_characters(opening + b"".join(_openai_transcript(text, newline)))


def _mistral_transcript(text: str, newline: bytes) -> list[bytes]:
    """Returns a Mistral SSE body: usage rides on the finishing chunk, then [DONE]."""
    last = (
        '{"id":"g","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":'
        '{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"total_tokens":5,"completion_tokens":2}}'
    )
    events = [
        OPENAI_CHUNK % ('{"role":"assistant","content":""}', "null"),
        OPENAI_CHUNK % (json.dumps({"content": text}, ensure_ascii=False), "null"),
        last,
    ]
    raw = b"".join(b"data: " + e.encode() + newline + newline for e in events) + b"data: [DONE]" + newline + newline
    return _split_inside_characters(raw)


def _ollama_transcript(text: str, newline: bytes) -> list[bytes]:
    """Returns an Ollama NDJSON body spelling text in two lines, then the done line."""
    half = len(text) // 2
    head = {"model": "m", "created_at": "2026-12-07T06:00:00.000000Z"}
    lines = [
        {**head, "message": {"role": "assistant", "content": text[:half]}, "done": False},
        {**head, "message": {"role": "assistant", "content": text[half:]}, "done": False},
        {
            **head,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 3,
            "eval_count": 2,
        },
    ]
    raw = b"".join(json.dumps(line, ensure_ascii=False).encode() + newline for line in lines)
    return _split_inside_characters(raw)


AZURE = Provider(
    name="azure",
    fake=lambda: FakeAzureOpenAI.running(port=0),
    adapter=lambda clients: AzureOpenAIAdapter(clients, init_telemetry("test", "")),
    model="fake-gpt-4o",
    api_base=lambda fake: fake.url,
    system_prompt=_openai_system,
    transcripts={
        "utf8_split": _azure_transcript(GOLDEN_TEXT, b"\n"),
        "crlf": _azure_transcript(GOLDEN_TEXT, b"\r\n"),
    },
)
MISTRAL = Provider(
    name="mistral",
    fake=lambda: FakeMistral.running(port=0),
    adapter=lambda clients: MistralAdapter(clients, init_telemetry("test", "")),
    model="fake-mistral-large",
    api_base=lambda fake: fake.url,
    system_prompt=_openai_system,
    transcripts={
        "utf8_split": _mistral_transcript(GOLDEN_TEXT, b"\n"),
        "crlf": _mistral_transcript(GOLDEN_TEXT, b"\r\n"),
    },
)
OLLAMA = Provider(
    name="ollama",
    fake=lambda: FakeOllama.running(port=0),
    adapter=lambda clients: OllamaAdapter(clients, init_telemetry("test", "")),
    model="fake-llama3.2",
    api_base=lambda fake: fake.url,
    system_prompt=_openai_system,
    transcripts={
        "utf8_split": _ollama_transcript(GOLDEN_TEXT, b"\n"),
        "crlf": _ollama_transcript(GOLDEN_TEXT, b"\r\n"),
    },
)
VENDORS = [AZURE, MISTRAL, OLLAMA]
