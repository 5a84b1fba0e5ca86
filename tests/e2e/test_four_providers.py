"""The same conversation through the edge to each provider's fake gives equivalent OpenAI results.

One scripted exchange — a question that makes the model call a tool, the tool's result, a closing
question — goes to an OpenAI, a vLLM, an Anthropic, a Gemini, a Bedrock (Converse, SigV4-signed) and
two Vertex AI (Gemini and Claude, with a service-account key file) deployments. The client sees the
same text, tool name and JSON arguments, finish reasons and token counts from all of them, streamed or
not: the adapters translate without loss. The same holds through the Responses API (`client.responses`):
the function call round trip chained by `previous_response_id`, its streamed first turn and a JSON answer
give equal text, tool name, arguments, status and output tokens.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from switchyard.fakes.vertex_fake_oauth import new_service_account_key
from tests.support import Mesh, Process, free_port, port_open, python_module, wait_until_sync

pytestmark = pytest.mark.mesh

GROUPS = ("p-openai", "p-vllm", "p-anthropic", "p-gemini", "p-bedrock", "p-vertex-gemini", "p-vertex-claude")
BEDROCK_SECRET = "bedrock-e2e-secret"
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    anthropic_port, gemini_port, bedrock_port, vertex_port = free_port(), free_port(), free_port(), free_port()
    vertex_key = Path(tmp_path_factory.mktemp("vertex")) / "service-account.json"
    vertex_key.write_text(json.dumps(new_service_account_key("sy-e2e", f"http://127.0.0.1:{vertex_port}/token")))
    fakes: list[Process] = [
        python_module("switchyard.fakes", "--wire", "anthropic", "--port", str(anthropic_port), name="anthropic"),
        python_module("switchyard.fakes", "--wire", "gemini", "--port", str(gemini_port), name="gemini"),
        python_module(
            "switchyard.fakes",
            "--wire",
            "bedrock",
            "--port",
            str(bedrock_port),
            "--api-key",
            BEDROCK_SECRET,
            name="bedrock",
        ),
        python_module(
            "switchyard.fakes",
            *("--wire", "vertex", "--port", str(vertex_port), "--service-account-key", str(vertex_key)),
            name="vertex",
        ),
    ]
    extra = f"""  - model_name: p-openai
    litellm_params: {{model: openai/fake-gpt-4o, api_base: "$FAKE_URL/v1", api_key: sk-fake}}
  - model_name: p-vllm
    litellm_params: {{model: hosted_vllm/fake-llama-3.1-8b, api_base: "$FAKE_URL/v1"}}
  - model_name: p-anthropic
    litellm_params:
      {{model: anthropic/fake-claude-sonnet, api_base: "http://127.0.0.1:{anthropic_port}", api_key: sk-fake}}
  - model_name: p-gemini
    litellm_params:
      {{model: gemini/fake-gemini-2.5-flash, api_base: "http://127.0.0.1:{gemini_port}", api_key: sk-fake}}
  - model_name: p-bedrock
    litellm_params:
      model: "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0"
      aws_bedrock_runtime_endpoint: "http://127.0.0.1:{bedrock_port}"
      aws_access_key_id: AKIDSWITCHYARDE2E
      aws_secret_access_key: {BEDROCK_SECRET}
      aws_region_name: eu-west-1
  - model_name: e-bedrock
    litellm_params:
      model: "bedrock/amazon.titan-embed-text-v2:0"
      aws_bedrock_runtime_endpoint: "http://127.0.0.1:{bedrock_port}"
      aws_access_key_id: AKIDSWITCHYARDE2E
      aws_secret_access_key: {BEDROCK_SECRET}
    model_info: {{mode: embedding, input_cost_per_token: 0.00000002}}
  - model_name: p-vertex-gemini
    litellm_params: {{model: vertex_ai/gemini-2.5-flash, api_base: "http://127.0.0.1:{vertex_port}",
      vertex_project: sy-e2e, vertex_location: us-east5, vertex_credentials: "file:{vertex_key}"}}
  - model_name: p-vertex-claude
    litellm_params: {{model: vertex_ai/claude-sonnet-4@20250514, api_base: "http://127.0.0.1:{vertex_port}",
      vertex_project: sy-e2e, vertex_location: us-east5, vertex_credentials: "file:{vertex_key}"}}
"""
    mesh = Mesh(Path(tmp_path_factory.mktemp("four")), extra_models=extra)
    try:
        for fake, port in zip(fakes, (anthropic_port, gemini_port, bedrock_port, vertex_port), strict=True):
            wait_until_sync(lambda f=fake, p=port: f.alive() and port_open(p), 30.0, f"the {fake.name} fake")
        mesh.start()
        yield mesh
    finally:
        mesh.stop()
        for fake in fakes:
            fake.stop()


def _client(mesh: Mesh) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{mesh.edge_url}/v1", api_key="sk-sy-test", max_retries=0, _strict_response_validation=True
    )


def _conversation(client: openai.OpenAI, group: str, nonce: str) -> dict[str, Any]:
    """Runs the scripted exchange without streaming and returns what a client would compare."""
    question = [{"role": "user", "content": f"Please call get_weather for Paris ({nonce})"}]
    first = client.chat.completions.create(model=group, messages=question, tools=TOOLS)  # type: ignore[arg-type]
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    follow_up = [
        *question,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21, "sky": "clear"}'},
        {"role": "user", "content": "Thanks, summarise it"},
    ]
    second = client.chat.completions.create(model=group, messages=follow_up, tools=TOOLS)  # type: ignore[arg-type]
    assert first.usage is not None and second.usage is not None
    for usage in (first.usage, second.usage):
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    return {
        "tool": call.function.name,  # type: ignore[union-attr]
        "arguments": json.loads(call.function.arguments),  # type: ignore[union-attr]
        "finish": (first.choices[0].finish_reason, second.choices[0].finish_reason),
        "text": second.choices[0].message.content,
        "completion_tokens": (first.usage.completion_tokens, second.usage.completion_tokens),
    }


def _streamed(client: openai.OpenAI, group: str, nonce: str) -> dict[str, Any]:
    """Runs the first turn streamed and returns the assembled tool call, finish reason and usage."""
    question = [{"role": "user", "content": f"Please call get_weather for Paris ({nonce})"}]
    with client.chat.completions.stream(
        model=group,
        messages=question,
        tools=TOOLS,
        stream_options={"include_usage": True},  # type: ignore[arg-type]
    ) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert final.usage is not None
    return {
        "tool": call.function.name,
        "arguments": json.loads(call.function.arguments),
        "finish": final.choices[0].finish_reason,
        "completion_tokens": final.usage.completion_tokens,
    }


def test_same_conversation_same_results(four: Mesh) -> None:
    client = _client(four)
    results = {group: _conversation(client, group, uuid.uuid4().hex) for group in GROUPS}
    reference = results["p-openai"]
    assert reference["tool"] == "get_weather" and reference["finish"] == ("tool_calls", "stop")
    assert reference["text"]
    for group, result in results.items():
        assert result == reference, f"{group} differs from OpenAI"


def test_same_conversation_streamed(four: Mesh) -> None:
    client = _client(four)
    results = {group: _streamed(client, group, uuid.uuid4().hex) for group in GROUPS}
    reference = results["p-openai"]
    assert reference["finish"] == "tool_calls"
    for group, result in results.items():
        assert result == reference, f"{group} differs from OpenAI"


def _json_answer(client: openai.OpenAI, group: str, nonce: str) -> dict[str, Any]:
    """Asks for a JSON object and returns the answer (the nonce masked), finish reason and completion tokens."""
    completion = client.chat.completions.create(
        model=group,
        messages=[{"role": "user", "content": f"Describe Paris as JSON ({nonce})"}],
        response_format={"type": "json_object"},
    )
    assert completion.usage is not None
    return {
        "answer": json.loads((completion.choices[0].message.content or "").replace(nonce, "<nonce>")),
        "finish": completion.choices[0].finish_reason,
        "completion_tokens": completion.usage.completion_tokens,
    }


def test_same_json_answer(four: Mesh) -> None:
    client = _client(four)
    results = {group: _json_answer(client, group, uuid.uuid4().hex[:8]) for group in GROUPS}
    reference = results["p-openai"]
    assert isinstance(reference["answer"], dict) and reference["finish"] == "stop"
    for group, result in results.items():
        assert result == reference, f"{group} differs from OpenAI"


def test_bedrock_titan_embeddings_through_the_edge(four: Mesh) -> None:
    client = _client(four)
    texts = ["Switchyard routes requests", "to many providers"]
    first = client.embeddings.create(model="e-bedrock", input=texts, dimensions=256, encoding_format="float")
    again = client.embeddings.create(model="e-bedrock", input=texts[0], dimensions=256, encoding_format="float")
    assert [len(item.embedding) for item in first.data] == [256, 256]
    assert first.data[0].embedding == again.data[0].embedding != first.data[1].embedding
    assert first.usage.prompt_tokens == sum((len(t) + 3) // 4 for t in texts)


RESPONSES_TOOL: dict[str, Any] = {"type": "function", **TOOLS[0]["function"]}


def _response_summary(response: Any) -> dict[str, Any]:
    """Returns what a client compares of a response: status, text, calls and output tokens."""
    assert response.usage is not None
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    calls = [item for item in response.output if item.type == "function_call"]
    return {
        "status": response.status,
        "text": response.output_text,
        "calls": [(call.name, json.loads(call.arguments)) for call in calls],
        "output_tokens": response.usage.output_tokens,
    }


def _responses_round_trip(client: openai.OpenAI, group: str, nonce: str) -> dict[str, Any]:
    """Runs the function call round trip through the Responses API, the second turn chained by id."""
    asked = client.responses.create(
        model=group,
        input=f"Please call get_weather for Paris ({nonce})",
        tools=[RESPONSES_TOOL],  # type: ignore[list-item]
    )
    call = next(item for item in asked.output if item.type == "function_call")
    answered = client.responses.create(
        model=group,
        previous_response_id=asked.id,
        # Compact JSON: Gemini carries a tool result as an object, so its spacing is not kept.
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temperature":21}'}],
        tools=[RESPONSES_TOOL],  # type: ignore[list-item]
    )
    return {"asked": _response_summary(asked), "answered": _response_summary(answered)}


def _responses_streamed(client: openai.OpenAI, group: str, nonce: str) -> dict[str, Any]:
    """Streams the first turn through the SDK's helper and returns the final response's summary."""
    with client.responses.stream(
        model=group,
        input=f"Please call get_weather for Paris ({nonce})",
        tools=[RESPONSES_TOOL],  # type: ignore[list-item]
    ) as stream:
        return _response_summary(stream.get_final_response())


def _responses_json(client: openai.OpenAI, group: str, nonce: str) -> dict[str, Any]:
    """Asks for a JSON object through the Responses API and returns it (the nonce masked) and the summary."""
    response = client.responses.create(
        model=group, input=f"Describe Paris as JSON ({nonce})", text={"format": {"type": "json_object"}}
    )
    summary = _response_summary(response)
    summary["text"] = json.loads(summary["text"].replace(nonce, "<nonce>"))
    return summary


@pytest.mark.parametrize(
    "exchange", [_responses_round_trip, _responses_streamed, _responses_json], ids=["tools", "streamed", "json"]
)
def test_same_responses_through_every_provider(four: Mesh, exchange: Any) -> None:
    client = _client(four)
    results = {group: exchange(client, group, uuid.uuid4().hex[:8]) for group in GROUPS}
    reference = results["p-openai"]
    for group, result in results.items():
        assert result == reference, f"{group} differs from OpenAI"
    if exchange is _responses_round_trip:
        [(name, arguments)] = reference["asked"]["calls"]
        assert name == "get_weather" and set(arguments) == {"city"}
        assert reference["answered"]["status"] == "completed" and reference["answered"]["text"]
    elif exchange is _responses_json:
        assert isinstance(reference["text"], dict) and reference["status"] == "completed"
    else:
        assert [name for name, _ in reference["calls"]] == ["get_weather"] and reference["status"] == "completed"
