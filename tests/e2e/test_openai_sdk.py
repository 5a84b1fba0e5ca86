"""The REST edge is the OpenAI API for unmodified clients: the official SDK against the real mesh."""

from __future__ import annotations

import uuid

import httpx
import openai
import pytest

from tests.support import Mesh, wait_until_sync

pytestmark = pytest.mark.mesh


@pytest.fixture
def client(mesh: Mesh) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{mesh.edge_url}/v1", api_key="sk-sy-test", max_retries=0, _strict_response_validation=True
    )


def _ask(text: str = "") -> list[dict[str, str]]:
    # A unique prompt per test keeps the exact cache from answering where a test wants a live call.
    return [{"role": "user", "content": text or f"hello {uuid.uuid4().hex}"}]


def test_completion_through_the_mesh(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="default", messages=_ask("Say hi to Switchyard"))
    completion = raw.parse()
    assert completion.choices[0].message.content
    assert "Say hi to Switchyard" in completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert raw.headers["x-request-id"]
    assert raw.headers["x-switchyard-deployment"].startswith("default-")
    assert raw.headers["x-switchyard-attempts"] == "1"
    assert raw.headers["x-switchyard-cache"].split(";")[0] in ("miss", "hit")


def test_request_id_from_the_client_is_kept(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="default", messages=_ask(), extra_headers={"x-request-id": "req-from-client-42"}
    )
    assert raw.headers["x-request-id"] == "req-from-client-42"


def test_stream_assembles_and_ends_with_done(mesh: Mesh) -> None:
    body = {"model": "default", "messages": _ask("stream me please"), "stream": True}
    with httpx.stream("POST", f"{mesh.edge_url}/v1/chat/completions", json=body, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert all(line.startswith("data: ") for line in lines)
    assert '"usage"' not in "".join(lines), "usage must not appear unless include_usage was asked for"


def test_stream_with_the_sdk_and_include_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="default", messages=_ask("count the chunks"), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "count the chunks" in text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_helper_assembles_a_tool_call(client: openai.OpenAI) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    with client.chat.completions.stream(
        model="solo",
        messages=_ask("call get_weather for Paris"),
        tools=tools,  # type: ignore[arg-type]
        metadata={"fake_tool_call": "get_weather"},
    ) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert final.choices[0].finish_reason == "tool_calls"


def test_models_lists_the_groups(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"default", "failover", "solo"} <= ids


def test_malformed_json_is_a_400_in_openai_shape(mesh: Mesh) -> None:
    response = httpx.post(
        f"{mesh.edge_url}/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert set(error) >= {"message", "type", "param", "code"}


def test_schema_violation_is_a_400_never_a_422(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="default", messages=[{"role": "wizard", "content": "hi"}])  # type: ignore[list-item,misc]
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == "messages[0].role"  # type: ignore[index]


def test_unknown_model_is_a_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model", messages=_ask())
    assert caught.value.code == "model_not_found"


def test_body_over_the_limit_is_a_413(mesh: Mesh) -> None:
    big = {"model": "default", "messages": [{"role": "user", "content": "x" * 70_000}]}
    response = httpx.post(f"{mesh.edge_url}/v1/chat/completions", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_failover_inside_the_group_is_invisible_to_the_client(client: openai.OpenAI, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-primary", "status": 503})
    raw = client.chat.completions.with_raw_response.create(model="failover", messages=_ask())
    assert raw.parse().choices[0].message.content
    assert raw.headers["x-switchyard-attempts"] == "2"
    assert raw.headers["x-switchyard-deployment"].startswith("failover-")
    models = [r["body"]["model"] for r in fake_admin.get("/_fake/requests").json()]
    assert models[-2:] == ["fake-primary", "fake-secondary"]


def test_all_candidates_failed_lists_every_attempt(client: openai.OpenAI, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-primary", "status": 500})
    fake_admin.post("/_fake/scripts", json={"model": "fake-secondary", "status": 503})
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="failover", messages=_ask())
    assert caught.value.status_code in (502, 503)
    error = caught.value.body
    assert error["code"] == "all_candidates_failed"  # type: ignore[index]
    attempts = error["attempts"]  # type: ignore[index]
    assert len(attempts) == 3  # num_retries=2: both deployments, then a retry
    assert {a["upstream_status"] for a in attempts} == {500, 503}
    assert "fake-primary" in caught.value.message and "fake-secondary" in caught.value.message


def test_rate_limited_everywhere_is_a_429_with_retry_after(client: openai.OpenAI, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "status": 429, "retry_after": "7"})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="solo", messages=_ask())
    assert caught.value.response.headers["retry-after"] == "7"


def test_deadline_exceeded_is_a_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="solo", messages=_ask(), metadata={"fake_latency_ms": "8000"})
    assert caught.value.status_code == 504


def test_missing_credential_is_named_never_valued(client: openai.OpenAI, mesh: Mesh) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="keyless", messages=_ask())
    assert caught.value.status_code == 503
    assert "SWITCHYARD_TEST_MISSING_KEY" in caught.value.message
    startup_log = mesh.output()
    assert "SWITCHYARD_TEST_MISSING_KEY" in startup_log, "the missing variable is logged by name at start-up"
    assert "sk-fake" not in startup_log and "sk-fake" not in caught.value.message, "keys never reach logs or errors"


def test_break_before_first_token_fails_over(client: openai.OpenAI, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-primary", "cut_after": 0})
    chunks = list(client.chat.completions.create(model="failover", messages=_ask(), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_break_after_tokens_ends_with_an_error_event(client: openai.OpenAI, fake_admin: httpx.Client) -> None:
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "cut_after": 2})
    received = []
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(model="solo", messages=_ask(), stream=True):
            received.append(chunk)
    assert received, "the chunks sent before the break reach the client"


def test_client_disconnect_cancels_the_upstream_call(mesh: Mesh, fake_admin: httpx.Client) -> None:
    body = {
        "model": "solo",
        "messages": _ask(),
        "stream": True,
        "metadata": {"fake_chunk_delay_ms": "500", "fake_chunks": "40"},
    }
    with httpx.stream("POST", f"{mesh.edge_url}/v1/chat/completions", json=body, timeout=10) as response:
        assert response.status_code == 200
        next(response.iter_lines())

    def upstream_saw_disconnect() -> bool:
        log = fake_admin.get("/_fake/requests").json()
        return any(r["body"].get("model") == "fake-solo" and r.get("disconnected") for r in log)

    wait_until_sync(upstream_saw_disconnect, 10.0, "the upstream request to be closed")


def test_identical_request_is_answered_from_the_cache(client: openai.OpenAI) -> None:
    messages = _ask()
    first = client.chat.completions.with_raw_response.create(model="default", messages=messages)
    assert first.headers["x-switchyard-cache"] == "miss"

    def second_hits() -> bool:
        again = client.chat.completions.with_raw_response.create(model="default", messages=messages)
        return again.headers["x-switchyard-cache"].startswith("hit") and (
            again.parse().choices[0].message.content == first.parse().choices[0].message.content
        )

    wait_until_sync(second_hits, 5.0, "the stored answer to be served")


def test_no_cache_header_bypasses_the_cache(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="default", messages=_ask(), extra_headers={"cache-control": "no-cache"}
    )
    assert raw.headers["x-switchyard-cache"] == "bypass"


def test_litellm_cache_controls_in_the_body_bypass_and_keep_answers_out(
    client: openai.OpenAI, fake_admin: httpx.Client
) -> None:
    bypass = client.chat.completions.with_raw_response.create(
        model="default", messages=_ask(), extra_body={"cache": {"no-cache": True}}
    )
    assert bypass.headers["x-switchyard-cache"] == "bypass"
    fake_admin.delete("/_fake/requests")
    messages = _ask()
    for _ in range(2):
        kept_out = client.chat.completions.with_raw_response.create(
            model="default", messages=messages, extra_body={"cache": {"no-store": True}}
        )
        assert kept_out.headers["x-switchyard-cache"] == "miss"
    upstream = fake_admin.get("/_fake/requests").json()
    assert len(upstream) == 2
    assert all("cache" not in r["body"] for r in upstream), "the cache controls reached the provider"


def test_health_and_readiness(mesh: Mesh) -> None:
    assert httpx.get(f"{mesh.edge_url}/healthz").status_code == 200
    ready = httpx.get(f"{mesh.edge_url}/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["services"]) == {"router", "classifier", "cache", "providers"}


def test_upstream_client_error_on_a_stream_is_a_plain_400(client: openai.OpenAI, fake_admin: httpx.Client) -> None:
    """Before the first chunk nothing is streamed yet, so the client gets a normal HTTP error."""
    fake_admin.delete("/_fake/requests")
    fake_admin.post("/_fake/scripts", json={"model": "fake-solo", "status": 400})
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="solo", messages=_ask(), stream=True)
    assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
    calls = [r for r in fake_admin.get("/_fake/requests").json() if r["body"].get("model") == "fake-solo"]
    assert len(calls) == 1, "a client error is not retried"


def test_a_reworded_question_is_answered_from_the_semantic_tier_and_a_different_one_is_not(
    client: openai.OpenAI,
) -> None:
    system = {"role": "system", "content": f"You are terse ({uuid.uuid4().hex[:8]})."}

    def ask(text: str) -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="default",
            messages=[system, {"role": "user", "content": text}],  # type: ignore[list-item]
        )
        return str(raw.headers["x-switchyard-cache"])

    assert ask("Who wrote Pride and Prejudice?") == "miss"
    wait_until_sync(lambda: ask("Who wrote Pride and Prejudice?").startswith("hit"), 5.0, "the answer's store")
    # Politeness, case and punctuation around the same question: the semantic tier answers.
    assert ask("could you tell me who wrote pride and prejudice, please?") == "hit; tier=semantic"
    # Another book, and the same question in German: nothing is served for them.
    assert ask("Who wrote Sense and Sensibility?") == "miss"
    assert ask("Wer hat Stolz und Vorurteil geschrieben?") == "miss"
