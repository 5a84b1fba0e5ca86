"""Bad input through the edge is a clear 4xx in the API's own error format, never a 5xx, and never a
traceback in the log: integers past protobuf's int32, JSON nested past protobuf's depth limit, a
/spend/logs limit of 1e20, request ids that are not printable ASCII."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchyard.services.edge.asgi import MAX_JSON_DEPTH
from tests.support import Mesh

pytestmark = pytest.mark.mesh

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """A mesh of this module's own: its last test stops it to read the edge's whole log."""
    mesh = Mesh(Path(tmp_path_factory.mktemp("hostile"))).start()
    yield mesh
    mesh.stop()


def nested(levels: int, leaf: Any = 1) -> Any:
    """Returns a JSON value of `levels` objects nested in one another."""
    value = leaf
    for _ in range(levels):
        value = {"x": value}
    return value


def nested_lists(levels: int) -> Any:
    """Returns a JSON value of `levels` arrays nested in one another."""
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def tool(parameters: Any) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": "f", "parameters": parameters}}]


# (body, the param the 400 names): each of these answered 500 before, most with a traceback.
OPENAI_CASES: list[tuple[dict[str, Any], str | None]] = [
    ({"max_tokens": 2**31}, "max_tokens"),
    ({"max_completion_tokens": 2**63}, "max_completion_tokens"),
    ({"logit_bias": {"50256": 10**6}}, "logit_bias.50256"),
    ({"guided_json": nested(200)}, "guided_json"),
    ({"guided_json": nested(MAX_JSON_DEPTH)}, "guided_json"),  # the body itself is one more level
    ({"tools": tool(nested(380))}, "tools"),
    (
        {"response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": nested(100)}}},
        "response_format",
    ),
    ({"guided_choice": nested_lists(40)}, "guided_choice"),
]


def _chat(mesh: Mesh, extra: dict[str, Any], path: str = "/v1/chat/completions", **kwargs: Any) -> httpx.Response:
    body = {"model": "default", "messages": MESSAGES, **extra}
    return httpx.post(f"{mesh.edge_url}{path}", json=body, timeout=20, **kwargs)


@pytest.mark.parametrize(("extra", "param"), OPENAI_CASES, ids=lambda v: str(v)[:40] if isinstance(v, dict) else v)
def test_out_of_range_or_too_deep_openai_bodies_are_a_400_naming_the_field(
    hostile: Mesh, extra: dict[str, Any], param: str
) -> None:
    reply = _chat(hostile, extra)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert param.split(".", maxsplit=1)[0] in error["message"]


def test_json_past_the_parsers_own_depth_is_a_400(hostile: Mesh) -> None:
    raw = b'{"model": "default", "messages": [], "guided_json": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    reply = httpx.post(
        f"{hostile.edge_url}/v1/chat/completions", content=raw, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400, reply.text
    assert "JSON" in reply.json()["error"]["message"]


def test_the_deepest_allowed_body_is_answered(hostile: Mesh) -> None:
    # The tightest case for protobuf: free-form JSON at the body's own level (a vLLM parameter, in `extra`).
    deepest = _chat(hostile, {"guided_json": nested(MAX_JSON_DEPTH - 1)})
    assert deepest.status_code == 200, deepest.text
    schema = _chat(hostile, {"tools": tool(nested(MAX_JSON_DEPTH - 5, {"type": "string"}))})
    assert schema.status_code == 200, schema.text


def test_too_deep_anthropic_body_is_a_400_in_anthropic_format(hostile: Mesh) -> None:
    body = {
        "model": "default",
        "max_tokens": 16,
        "messages": MESSAGES,
        "tools": [{"name": "f", "input_schema": nested(380)}],
    }
    reply = httpx.post(f"{hostile.edge_url}/v1/messages", json=body, timeout=20)
    assert reply.status_code == 400, reply.text
    payload = reply.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    assert "tools" in payload["error"]["message"]


@pytest.mark.parametrize("limit", ["100000000000000000000", "2147483648", "\u00b2", "0", "-1"])
def test_a_spend_logs_limit_out_of_range_is_a_400_naming_it(hostile: Mesh, limit: str) -> None:
    reply = httpx.get(f"{hostile.edge_url}/spend/logs", params={"limit": limit}, timeout=10)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"] == "limit"


@pytest.mark.parametrize(
    "given",
    ["h\u00e9llo".encode(), b"a" * 300, b"tab\there", b"with space"],
    ids=["non-ascii", "too-long", "tab", "space"],
)
def test_an_invalid_request_id_is_replaced_by_a_fresh_one(hostile: Mesh, given: bytes) -> None:
    reply = _chat(hostile, {}, headers={"x-request-id": given})
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-request-id"].startswith("req_")
    assert reply.headers["x-request-id"].encode() != given


def test_a_valid_request_id_is_kept(hostile: Mesh) -> None:
    given = "trace-0123456789_abcdef:42/x"
    assert _chat(hostile, {}, headers={"x-request-id": given}).headers["x-request-id"] == given


def _edge_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("edge ")]


def test_hostile_requests_leave_the_edge_log_small(hostile: Mesh) -> None:
    """Runs last in the module: it stops the mesh, so the whole log is written before it is read."""
    before = len(_edge_lines(hostile.output()))
    statuses = []
    for _ in range(3):
        for extra, _ in OPENAI_CASES:
            statuses.append(_chat(hostile, extra).status_code)
        statuses.append(_chat(hostile, {}, headers={"x-request-id": "h\u00e9llo".encode()}).status_code)
        statuses.append(httpx.get(f"{hostile.edge_url}/spend/logs", params={"limit": "1" + "0" * 20}).status_code)
    assert all(status < 500 for status in statuses), statuses
    hostile.stop()
    written = _edge_lines(hostile.output())[before:]
    text = "\n".join(written)
    assert "Traceback" not in text
    # What is left is the edge's own shutdown: a few lines, not one per request.
    assert len(text) < 2048, text[-4000:]
