"""/v1/completions is a one-turn chat request: the translation both ways (switchyard.services.edge.completions)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from switchyard.common.v1 import chat_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.edge.completions import TextCompletionsFormat

FORMAT = TextCompletionsFormat()


def test_a_prompt_becomes_one_user_turn_with_the_legacy_default_max_tokens() -> None:
    chat = FORMAT.parse({"model": "m", "prompt": "Once upon", "temperature": 0.5, "stop": ["\n"]}, {})
    assert [(m.role, m.text) for m in chat.messages] == [(chat_pb2.ROLE_USER, "Once upon")]
    assert chat.max_tokens == 16 and chat.temperature == 0.5 and list(chat.stop) == ["\n"]
    assert FORMAT.parse({"model": "m", "prompt": ["one"], "max_tokens": 99}, {}).max_tokens == 99


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m", "prompt": ["a", "b"]}, "prompt"),
        ({"model": "m", "prompt": [1, 2]}, "prompt"),
        ({"model": "m"}, "prompt"),
        ({"model": "m", "prompt": "x", "echo": True}, "echo"),
        ({"model": "m", "prompt": "x", "suffix": "y"}, "suffix"),
        ({"model": "m", "prompt": "x", "best_of": 3}, "best_of"),
        ({"model": "m", "prompt": "x", "logprobs": 2}, "logprobs"),
        ({"model": "m", "prompt": "x", "bogus": 1}, "bogus"),
        ({"model": "m", "prompt": "x", "temperature": "hot"}, "temperature"),
    ],
)
def test_what_chat_cannot_express_is_a_400_naming_the_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(SwitchyardError) as caught:
        FORMAT.parse(body, {})
    assert caught.value.param == param and caught.value.status == 400


def test_the_reply_is_a_text_completion() -> None:
    completion = chat_pb2.ChatCompletion(
        id="chatcmpl-abc",
        created=7,
        model="m",
        choices=[
            chat_pb2.Choice(
                index=0, message=chat_pb2.ChatMessage(text="the end"), finish_reason=chat_pb2.FINISH_REASON_LENGTH
            )
        ],
        usage=chat_pb2.Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5),
    )
    body = orjson.loads(FORMAT.completion(chat_pb2.ChatRequest(), completion))
    assert body["id"] == "cmpl-abc" and body["object"] == "text_completion"
    assert body["choices"] == [{"index": 0, "text": "the end", "logprobs": None, "finish_reason": "length"}]
    assert body["usage"]["total_tokens"] == 5


def test_stream_chunks_carry_text_and_skip_the_role_only_opening() -> None:
    request = FORMAT.parse({"model": "m", "prompt": "x", "stream": True}, {})
    writer = FORMAT.stream(request)
    opening = chat_pb2.ChatCompletionChunk(
        id="chatcmpl-1", choices=[chat_pb2.ChunkChoice(delta=chat_pb2.ChoiceDelta(role=chat_pb2.ROLE_ASSISTANT))]
    )
    text = chat_pb2.ChatCompletionChunk(
        id="chatcmpl-1", choices=[chat_pb2.ChunkChoice(delta=chat_pb2.ChoiceDelta(content="hel"))]
    )
    events = writer.chunks([opening, text]).decode()
    assert events.count("data: ") == 1
    chunk = orjson.loads(events.removeprefix("data: ").strip())
    assert chunk["object"] == "text_completion" and chunk["choices"][0]["text"] == "hel"
    assert chunk["choices"][0]["finish_reason"] is None
    assert writer.end() == b"data: [DONE]\n\n"
