"""OpenAI embeddings bodies ⇄ EmbeddingRequest / Embeddings (switchyard.wire.openai.embeddings)."""

from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from switchyard.common.v1 import chat_pb2, embeddings_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.openai.embeddings import embeddings_to_wire, parse_embedding_request


def test_a_string_or_a_list_of_strings_with_dimensions_and_user() -> None:
    request, encoding = parse_embedding_request({"model": "e", "input": "one", "dimensions": 8, "user": "u"})
    assert list(request.inputs) == ["one"] and request.dimensions == 8 and request.user == "u"
    assert encoding == "float"
    request, encoding = parse_embedding_request({"model": "e", "input": ["a", "b"], "encoding_format": "base64"})
    assert list(request.inputs) == ["a", "b"] and not request.HasField("dimensions") and encoding == "base64"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "e", "input": [1, 2, 3]}, "input"),
        ({"model": "e", "input": [[1, 2], [3]]}, "input"),
        ({"model": "e", "input": []}, "input"),
        ({"model": "e", "input": ["a", 1]}, "input"),
        ({"model": "e"}, "input"),
        ({"input": "x"}, "model"),
        ({"model": "e", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "e", "input": "x", "dimensions": True}, "dimensions"),
        ({"model": "e", "input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"model": "e", "input": "x", "user": 5}, "user"),
        ({"model": "e", "input": "x", "extra": 5}, "extra"),
    ],
)
def test_bad_bodies_are_400s_naming_the_parameter(body: dict[str, Any], param: str) -> None:
    with pytest.raises(SwitchyardError) as caught:
        parse_embedding_request(body)
    assert caught.value.status == 400 and caught.value.param == param


def test_base64_is_little_endian_float32() -> None:
    embeddings = embeddings_pb2.Embeddings(
        data=[embeddings_pb2.Embedding(index=0, values=[0.5, -1.0])],
        usage=chat_pb2.Usage(prompt_tokens=3, total_tokens=3),
    )
    wire = embeddings_to_wire(embeddings, "e", "base64")
    assert struct.unpack("<2f", base64.b64decode(wire["data"][0]["embedding"])) == (0.5, -1.0)
    assert wire["model"] == "e" and wire["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert embeddings_to_wire(embeddings, "e", "float")["data"][0]["embedding"] == [0.5, -1.0]
