"""Conformance entries for Google Vertex AI: Gemini (publisher `google`) and Claude (publisher `anthropic`).

Both run against the fake Vertex AI with a service-account key made here: the adapter trades the key for
a token at the fake's token endpoint (which checks the assertion against the key's public half) before
its first call (the suite names them vertex_ai0 and vertex_ai1). The golden transcripts are the Gemini
and Anthropic ones: Vertex streams the same bodies.
"""

from __future__ import annotations

import json
from typing import Any

from switchyard.fakes.vertex_fake import FakeVertex
from switchyard.fakes.vertex_fake_oauth import ServiceAccount, new_service_account_key
from switchyard.runtime.telemetry import init_telemetry
from switchyard.services.providers.adapters.vertex import VertexAIAdapter
from tests.conformance.harness import ANTHROPIC, GEMINI, Provider

PROJECT = "switchyard-conformance"
LOCATION = "us-east5"
# One key for the session: making an RSA key pair takes a while, and the fake only needs its public half.
KEY = new_service_account_key(PROJECT, "http://unset/token")
ACCOUNT = ServiceAccount.of_key(KEY)


def credentials(api_base: str) -> dict[str, Any]:
    """Returns the key (its grants sent to the server at api_base), project and location of a deployment."""
    key = {**KEY, "token_uri": f"{api_base.removesuffix('/v1')}/token"}
    return {"api_key": json.dumps(key), "project": PROJECT, "location": LOCATION}


def _publisher(model: str, speaks_like: Provider) -> Provider:
    """Returns the entry of a Vertex model whose bodies are those of the provider it speaks like."""
    return Provider(
        name="vertex_ai",
        fake=lambda: FakeVertex.running(port=0, service_accounts=[ACCOUNT]),
        adapter=lambda clients: VertexAIAdapter(clients, init_telemetry("test", "")),
        model=model,
        api_base=lambda fake: fake.url,
        system_prompt=speaks_like.system_prompt,
        transcripts=speaks_like.transcripts,
        credentials=credentials,
    )


VERTEX = [_publisher("gemini-2.5-flash", GEMINI), _publisher("claude-sonnet-4@20250514", ANTHROPIC)]
