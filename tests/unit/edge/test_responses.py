"""The Responses API's translation to chat and back: input items, instructions, tools and text formats; the
typed stream events of a chat stream, and the response objects, checked against OpenAI's spec."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.responses.events import ResponseEvents
from switchyard.services.edge.responses.replies import assistant_message, completed_response
from switchyard.services.edge.responses.requests import parse_responses_request
from tests.openapi_spec import assert_valid

WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}


def _roles(request: chat_pb2.ChatRequest) -> list[tuple[int, str]]:
    return [(m.role, m.text) for m in request.messages]


def test_a_string_input_and_instructions_are_a_system_and_a_user_turn() -> None:
    parsed = parse_responses_request({"model": "m", "input": "Hi", "instructions": "Be brief."}, [])
    assert _roles(parsed.chat) == [(chat_pb2.ROLE_SYSTEM, "Be brief."), (chat_pb2.ROLE_USER, "Hi")]
    assert parsed.messages == [{"role": "user", "content": "Hi"}], "instructions are not kept for the next turn"
    assert parsed.store and parsed.previous_response_id is None


def test_items_become_chat_turns_with_tool_calls_and_their_results() -> None:
    items: list[dict[str, Any]] = [
        {"role": "developer", "content": "Use tools."},
        {
            "role": "user",
            "content": [{"type": "input_text", "text": "Weather in "}, {"type": "input_text", "text": "Oslo"}],
        },
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
        {"type": "function_call", "call_id": "c2", "name": "get_weather", "arguments": '{"city":"Bergen"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "cold"},
        {"type": "function_call_output", "call_id": "c2", "output": "wet"},
    ]
    chat = parse_responses_request({"model": "m", "input": items, "tools": [WEATHER]}, []).chat
    assert [m.role for m in chat.messages] == [
        chat_pb2.ROLE_SYSTEM,
        chat_pb2.ROLE_USER,
        chat_pb2.ROLE_ASSISTANT,
        chat_pb2.ROLE_TOOL,
        chat_pb2.ROLE_TOOL,
    ]
    assert chat.messages[1].text == "Weather in Oslo"
    assert [c.id for c in chat.messages[2].tool_calls] == ["c1", "c2"], "consecutive calls are one assistant turn"
    assert [(m.tool_call_id, m.text) for m in chat.messages[3:]] == [("c1", "cold"), ("c2", "wet")]
    assert chat.tools[0].function.name == "get_weather"


def test_the_previous_conversation_goes_first_and_parameters_carry_over() -> None:
    history = [{"role": "user", "content": "I am Ada"}, {"role": "assistant", "content": "Hello Ada"}]
    body = {
        "model": "m",
        "input": "Who am I?",
        "previous_response_id": "resp_1",
        "max_output_tokens": 50,
        "temperature": 0.2,
        "tool_choice": {"type": "function", "name": "get_weather"},
        "tools": [WEATHER],
        "text": {"format": {"type": "json_schema", "name": "who", "schema": {"type": "object"}, "strict": True}},
    }
    parsed = parse_responses_request(body, history)
    chat = parsed.chat
    assert [m.text for m in chat.messages] == ["I am Ada", "Hello Ada", "Who am I?"]
    assert chat.max_completion_tokens == 50 and chat.temperature == pytest.approx(0.2)
    assert chat.tool_choice.function_name == "get_weather"
    assert chat.response_format.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    assert parsed.previous_response_id == "resp_1"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": "x", "tools": [{"type": "file_search"}]}, "tools[0].type"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"model": "m", "input": "x", "background": True}, "background"),
        ({"model": "m", "input": "x", "store": "yes"}, "store"),
        ({"model": "m", "input": "x", "previous_response_id": 7}, "previous_response_id"),
        ({"model": "m", "input": "x", "frobnicate": 1}, "frobnicate"),
    ],
)
def test_bad_requests_name_their_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(SwitchyardError) as caught:
        parse_responses_request(body, [])
    assert caught.value.param == param and caught.value.status == 400


def _chunk(content: str = "", calls: list[dict[str, Any]] | None = None, finish: str | None = None) -> dict[str, Any]:
    delta: dict[str, Any] = {"content": content} if content else {}
    if calls:
        delta["tool_calls"] = calls
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _decode(stream: bytes) -> list[dict[str, Any]]:
    events = []
    for frame in stream.decode().strip().split("\n\n"):
        name, data = frame.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        events.append(event)
    return events


def test_a_stream_of_text_then_a_tool_call_opens_and_closes_each_item_in_order() -> None:
    request = parse_responses_request({"model": "m", "input": "x", "tools": [WEATHER]}, [])
    events = ResponseEvents("resp_1", request, "m")
    stream = events.begin()
    stream += events.chunk(_chunk("Let me "))
    stream += events.chunk(_chunk("check."))
    call = {"index": 0, "id": "call_1", "function": {"name": "get_weather", "arguments": '{"ci'}}
    stream += events.chunk(_chunk(calls=[call]))
    stream += events.chunk(_chunk(calls=[{"index": 0, "function": {"arguments": 'ty":"Oslo"}'}}]))
    stream += events.chunk(_chunk(finish="tool_calls"))
    stream += events.chunk({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}})
    closing, response = events.finish()
    decoded = _decode(stream + closing + events.completed(response))
    assert [e["type"] for e in decoded] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in decoded] == list(range(len(decoded)))
    assert [item["type"] for item in response["output"]] == ["message", "function_call"]
    assert response["output"][1]["arguments"] == '{"city":"Oslo"}' and response["output"][1]["call_id"] == "call_1"
    assert response["usage"]["input_tokens"] == 5 and response["usage"]["output_tokens"] == 7
    assert_valid("Response", response)
    assert assistant_message(response["output"]) == {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
        ],
    }


def test_a_reply_cut_at_max_output_tokens_is_incomplete() -> None:
    request = parse_responses_request({"model": "m", "input": "x", "max_output_tokens": 5}, [])
    completion = {
        "model": "m",
        "created": 1,
        "choices": [{"message": {"content": "partial"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6},
    }
    response = completed_response("resp_2", request, completion)
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["max_output_tokens"] == 5
    assert_valid("Response", response)
