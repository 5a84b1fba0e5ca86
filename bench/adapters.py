"""Adapter translation cost: `python -m bench.adapters`.

For each wire format, the CPU time Switchyard spends translating (no network): building the upstream
request body from a ChatRequest, turning the upstream reply body into a ChatCompletion, and turning
a streamed reply into OpenAI chunks (reported per chunk; Bedrock's include decoding the binary AWS
event-stream). The reply and stream bodies are what each built-in fake really sends, fetched once over
loopback before timing. Bedrock's SigV4 signing is timed apart: it is per request, not translation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import orjson

from switchyard.common.v1 import chat_pb2
from switchyard.fakes import FakeAnthropic, FakeBedrock, FakeGemini, FakeOpenAI
from switchyard.fakes.bedrock_fake import FAKE_SECRET_ACCESS_KEY
from switchyard.fakes.vertex_fake import FakeVertex
from switchyard.fakes.vertex_fake_oauth import Issued, ServiceAccount, new_service_account_key
from switchyard.services.providers.adapters import anthropic_wire, bedrock_wire, gemini_replies, gemini_requests, vertex
from switchyard.services.providers.adapters.anthropic_stream import StreamTranslator
from switchyard.services.providers.adapters.gemini import StreamState
from switchyard.services.providers.credentials.aws import AwsIdentity, sign_v4
from switchyard.wire.bedrock import vocabulary as bedrock_vocab
from switchyard.wire.eventstream import EventStreamDecoder
from switchyard.wire.openai import chunk_from_wire, completion_from_wire, request_to_wire
from switchyard.wire.sse import SSEParser

CHUNKS = 8
BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
BEDROCK_IDENTITY = AwsIdentity("AKIDBENCH", "us-east-1")


def sample_request() -> chat_pb2.ChatRequest:
    """Returns a typical request: a system prompt, two turns and one tool."""
    request = chat_pb2.ChatRequest(model="bench", max_tokens=256, temperature=0.2)
    request.messages.add(role=chat_pb2.ROLE_SYSTEM, text="You are a concise assistant for a travel company.")
    request.messages.add(role=chat_pb2.ROLE_USER, text="Which city should I visit in spring, Paris or Rome?")
    request.messages.add(role=chat_pb2.ROLE_ASSISTANT, text="Both are lovely in spring; what do you enjoy?")
    request.messages.add(role=chat_pb2.ROLE_USER, text="Food and museums, and I dislike crowds.")
    tool = request.tools.add(type="function")
    tool.function.name = "get_weather"
    tool.function.parameters.update({"type": "object", "properties": {"city": {"type": "string"}}})
    return request


@dataclass
class WireFormat:
    """How to translate one provider's wire format, and how to ask its fake for sample bodies."""

    name: str
    build: Callable[[chat_pb2.ChatRequest], bytes]
    parse_reply: Callable[[bytes], chat_pb2.ChatCompletion]
    parse_stream: Callable[[bytes], int]
    path: Callable[[bool], str]
    # stream_flag: whether a streamed request says so in its body (Gemini and Bedrock stream by path).
    stream_flag: bool = True
    # sign returns the headers a request to the fake goes with, signed (Bedrock's SigV4).
    sign: Callable[[str, bytes, dict[str, str]], dict[str, str]] | None = None


def _openai_stream(body: bytes) -> int:
    parser = SSEParser()
    count = 0
    for event in parser.feed(body):
        if event.data != "[DONE]":
            chunk_from_wire(orjson.loads(event.data))
            count += 1
    return count


def _anthropic_stream(body: bytes) -> int:
    translator = StreamTranslator()
    return sum(len(translator.feed(e.event, e.data)) for e in SSEParser().feed(body))


def _gemini_stream(body: bytes) -> int:
    state = StreamState("fake-gemini-2.5-flash")
    count = sum(len(state.chunks(orjson.loads(e.data))) for e in SSEParser().feed(body))
    return count + (1 if state.usage_chunk() is not None else 0)


def _bedrock_stream(body: bytes) -> int:
    state = bedrock_wire.StreamState("chatcmpl-bench", 0, BEDROCK_MODEL)
    count = 0
    for message in EventStreamDecoder().feed(body):
        raw = orjson.loads(message.payload)
        for chunk in bedrock_wire.event_to_chunks(message.header(bedrock_vocab.EVENT_TYPE), raw, state):
            chunk_from_wire(chunk)
            count += 1
    return count


def _bedrock_sign(url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    return sign_v4("POST", url, body, headers, identity=BEDROCK_IDENTITY, secret_access_key=FAKE_SECRET_ACCESS_KEY)


FORMATS = [
    WireFormat(
        "openai",
        lambda r: orjson.dumps(request_to_wire(r, "fake-gpt-4o", max_tokens_field="max_completion_tokens")),
        lambda b: completion_from_wire(orjson.loads(b)),
        _openai_stream,
        lambda stream: "/v1/chat/completions",
    ),
    WireFormat(
        "anthropic",
        lambda r: orjson.dumps(anthropic_wire.request_to_wire(r, "fake-claude-sonnet", "2023-06-01", False)),
        lambda b: anthropic_wire.completion_from_wire(orjson.loads(b)),
        _anthropic_stream,
        lambda stream: "/v1/messages",
    ),
    WireFormat(
        "gemini",
        lambda r: orjson.dumps(gemini_requests.request_to_wire(r)),
        lambda b: gemini_replies.completion_from_wire(orjson.loads(b), "fake-gemini-2.5-flash"),
        _gemini_stream,
        lambda stream: (
            "/v1beta/models/fake-gemini-2.5-flash:" + ("streamGenerateContent?alt=sse" if stream else "generateContent")
        ),
        stream_flag=False,
    ),
    WireFormat(
        "bedrock",
        lambda r: orjson.dumps(
            bedrock_wire.request_to_converse(request_to_wire(r, BEDROCK_MODEL, max_tokens_field="max_tokens"))
        ),
        lambda b: completion_from_wire(bedrock_wire.completion_to_openai(orjson.loads(b), "chatcmpl-bench", 0, "m")),
        _bedrock_stream,
        lambda stream: bedrock_vocab.operation_path(
            BEDROCK_MODEL, bedrock_vocab.CONVERSE_STREAM if stream else bedrock_vocab.CONVERSE
        ),
        stream_flag=False,
        sign=_bedrock_sign,
    ),
]


class BenchVertex(FakeVertex):
    """The fake Vertex AI with the bench's bearer token (`sk-bench`) already granted to a project `bench` account."""

    def __init__(self, **kwargs: Any) -> None:
        account = ServiceAccount.of_key(new_service_account_key("bench", "http://127.0.0.1/token"))
        super().__init__(service_accounts=[account], **kwargs)
        self.issuer.issued["sk-bench"] = Issued(account, math.inf)


def _vertex_path(publisher: str, model: str, methods: tuple[str, str]) -> Callable[[bool], str]:
    root = f"/v1/projects/bench/locations/us-east5/publishers/{publisher}/models/{model}:"
    return lambda stream: root + methods[stream]


# Vertex AI: the Gemini and Anthropic translations, each with Vertex's body envelope, sampled from the fake Vertex.
FORMATS.extend(
    [
        WireFormat(
            "vertex_ai gemini",
            lambda r: orjson.dumps(gemini_requests.request_to_wire(r)),
            lambda b: gemini_replies.completion_from_wire(orjson.loads(b), "gemini-2.5-flash"),
            _gemini_stream,
            _vertex_path("google", "gemini-2.5-flash", ("generateContent", "streamGenerateContent?alt=sse")),
            stream_flag=False,
        ),
        WireFormat(
            "vertex_ai claude",
            lambda r: orjson.dumps(vertex.anthropic_body(r, False)),
            lambda b: anthropic_wire.completion_from_wire(orjson.loads(b)),
            _anthropic_stream,
            _vertex_path("anthropic", "claude-sonnet-4@20250514", ("rawPredict", "streamRawPredict")),
        ),
    ]
)


async def _samples(fmt: WireFormat, body: bytes) -> tuple[bytes, bytes]:
    """Returns (reply body, stream body) as the provider's fake sends them."""
    fakes: dict[str, Any] = {
        "openai": FakeOpenAI,
        "anthropic": FakeAnthropic,
        "gemini": FakeGemini,
        "bedrock": FakeBedrock,
        "vertex_ai gemini": BenchVertex,
        "vertex_ai claude": BenchVertex,
    }
    headers = {
        "content-type": "application/json",
        "authorization": "Bearer sk-bench",
        "x-api-key": "sk-bench",
        "x-goog-api-key": "sk-bench",
        "anthropic-version": "2023-06-01",
        "x-fake-chunks": str(CHUNKS),
    }
    async with fakes[fmt.name].running(port=0) as fake, httpx.AsyncClient() as client:
        root = f"http://127.0.0.1:{fake.port}"
        sign = fmt.sign or (lambda url, content, plain: plain)
        reply = await client.post(
            root + fmt.path(False), content=body, headers=sign(root + fmt.path(False), body, headers)
        )
        streamed_body = json.loads(body)
        if fmt.stream_flag:
            streamed_body["stream"] = True
        streamed = json.dumps(streamed_body).encode()
        stream = await client.post(
            root + fmt.path(True), content=streamed, headers=sign(root + fmt.path(True), streamed, headers)
        )
    reply.raise_for_status()
    stream.raise_for_status()
    return reply.content, stream.content


def _time_us(call: Callable[[], object], rounds: int) -> float:
    """Returns the median of five timings of `rounds` calls, in microseconds per call."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            call()
        runs.append((time.perf_counter() - started) / rounds * 1e6)
    return statistics.median(runs)


def measure(rounds: int) -> list[dict[str, Any]]:
    """Returns the translation costs of every wire format."""
    request = sample_request()
    rows = []
    for fmt in FORMATS:
        reply, stream = asyncio.run(_samples(fmt, fmt.build(request)))
        chunks = fmt.parse_stream(stream)
        rows.append(
            {
                "provider": fmt.name,
                "request_us": _time_us(partial(fmt.build, request), rounds),
                "reply_us": _time_us(partial(fmt.parse_reply, reply), rounds),
                "stream_chunks": chunks,
                "per_chunk_us": _time_us(partial(fmt.parse_stream, stream), rounds) / chunks,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.adapters", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="calls per timing (default 2000)")
    rows = measure(parser.parse_args().rounds)
    print("| provider | request → wire µs | wire reply → completion µs | stream chunks | µs per chunk |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['provider']} | {row['request_us']:.1f} | {row['reply_us']:.1f} | "
            f"{row['stream_chunks']} | {row['per_chunk_us']:.1f} |"
        )
    body = FORMATS[-1].build(sample_request())
    url = "https://bedrock-runtime.us-east-1.amazonaws.com" + FORMATS[-1].path(False)
    signing = _time_us(partial(_bedrock_sign, url, body, {"content-type": "application/json"}), rounds=500)
    print(f"\nBedrock's SigV4 signing (botocore), per request, on top of translation: {signing:.1f} µs")


if __name__ == "__main__":
    main()
