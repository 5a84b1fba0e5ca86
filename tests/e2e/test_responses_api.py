"""POST /v1/responses (OpenAI's Responses API) through the official SDK against a running mesh with auth on:
plain and streamed responses, function calling round trips, previous_response_id chains scoped to the key
that made them, retrieval and deletion, JSON output, OpenAI-backed and Anthropic-backed models alike."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.openapi_spec import assert_valid
from tests.support import Mesh, Process, free_port, port_open, python_module, wait_until_sync

pytestmark = pytest.mark.mesh

MASTER_KEY = f"sk-master-{uuid.uuid4().hex}"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
MODELS = ("solo", "p-anthropic")
# The schema of each streamed event type in OpenAI's spec.
EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.completed": "ResponseCompletedEvent",
}


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    anthropic_port = free_port()
    fake: Process = python_module(
        "switchyard.fakes", "--wire", "anthropic", "--port", str(anthropic_port), name="anthropic"
    )
    extra = f"""  - model_name: p-anthropic
    litellm_params:
      {{model: anthropic/fake-claude-sonnet, api_base: "http://127.0.0.1:{anthropic_port}", api_key: sk-fake}}
"""
    mesh = Mesh(
        Path(tmp_path_factory.mktemp("responses")),
        extra_models=extra,
        general_settings=f"general_settings:\n  master_key: {MASTER_KEY}\n",
    )
    try:
        wait_until_sync(lambda: fake.alive() and port_open(anthropic_port), 30.0, "the anthropic fake")
        mesh.start()
        yield mesh
    finally:
        mesh.stop()
        fake.stop()


def _client(mesh: Mesh, key: str = MASTER_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{mesh.edge_url}/v1", api_key=key, max_retries=0, _strict_response_validation=True)


@pytest.fixture
def client(governed: Mesh) -> openai.OpenAI:
    return _client(governed)


def _nonce() -> str:
    return uuid.uuid4().hex[:8]


def _upstream_requests(mesh: Mesh, model: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=mesh.fake_url, timeout=5) as fake:
        return [r["body"] for r in fake.get("/_fake/requests").json() if r["body"].get("model") == model]


@pytest.mark.parametrize("model", MODELS)
def test_a_plain_response_is_a_valid_response_object(client: openai.OpenAI, model: str) -> None:
    prompt = f"Say hello to Switchyard {_nonce()}"
    raw = client.responses.with_raw_response.create(model=model, input=prompt, instructions="Be brief.")
    response = raw.parse()
    assert response.object == "response" and response.status == "completed"
    assert response.id.startswith("resp_")
    assert prompt[:20] in response.output_text
    assert response.output[0].type == "message" and response.output[0].role == "assistant"
    assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.instructions == "Be brief."
    assert raw.headers["x-switchyard-deployment"].startswith(f"{model}-")
    assert_valid("Response", json.loads(raw.content))


def test_previous_response_id_carries_the_conversation_but_not_the_instructions(
    client: openai.OpenAI, governed: Mesh
) -> None:
    first_words = f"My name is Ada {_nonce()}"
    first = client.responses.create(model="solo", input=first_words, instructions="Answer as a pirate.")
    second = client.responses.create(
        model="solo", input="What is my name?", previous_response_id=first.id, instructions="Answer briefly."
    )
    assert second.previous_response_id == first.id
    sent = next(
        r
        for r in reversed(_upstream_requests(governed, "fake-solo"))
        if r["messages"][-1]["content"] == "What is my name?"
    )
    roles = [(m["role"], m["content"]) for m in sent["messages"]]
    assert roles == [
        ("system", "Answer briefly."),
        ("user", first_words),
        ("assistant", first.output_text),
        ("user", "What is my name?"),
    ]
    third = client.responses.create(model="solo", input="And again?", previous_response_id=second.id)
    assert third.status == "completed"


def test_retrieve_delete_and_other_keys_see_nothing(client: openai.OpenAI, governed: Mesh) -> None:
    made = client.responses.create(model="solo", input=f"Keep this {_nonce()}")
    again = client.responses.retrieve(made.id)
    assert again.id == made.id and again.output_text == made.output_text
    with httpx.Client(base_url=governed.edge_url, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as admin:
        other = admin.post("/key/generate", json={"models": ["solo"]}).json()["key"]
    stranger = _client(governed, other)
    with pytest.raises(openai.NotFoundError) as caught:
        stranger.responses.retrieve(made.id)
    assert caught.value.body["message"] == f"Response with id '{made.id}' not found."  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        stranger.responses.create(model="solo", input="Go on", previous_response_id=made.id)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.delete(made.id)
    client.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    made = client.responses.create(model="solo", input=f"Forget this {_nonce()}", store=False)
    assert made.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


@pytest.mark.parametrize("model", MODELS)
def test_function_calling_round_trip(client: openai.OpenAI, model: str) -> None:
    asked = client.responses.create(
        model=model,
        input=f"Please call get_weather for Paris ({_nonce()})",
        tools=[WEATHER],  # type: ignore[list-item]
    )
    calls = [item for item in asked.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert set(json.loads(calls[0].arguments)) == {"city"}
    answer = client.responses.create(
        model=model,
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": '{"celsius": 21}'}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert answer.status == "completed" and answer.output_text
    assert not [item for item in answer.output if item.type == "function_call"]


def test_a_whole_conversation_given_as_items(client: openai.OpenAI) -> None:
    items: list[Any] = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "input_text", "text": "Please call get_weather for Oslo"}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "cold"},
    ]
    response = client.responses.create(model="solo", input=items, tools=[WEATHER])  # type: ignore[list-item]
    assert "tool result cold" in response.output_text


@pytest.mark.parametrize("model", MODELS)
def test_streaming_with_the_sdk_helper(client: openai.OpenAI, model: str) -> None:
    prompt = f"Stream to Switchyard {_nonce()}"
    with client.responses.stream(model=model, input=prompt) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == final.output_text and prompt[:20] in deltas
    assert final.usage is not None and final.usage.output_tokens > 0
    assert client.responses.retrieve(final.id).output_text == final.output_text


@pytest.mark.parametrize("model", MODELS)
def test_streamed_function_call(client: openai.OpenAI, model: str) -> None:
    with client.responses.stream(
        model=model,
        input=f"Please call get_weather for Rome ({_nonce()})",
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert done.arguments == arguments and done.name == "get_weather"
    call = next(item for item in final.output if item.type == "function_call")
    assert call.arguments == arguments and call.call_id


def test_json_schema_output(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    response = client.responses.create(
        model="solo",
        input=f"Answer in JSON {_nonce()}",
        text={"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}},
    )
    assert set(json.loads(response.output_text)) == {"answer"}
    assert response.text.format.type == "json_schema"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "solo"}, "input"),
        ({"model": "solo", "input": "hi", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"model": "solo", "input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
        ({"model": "solo", "input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "solo", "input": "hi", "modle": "x"}, "modle"),
    ],
)
def test_bad_requests_are_400_in_openai_format(governed: Mesh, body: dict[str, Any], param: str) -> None:
    response = httpx.post(
        f"{governed.edge_url}/v1/responses", json=body, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


def test_an_unknown_previous_response_is_a_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="solo", input="hi", previous_response_id="resp_unknown")


def test_a_bad_key_is_401(governed: Mesh) -> None:
    with pytest.raises(openai.AuthenticationError):
        _client(governed, "sk-wrong").responses.create(model="solo", input="hi")


@pytest.mark.parametrize("prompt", ["Stream a story", "Please call get_weather for Lima"], ids=["text", "tool"])
def test_streamed_events_follow_openais_spec(governed: Mesh, prompt: str) -> None:
    body = {"model": "solo", "input": f"{prompt} {_nonce()}", "tools": [WEATHER], "stream": True}
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.stream("POST", f"{governed.edge_url}/v1/responses", json=body, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = response.read().decode().strip().split("\n\n")
    for frame in frames:
        name_line, data_line = frame.split("\n")
        event = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {event['type']}"
        assert_valid(EVENT_SCHEMAS[event["type"]], event)
    last = json.loads(frames[-1].split("\n")[1].removeprefix("data: "))
    assert last["type"] == "response.completed"
    assert_valid("Response", last["response"])


CONVERSATION: list[Any] = [
    {"role": "developer", "content": "Be brief."},
    {"role": "user", "content": [{"type": "input_text", "text": "Please call get_weather for Oslo"}]},
    {"type": "function_call", "call_id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
    {"type": "function_call_output", "call_id": "call_oslo", "output": "cold"},
    {"role": "user", "content": "And what should I wear?"},
]


def test_input_items_are_listed_newest_first_and_page_with_after(client: openai.OpenAI, governed: Mesh) -> None:
    made = client.responses.create(model="solo", input=CONVERSATION, tools=[WEATHER])  # type: ignore[list-item]
    newest_first = client.responses.input_items.list(made.id)
    assert [item.type for item in newest_first.data] == [
        "message",
        "function_call_output",
        "function_call",
        "message",
        "message",
    ]
    assert newest_first.data[0].model_dump()["content"][0]["text"] == "And what should I wear?"
    assert newest_first.has_more is False
    first_page = client.responses.input_items.list(made.id, limit=2, order="asc")
    assert [item.type for item in first_page.data] == ["message", "message"] and first_page.has_more
    assert first_page.data[0].role == "developer"  # type: ignore[union-attr]
    # The SDK's auto-pagination asks for each next page with `after` = the last id it has.
    every = list(client.responses.input_items.list(made.id, limit=2, order="asc"))
    assert [item.id for item in every] == [item.id for item in reversed(newest_first.data)]
    call = every[2]
    assert call.type == "function_call" and call.call_id == "call_oslo" and call.arguments == '{"city": "Oslo"}'
    with httpx.Client(base_url=governed.edge_url, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as raw:
        listed = raw.get(f"/v1/responses/{made.id}/input_items", params={"after": every[3].id, "order": "asc"})
        assert [item["id"] for item in listed.json()["data"]] == [every[4].id]
        for query, param in (({"limit": "0"}, "limit"), ({"order": "up"}, "order"), ({"after": "msg_x"}, "after")):
            refused = raw.get(f"/v1/responses/{made.id}/input_items", params=query)
            assert refused.status_code == 400 and refused.json()["error"]["param"] == param


def test_input_items_of_a_text_input_and_of_another_keys_response(client: openai.OpenAI, governed: Mesh) -> None:
    prompt = f"Remember me {_nonce()}"
    made = client.responses.create(model="solo", input=prompt)
    listed = client.responses.input_items.list(made.id)
    assert len(listed.data) == 1 and not listed.has_more
    only = listed.data[0].model_dump()
    assert (only["type"], only["role"], only["content"][0]["text"]) == ("message", "user", prompt)
    with httpx.Client(base_url=governed.edge_url, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as admin:
        other = admin.post("/key/generate", json={"models": ["solo"]}).json()["key"]
    with pytest.raises(openai.NotFoundError):
        _client(governed, other).responses.input_items.list(made.id)


def test_a_stream_broken_after_it_began_ends_with_response_failed(client: openai.OpenAI) -> None:
    # The fake closes the upstream stream after three events: the router cannot fail over once text is out.
    broken = {"fake_cut_after": "3", "fake_chunks": "8"}
    with client.responses.stream(model="solo", input=f"Stream then break {_nonce()}", metadata=broken) as stream:
        events = list(stream)
        with pytest.raises(RuntimeError):
            stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and "response.output_text.delta" in kinds
    assert kinds[-1] == "response.failed" and "error" not in kinds and "response.completed" not in kinds
    failed = events[-1].response  # type: ignore[union-attr]
    assert failed.status == "failed" and failed.id == events[0].response.id  # type: ignore[union-attr]
    assert failed.error is not None and failed.error.code == "server_error" and failed.error.message
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")  # type: ignore[union-attr]
    assert failed.output_text == deltas and failed.output[0].model_dump()["status"] == "incomplete"


def test_response_failed_follows_openais_spec(governed: Mesh) -> None:
    body = {"model": "solo", "input": f"Break {_nonce()}", "stream": True, "metadata": {"fake_cut_after": "3"}}
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.stream("POST", f"{governed.edge_url}/v1/responses", json=body, headers=headers, timeout=10) as response:
        frames = response.read().decode().strip().split("\n\n")
    name_line, data_line = frames[-1].split("\n")
    last = json.loads(data_line.removeprefix("data: "))
    assert name_line == "event: response.failed"
    assert_valid("ResponseFailedEvent", last)
