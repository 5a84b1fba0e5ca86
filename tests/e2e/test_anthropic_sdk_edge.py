"""POST /v1/messages serves unmodified Anthropic SDK clients from any backend: the official SDK against the mesh."""

from __future__ import annotations

import uuid
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, MessageParam, ToolParam

from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh

WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "The weather in a city now",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
# What error.type an Anthropic client sees for each status the taxonomy gives
# (switchyard/services/edge/anthropic/replies.py).
ERROR_TYPES = {502: "api_error", 503: "overloaded_error"}


@pytest.fixture
def client(mesh: Mesh) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=mesh.edge_url, api_key="sk-sy-test", max_retries=0, _strict_response_validation=True
    )


def _ask(text: str = "") -> list[MessageParam]:
    # A unique prompt per test keeps the exact cache from answering where a test wants a live call.
    return [{"role": "user", "content": text or f"hello {uuid.uuid4().hex}"}]


def _post(mesh: Mesh, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{mesh.edge_url}/v1/messages", json=body, headers=headers or {}, timeout=10)


def test_message_through_the_mesh(client: anthropic.Anthropic) -> None:
    prompt = f"Say hi to Switchyard {uuid.uuid4().hex[:8]}"
    raw = client.messages.with_raw_response.create(model="default", max_tokens=256, messages=_ask(prompt))
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "default", "the client sees the model it asked for"
    assert message.content[0].type == "text" and prompt[:20] in message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0
    assert raw.headers["x-switchyard-deployment"].startswith("default-")
    assert raw.headers["x-switchyard-attempts"] == "1"
    assert raw.headers["x-switchyard-cache"] == "miss"
    assert message._request_id == raw.headers["x-request-id"], "the SDK reads request-id"


def test_system_and_x_api_key_with_the_old_version_and_sampling(mesh: Mesh, fake_admin: httpx.Client) -> None:
    body = {
        "model": "solo",
        "max_tokens": 64,
        "system": "Be brief.",
        "messages": _ask(),
        "temperature": 0.2,
        "top_k": 5,
        "stop_sequences": ["###"],
        "metadata": {"user_id": "user-42"},
    }
    response = _post(mesh, body, {"x-api-key": "sk-sy-test", "anthropic-version": "2023-06-01"})
    assert response.status_code == 200, response.text
    upstream = [r["body"] for r in fake_admin.get("/_fake/requests").json() if r["body"].get("model") == "fake-solo"]
    sent = upstream[-1]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (sent["temperature"], sent["top_k"], sent["stop"], sent["user"]) == (0.2, 5, ["###"], "user-42")


def test_sampling_parameters_are_refused_under_the_new_version(mesh: Mesh) -> None:
    body = {"model": "solo", "max_tokens": 64, "messages": _ask(), "temperature": 0.2}
    response = _post(mesh, body, {"anthropic-version": "2026-10-21"})
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error", "message": response.json()["error"]["message"]}
    assert response.json()["error"]["message"].startswith("temperature:")


def test_raw_stream_events_are_in_anthropic_order(client: anthropic.Anthropic) -> None:
    prompt = f"stream me {uuid.uuid4().hex[:8]}"
    raw = client.messages.with_raw_response.create(model="default", max_tokens=256, messages=_ask(prompt), stream=True)
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.headers["x-switchyard-deployment"].startswith("default-")
    assert raw.headers["x-switchyard-cache"] == "miss"
    events = list(raw.parse())
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 1
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert prompt in text
    final = events[-2]
    assert final.type == "message_delta" and final.delta.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0, "the router was asked for usage"


def test_stream_helper_assembles_the_final_message(client: anthropic.Anthropic) -> None:
    prompt = f"assemble {uuid.uuid4().hex[:8]}"
    with client.messages.stream(model="default", max_tokens=256, messages=_ask(prompt)) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert prompt in streamed
    assert final.content[0].type == "text" and final.content[0].text == streamed
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0 and final.usage.input_tokens > 0


def test_tool_use_round_trip(client: anthropic.Anthropic, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "tool_call": "get_weather"})
    messages = _ask("What is the weather in Paris?")
    first = client.messages.create(model="solo", max_tokens=256, messages=messages, tools=[WEATHER])
    assert first.stop_reason == "tool_use"
    call = next(b for b in first.content if b.type == "tool_use")
    assert call.name == "get_weather" and isinstance(call.input, dict) and "city" in call.input
    answer: list[MessageParam] = [
        *messages,
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 degrees"}]},
    ]
    second = client.messages.create(model="solo", max_tokens=256, messages=answer, tools=[WEATHER])
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text" and "18 degrees" in second.content[0].text
    upstream = [r["body"] for r in fake_admin.get("/_fake/requests").json() if r["body"].get("model") == "fake-solo"]
    roles = [m["role"] for m in upstream[-1]["messages"]]
    assert roles == ["user", "assistant", "tool"]
    assert upstream[-1]["messages"][2]["tool_call_id"] == call.id


def test_stream_helper_assembles_a_tool_call(client: anthropic.Anthropic, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "tool_call": "get_weather"})
    with client.messages.stream(model="solo", max_tokens=256, messages=_ask(), tools=[WEATHER]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    [call] = [b for b in final.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.input == {"city": "city-value"}


def test_missing_max_tokens_is_a_bad_request(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.post("/v1/messages", body={"model": "default", "messages": _ask()}, cast_to=Message)
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
        "request_id": caught.value.request_id,
    }
    assert caught.value.request_id


def test_unknown_model_is_not_found(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="no-such-model", max_tokens=16, messages=_ask())
    assert caught.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]


def test_all_candidates_failed_is_an_anthropic_error(client: anthropic.Anthropic, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "status": 503})
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model="solo", max_tokens=16, messages=_ask())
    status, body = caught.value.status_code, caught.value.body
    assert status in ERROR_TYPES
    assert body["type"] == "error" and body["error"]["type"] == ERROR_TYPES[status]  # type: ignore[index]
    assert "fake-solo" in body["error"]["message"]  # type: ignore[index]
    assert {a["upstream_status"] for a in body["error"]["attempts"]} == {503}  # type: ignore[index]
    assert caught.value.response.headers["request-id"]


def test_rate_limited_is_a_rate_limit_error_with_retry_after(
    client: anthropic.Anthropic, fake_admin: httpx.Client
) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "status": 429, "retry_after": "7"})
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model="solo", max_tokens=16, messages=_ask())
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


def test_upstream_client_error_on_a_stream_is_a_plain_http_error(
    client: anthropic.Anthropic, fake_admin: httpx.Client
) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "status": 400})
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="solo", max_tokens=16, messages=_ask(), stream=True)


def test_stream_broken_after_tokens_raises_while_iterating(
    client: anthropic.Anthropic, fake_admin: httpx.Client
) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "cut_after": 2})
    received = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        for event in client.messages.create(model="solo", max_tokens=64, messages=_ask(), stream=True):
            received.append(event.type)
    assert "content_block_delta" in received, "the text sent before the break reaches the client"
    assert "message_stop" not in received
    assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]


def test_client_disconnect_cancels_the_upstream_call(mesh: Mesh, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "chunk_delay_ms": 500, "chunks": 40})
    body = {"model": "solo", "max_tokens": 512, "messages": _ask(), "stream": True}
    with httpx.stream("POST", f"{mesh.edge_url}/v1/messages", json=body, timeout=10) as response:
        assert response.status_code == 200
        assert next(response.iter_lines()) == "event: message_start"

    def upstream_saw_disconnect() -> bool:
        log = fake_admin.get("/_fake/requests").json()
        return any(r["body"].get("model") == "fake-solo" and r.get("disconnected") for r in log)

    wait_until_sync(upstream_saw_disconnect, 10.0, "the upstream request to be closed")


def test_identical_request_is_answered_from_the_cache(client: anthropic.Anthropic) -> None:
    messages = _ask()
    first = client.messages.with_raw_response.create(model="default", max_tokens=256, messages=messages)
    assert first.headers["x-switchyard-cache"] == "miss"

    def second_hits() -> bool:
        again = client.messages.with_raw_response.create(model="default", max_tokens=256, messages=messages)
        return again.headers["x-switchyard-cache"].startswith("hit") and again.parse().content == first.parse().content

    wait_until_sync(second_hits, 5.0, "the stored answer to be served")
