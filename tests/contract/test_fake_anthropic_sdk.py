"""The fake Anthropic provider is what the official `anthropic` SDK (2.x) says Anthropic is.

Every case drives the fake over a real socket with `anthropic.AsyncAnthropic(_strict_response_validation=True)`
across auth and version variants (Bearer, x-api-key; 2026-10-21, 2023-06-01). Raw bytes are checked
too: every streamed event is validated with the SDK's own `RawMessageStreamEvent` model and walked
through the event-order state machine, whole replies with `Message`, error bodies with `ErrorResponse`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import orjson
import pytest
import pytest_asyncio
from anthropic.types import ErrorResponse, Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from switchyard.fakes.anthropic_fake import FakeAnthropic
from switchyard.wire.sse import SSEParser
from tests.support import free_port, python_module, wait_until

MODEL = "fake-claude-sonnet"
ASK: Any = [{"role": "user", "content": "What is a switchyard, in one line?"}]
REPLY = "Switchyard fake reply to: What is a switchyard, in one line?"
WEATHER: Any = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}},
}
TIME: Any = {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
EVENT = TypeAdapter(RawMessageStreamEvent)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic.running(port=0) as running:
        yield running


@pytest_asyncio.fixture
async def client(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    sdk = anthropic.AsyncAnthropic(
        base_url=fake.url, api_key="sk-ant-test", max_retries=0, _strict_response_validation=True
    )
    yield sdk
    await sdk.close()


def _sdk(fake: FakeAnthropic, **kwargs: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=fake.url, max_retries=0, _strict_response_validation=True, **kwargs)


def check_event_order(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Asserts message_start → (block_start delta* block_stop)* → message_delta → message_stop, dense indices."""
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"], names
    open_index: int | None = None
    next_index = 0
    for name, data in events[1:-2]:
        if name == "content_block_start":
            assert open_index is None and data["index"] == next_index
            open_index, next_index = data["index"], next_index + 1
        elif name in ("content_block_delta", "content_block_stop"):
            assert data["index"] == open_index, (name, data)
            if name == "content_block_stop":
                open_index = None
        else:
            assert name == "ping", name
    assert open_index is None


async def _raw_stream(fake: FakeAnthropic, body: dict[str, Any], **headers: str) -> list[tuple[str, dict[str, Any]]]:
    """Returns every (event name, data) of a streamed reply, each validated by the SDK's event model."""
    sent = {"x-api-key": "k", "anthropic-version": "2023-06-01", **headers}
    async with (
        httpx.AsyncClient(base_url=fake.url, timeout=10) as http,
        http.stream("POST", "/v1/messages", json={**body, "stream": True}, headers=sent) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        parser = SSEParser()
        events = []
        async for data in response.aiter_bytes():
            events.extend(parser.feed(data))
        assert not parser.finish()
    result = []
    for event in events:
        assert event.event, "Anthropic's SDK drops events without an event: line"
        data = orjson.loads(event.data)
        assert data["type"] == event.event
        if event.event == "ping":
            assert data == {"type": "ping"}
        elif event.event != "error":
            EVENT.validate_python(data)
        result.append((event.event, data))
    return result


async def test_non_stream_reply_parses_strictly_with_bearer_and_the_2026_version(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    raw = await client.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=ASK)
    message = await raw.parse()
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == REPLY  # type: ignore[union-attr]
    assert (message.stop_reason, message.model, message.role) == ("end_turn", MODEL, "assistant")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert raw.headers["request-id"].startswith("req_fake_") and message._request_id == raw.headers["request-id"]
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        assert int(raw.headers[f"anthropic-ratelimit-{kind}-remaining"]) >= 0
        assert raw.headers[f"anthropic-ratelimit-{kind}-reset"].endswith("Z")
    sent = fake.requests[-1]
    assert (sent["auth"], sent["anthropic_version"]) == ("bearer", "2026-10-21")
    Message.model_validate_json(orjson.dumps(message.model_dump(exclude_none=True)))


@pytest.mark.parametrize(
    ("kwargs", "auth", "version"),
    [
        ({"auth_token": "tok"}, "bearer", "2026-10-21"),
        ({"api_key": None, "default_headers": {"x-api-key": "k"}}, "x-api-key", "2026-10-21"),
        ({"api_key": "k", "default_headers": {"anthropic-version": "2023-06-01"}}, "bearer", "2023-06-01"),
    ],
)
async def test_auth_and_version_variants(fake: FakeAnthropic, kwargs: dict[str, Any], auth: str, version: str) -> None:
    sdk = _sdk(fake, **kwargs)
    message = await sdk.messages.create(model=MODEL, max_tokens=50, messages=ASK)
    await sdk.close()
    assert message.content[0].text == REPLY  # type: ignore[union-attr]
    assert (fake.requests[-1]["auth"], fake.requests[-1]["anthropic_version"]) == (auth, version)


async def test_sampling_knobs_are_rejected_only_under_2026_10_21(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(model=MODEL, max_tokens=50, messages=ASK, extra_body={"temperature": 0.5})
    assert "temperature" in caught.value.message
    old = _sdk(fake, api_key="k", default_headers={"anthropic-version": "2023-06-01"})
    message = await old.messages.create(model=MODEL, max_tokens=50, messages=ASK, extra_body={"temperature": 0.5})
    await old.close()
    assert message.stop_reason == "end_turn"


async def test_raw_stream_events_follow_the_schema_and_the_event_order(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    events = [e async for e in await client.messages.create(model=MODEL, max_tokens=100, messages=ASK, stream=True)]
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert (
        "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
        == REPLY
    )
    raw = await _raw_stream(fake, {"model": MODEL, "max_tokens": 100, "messages": ASK, "tools": [WEATHER]})
    check_event_order(raw)
    assert any(name == "ping" for name, _ in raw), "the real API pings; parsers must skip it"


async def test_stream_helper_assembles_text_tool_use_and_usage(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    ask: Any = [{"role": "user", "content": "Please explain, then call get_weather for Paris"}]
    async with client.messages.stream(model=MODEL, max_tokens=200, messages=ask, tools=[WEATHER, TIME]) as stream:
        final = await stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    tool = final.content[1]
    assert tool.type == "tool_use" and tool.name == "get_weather"
    assert tool.input == {"city": "city-value", "days": 1}
    assert final.stop_reason == "tool_use"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 1
    raw = await _raw_stream(fake, {"model": MODEL, "max_tokens": 200, "messages": ask, "tools": [WEATHER]})
    check_event_order(raw)
    fragments = [d["delta"]["partial_json"] for n, d in raw if n == "content_block_delta" and d["index"] == 1]
    assert fragments[0] == "", "the first input_json_delta is empty, as the real API's often is"
    assert orjson.loads("".join(fragments)) == {"city": "city-value", "days": 1}


async def test_tool_round_trip(client: anthropic.AsyncAnthropic) -> None:
    ask: Any = [{"role": "user", "content": "call get_time and call get_weather"}]
    called = await client.messages.create(model=MODEL, max_tokens=200, messages=ask, tools=[WEATHER, TIME])
    uses = [b for b in called.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_time", "get_weather"] and called.stop_reason == "tool_use"
    results: Any = [{"type": "tool_result", "tool_use_id": u.id, "content": f"{u.name} ok"} for u in uses]
    follow: Any = [*ask, {"role": "assistant", "content": called.content}, {"role": "user", "content": results}]
    answer = await client.messages.create(model=MODEL, max_tokens=200, messages=follow, tools=[WEATHER, TIME])
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].text.startswith("Switchyard fake reply to: tool result get_time ok")  # type: ignore[union-attr]
    missing: Any = [*follow[:2], {"role": "user", "content": results[:1]}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        await client.messages.create(model=MODEL, max_tokens=200, messages=missing, tools=[WEATHER, TIME])
    assert "tool_result" in caught.value.message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"messages": ASK}, "max_tokens"),
        ({"max_tokens": 10, "messages": [{"role": "system", "content": "x"}]}, "role"),
        ({"max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}, "non-empty"),
        ({"max_tokens": 10, "messages": ASK, "metadata": {"user_id": "u", "team": "t"}}, "metadata"),
        ({"max_tokens": 10, "messages": ASK, "n": 2}, "n: Extra inputs"),
    ],
)
async def test_invalid_requests_are_400_invalid_request_error(
    fake: FakeAnthropic, body: dict[str, Any], needle: str
) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as http:
        response = await http.post(
            "/v1/messages", json={"model": MODEL, **body}, headers={"x-api-key": "k", "anthropic-version": "2023-06-01"}
        )
    assert response.status_code == 400
    error = ErrorResponse.model_validate(response.json())
    assert error.error.type == "invalid_request_error" and needle in error.error.message


async def test_error_statuses_raise_the_sdk_exception_classes(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    cases: list[tuple[str, type[anthropic.APIStatusError], str]] = [
        ("400", anthropic.BadRequestError, "invalid_request_error"),
        ("401", anthropic.AuthenticationError, "authentication_error"),
        ("403", anthropic.PermissionDeniedError, "permission_error"),
        ("429", anthropic.RateLimitError, "rate_limit_error"),
        ("500", anthropic.InternalServerError, "api_error"),
        ("529", anthropic.OverloadedError, "overloaded_error"),
    ]
    for status, kind, error_type in cases:
        with pytest.raises(kind) as caught:
            await client.messages.create(
                model=MODEL, max_tokens=10, messages=ASK, extra_headers={"x-fake-status": status}
            )
        assert caught.value.status_code == int(status)
        assert caught.value.body["error"]["type"] == error_type  # type: ignore[index]
        assert caught.value.request_id and caught.value.request_id.startswith("req_fake_")
    with pytest.raises(anthropic.RateLimitError) as limited:
        await client.messages.create(
            model=MODEL, max_tokens=10, messages=ASK, extra_headers={"x-fake-status": "429", "x-fake-retry-after": "7"}
        )
    headers = limited.value.response.headers
    assert headers["retry-after"] == "7" and headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert issubclass(anthropic.OverloadedError, anthropic.APIStatusError)


async def test_wrong_key_is_401_and_sdk_retries_529_with_retry_after(fake: FakeAnthropic) -> None:
    async with FakeAnthropic.running(port=0, api_key="sk-ant-right") as locked:
        wrong = _sdk(locked, api_key="sk-ant-wrong")
        with pytest.raises(anthropic.AuthenticationError):
            await wrong.messages.create(model=MODEL, max_tokens=10, messages=ASK)
        await wrong.close()
        right = _sdk(locked, default_headers={"x-api-key": "sk-ant-right"}, api_key=None)
        assert (await right.messages.create(model=MODEL, max_tokens=50, messages=ASK)).stop_reason == "end_turn"
        await right.close()
    fake.script(MODEL, times=1, status=529, retry_after="0")
    retrying = anthropic.AsyncAnthropic(base_url=fake.url, api_key="k", max_retries=1)
    message = await retrying.messages.create(model=MODEL, max_tokens=50, messages=ASK)
    await retrying.close()
    assert message.stop_reason == "end_turn"
    assert [r["status"] for r in fake.requests[-2:]] == [529, 200], "529 is retried by the SDK"


async def test_mid_stream_error_event_raises_api_status_error(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    stream = await client.messages.create(
        model=MODEL, max_tokens=100, messages=ASK, stream=True, extra_headers={"x-fake-mid-stream-error": "3"}
    )
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        async for event in stream:
            seen.append(event.type)
    assert seen[0] == "message_start" and "message_stop" not in seen
    assert "Overloaded" in str(caught.value)
    raw = await _raw_stream(
        fake, {"model": MODEL, "max_tokens": 100, "messages": ASK}, **{"x-fake-mid-stream-error": "3"}
    )
    assert raw[-1][0] == "error" and raw[-1][1]["error"]["type"] == "overloaded_error"
    ErrorResponse.model_validate({**raw[-1][1], "request_id": None})


async def test_admin_scripts_and_request_log(fake: FakeAnthropic) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as http:
        assert (await http.post("/_fake/scripts", json={"model": MODEL, "status": 529, "times": 1})).status_code == 200
        headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
        body = {"model": MODEL, "max_tokens": 10, "messages": ASK}
        first = await http.post("/v1/messages", json=body, headers=headers)
        second = await http.post("/v1/messages", json=body, headers=headers)
        log = (await http.get("/_fake/requests")).json()
    assert (first.status_code, second.status_code) == (529, 200)
    assert first.json()["error"]["type"] == "overloaded_error"
    assert [e["status"] for e in log] == [529, 200] and all(e["auth"] == "x-api-key" for e in log)


async def test_cut_stream_ends_without_message_stop(fake: FakeAnthropic, client: anthropic.AsyncAnthropic) -> None:
    stream = await client.messages.create(
        model=MODEL, max_tokens=100, messages=ASK, stream=True, extra_headers={"x-fake-cut-after": "3"}
    )
    seen: list[str] = []
    # What a user relies on: a cut stream raises, it never ends as if complete. Which class carries it is
    # the SDK's choice (2.17 wraps the HTTP client's error in APIConnectionError, earlier 2.x let it through).
    with pytest.raises((anthropic.APIConnectionError, httpx.RemoteProtocolError, httpx2.RemoteProtocolError)) as cut:
        async for event in stream:
            seen.append(event.type)
    assert "incomplete chunked read" in str(cut.value), "the body ended before its chunked framing did"
    assert "message_stop" not in seen
    await wait_until(lambda: fake.requests[-1]["cut"], 5.0, "the fake to record the cut")


@pytest.mark.mesh
async def test_runs_as_a_module(tmp_path: Path) -> None:
    port = free_port()
    process = python_module(
        "switchyard.fakes",
        "--wire",
        "anthropic",
        "--port",
        str(port),
        "--limit-requests",
        "1234",
        name="fake-anthropic",
    )
    try:

        async def up() -> bool:
            assert process.alive(), process.output()
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(up, 30, "the fake Anthropic process")
        sdk = anthropic.AsyncAnthropic(base_url=f"http://127.0.0.1:{port}", api_key="k", max_retries=0)
        raw = await sdk.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=ASK)
        await sdk.close()
        assert (await raw.parse()).content[0].text == REPLY  # type: ignore[union-attr]
        # --limit-requests: the per-minute limit the fake advertises (the soak raises it past its own rate).
        assert raw.headers["anthropic-ratelimit-requests-limit"] == "1234"
        assert raw.headers["anthropic-ratelimit-requests-remaining"] == "1233"
    finally:
        assert process.stop() == 0, process.output()
