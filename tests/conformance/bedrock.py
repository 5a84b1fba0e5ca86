"""The conformance entry for AWS Bedrock (Converse and ConverseStream), run against the fake Bedrock.

Its requests are signed with SigV4 (the fake checks every signature with the secret it was started
with); its golden transcripts are ConverseStream event-stream bodies, cut inside UTF-8 characters,
inside message preludes and into single bytes.
"""

from __future__ import annotations

import json
from typing import Any

from switchyard.fakes.bedrock_fake import FakeBedrock
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.bedrock import BedrockAdapter
from switchyard.services.providers.credentials.aws import AwsIdentity
from switchyard.wire.eventstream import encode_message
from tests.conformance.harness import GOLDEN_TEXT, Provider, _split_inside_characters

SECRET = "bedrock-conformance-secret"
IDENTITY = AwsIdentity(access_key_id="AKIDCONFORMANCE", region="eu-central-1", session_token="conformance-session")


def _system(body: dict[str, Any]) -> str | None:
    blocks = body.get("system")
    return "".join(block.get("text", "") for block in blocks) if blocks else None


def converse_stream(text: str) -> bytes:
    """Returns a ConverseStream body spelling text in two deltas, then the stop and the metadata."""
    half = len(text) // 2
    events: list[tuple[str, dict[str, Any]]] = [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text[:half]}}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text[half:]}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}, "metrics": {"latencyMs": 9}}),
    ]
    headers = {":content-type": "application/json", ":message-type": "event"}
    return b"".join(
        encode_message({":event-type": name, **headers}, json.dumps(data, ensure_ascii=False).encode())
        for name, data in events
    )


BEDROCK = Provider(
    name="bedrock",
    fake=lambda: FakeBedrock.running(port=0, api_key=SECRET),
    adapter=lambda clients: BedrockAdapter(clients, init_telemetry("test", "")),
    model="anthropic.claude-3-5-sonnet-20240620-v1:0",
    api_base=lambda fake: fake.url.removesuffix("/v1"),
    system_prompt=_system,
    credentials=lambda api_base: {"api_key": SECRET, "aws": IDENTITY},
    transcripts={
        "utf8_split": _split_inside_characters(converse_stream(GOLDEN_TEXT)),
        "crlf": [bytes([b]) for b in converse_stream(GOLDEN_TEXT)],
    },
)
