"""A provider key an upstream echoes in its error, cut or masked, never reaches the client: not in the
message, the param, the attempts, an Anthropic error body or a stream's error."""

from __future__ import annotations

import httpx
import pytest

from switchyard.runtime.redaction import redact_secrets
from tests.security.conftest import MASTER_KEY
from tests.security.upstream import KEY_PIECES, LEAKED_KEY, echoes
from tests.support import Mesh

AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
ASK = [{"role": "user", "content": "hi"}]


def _assert_clean(text: str) -> None:
    for piece in KEY_PIECES:
        assert piece not in text, f"{piece!r} reached the client: {text[:600]}"


@pytest.mark.mesh
@pytest.mark.parametrize("stream", [False, True])
def test_an_echoed_provider_key_is_redacted_in_openai_errors(governed_mesh: Mesh, stream: bool) -> None:
    body = {"model": "leaky", "messages": ASK, "stream": stream}
    reply = httpx.post(f"{governed_mesh.edge_url}/v1/chat/completions", json=body, headers=AUTH, timeout=20)
    assert reply.status_code >= 400, reply.text
    error = reply.json()["error"]
    assert "401" in error["message"], "the upstream's status is still reported"
    _assert_clean(reply.text)
    _assert_clean(str(reply.headers))


@pytest.mark.mesh
def test_an_echoed_provider_key_is_redacted_in_anthropic_errors(governed_mesh: Mesh) -> None:
    body = {"model": "leaky", "max_tokens": 16, "messages": ASK}
    reply = httpx.post(f"{governed_mesh.edge_url}/v1/messages", json=body, headers=AUTH, timeout=20)
    assert reply.status_code >= 400 and reply.json()["type"] == "error", reply.text
    _assert_clean(reply.text)


@pytest.mark.parametrize(
    "text",
    [
        str(echoes(LEAKED_KEY)),
        "Incorrect API key provided: sk-proj-AbC1****************************wxYz.",
        "invalid x-api-key sk-ant-api03-abcd…wxyz",
        "key=sk-a is not valid",
        "API key AIzaSyA1b2C3d4E5f6G7h8 is invalid",
        "Authorization: Bearer eyJhbGciOi.x.y",
    ],
)
def test_key_shaped_text_is_masked(text: str) -> None:
    cleaned = redact_secrets(text)
    for piece in ("AIzaSy", "WXYZ", "wxYz", "wxyz", "sk-a ", "sk-proj", "sk-ant", "eyJhbGciOi"):
        assert piece not in cleaned, (piece, cleaned)
    assert "***" in cleaned


def test_ordinary_error_text_is_left_alone() -> None:
    for text in ("The model `gpt-4o` does not exist", "prompt is too long: 210000 tokens > 200000 maximum", "task-sk"):
        assert redact_secrets(text) == text
