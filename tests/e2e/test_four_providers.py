"""The same conversation through the edge to each provider's fake gives equivalent OpenAI results.

One scripted exchange — a question that makes the model call a tool, the tool's result, a closing
question — goes to an OpenAI, a vLLM, an Anthropic and a Gemini deployment. The client sees the
same text, tool name and JSON arguments, finish reasons and token counts from all four, streamed or
not: the adapters translate without loss.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support import Mesh, Process, free_port, port_open, python_module, wait_until_sync

pytestmark = pytest.mark.mesh

GROUPS = ("p-openai", "p-vllm", "p-anthropic", "p-gemini")
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
    anthropic_port, gemini_port = free_port(), free_port()
    fakes: list[Process] = [
        python_module("switchyard.fakes", "--wire", "anthropic", "--port", str(anthropic_port), name="anthropic"),
        python_module("switchyard.fakes", "--wire", "gemini", "--port", str(gemini_port), name="gemini"),
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
"""
    mesh = Mesh(Path(tmp_path_factory.mktemp("four")), extra_models=extra)
    try:
        for fake, port in zip(fakes, (anthropic_port, gemini_port), strict=True):
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
