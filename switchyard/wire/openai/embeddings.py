"""OpenAI embeddings JSON (`POST /v1/embeddings`) ⇄ switchyard.common.v1 EmbeddingRequest / Embeddings.

The edge reads client bodies with `parse_embedding_request` and renders answers with
`embeddings_to_wire` (floats, or each vector as base64 of little-endian float32s, as OpenAI's
`encoding_format: base64` does); the OpenAI-compatible adapters render upstream bodies with
`embedding_request_to_wire` (always `float`: the edge encodes) and read replies with
`embeddings_from_wire`. Text inputs only: token-id arrays are a 400 naming `input`.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from switchyard.common.v1 import chat_pb2, embeddings_pb2, errors_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.wire.values import MalformedError, type_name

ENCODING_FORMATS = ("float", "base64")
# OpenAI's own limits: at most 2048 inputs per request, a dimensions value of at least 1.
MAX_INPUTS = 2048
_KNOWN_KEYS = frozenset({"model", "input", "dimensions", "encoding_format", "user"})


def _invalid(param: str, message: str) -> SwitchyardError:
    return SwitchyardError(errors_pb2.ERROR_REASON_INVALID_REQUEST, message, param=param)


def _inputs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        what = type_name(value)
        raise _invalid("input", f"Invalid type for 'input': expected a string or a non-empty array, got {what}.")
    if all(isinstance(item, str) for item in value):
        if len(value) > MAX_INPUTS:
            raise _invalid("input", f"'input' holds {len(value)} texts; at most {MAX_INPUTS} are allowed.")
        return list(value)
    if all(isinstance(item, int | list) and not isinstance(item, bool) for item in value):
        raise _invalid("input", "Token-id inputs are not supported by this gateway: send 'input' as text.")
    raise _invalid("input", "Invalid 'input': expected a string or an array of strings.")


def parse_embedding_request(payload: Any) -> tuple[embeddings_pb2.EmbeddingRequest, str]:
    """Returns the EmbeddingRequest a client body asks for and its encoding format ("float" or "base64")."""
    if not isinstance(payload, dict):
        raise _invalid("", f"The request body must be a JSON object, not {type_name(payload)}.")
    unknown = sorted(set(payload) - _KNOWN_KEYS)
    if unknown:
        raise _invalid(unknown[0], f"Unrecognized request argument supplied: {unknown[0]}")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model", "you must provide a model parameter")
    if "input" not in payload:
        raise _invalid("input", "Missing required parameter: 'input'.")
    request = embeddings_pb2.EmbeddingRequest(model=model, inputs=_inputs(payload["input"]))
    dimensions = payload.get("dimensions")
    if dimensions is not None:
        if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= 65536:
            raise _invalid("dimensions", "Invalid 'dimensions': expected an integer between 1 and 65536.")
        request.dimensions = dimensions
    user = payload.get("user")
    if user is not None:
        if not isinstance(user, str):
            raise _invalid("user", f"Invalid type for 'user': expected a string, but got {type_name(user)}.")
        request.user = user
    encoding = payload.get("encoding_format") or "float"
    if encoding not in ENCODING_FORMATS:
        raise _invalid("encoding_format", "Invalid 'encoding_format': expected 'float' or 'base64'.")
    return request, encoding


def encode_base64(values: Any) -> str:
    """Returns a vector as OpenAI's base64 encoding: its float32s, little-endian, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def embeddings_to_wire(embeddings: embeddings_pb2.Embeddings, model: str, encoding_format: str) -> dict[str, Any]:
    """Returns the OpenAI `list` object of embeddings, each vector as floats or base64."""
    data = [
        {
            "object": "embedding",
            "index": e.index,
            "embedding": encode_base64(e.values) if encoding_format == "base64" else list(e.values),
        }
        for e in embeddings.data
    ]
    usage = embeddings.usage
    return {
        "object": "list",
        "data": data,
        "model": embeddings.model or model,
        "usage": {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens or usage.prompt_tokens},
    }


def embedding_request_to_wire(request: embeddings_pb2.EmbeddingRequest, model: str) -> dict[str, Any]:
    """Returns the body an OpenAI-compatible upstream is sent: the upstream model, float vectors."""
    body: dict[str, Any] = {"model": model, "input": list(request.inputs), "encoding_format": "float"}
    if request.HasField("dimensions"):
        body["dimensions"] = request.dimensions
    if request.user:
        body["user"] = request.user
    return body


def _vector(raw: Any) -> list[float]:
    if isinstance(raw, str):
        packed = base64.b64decode(raw, validate=True)
        if len(packed) % 4:
            raise MalformedError("a base64 embedding is not a whole number of float32s")
        return list(struct.unpack(f"<{len(packed) // 4}f", packed))
    if not isinstance(raw, list) or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
        raise MalformedError(f"an embedding is {type_name(raw)}, not an array of numbers")
    return [float(v) for v in raw]


def embeddings_from_wire(raw: Any, count: int) -> embeddings_pb2.Embeddings:
    """Returns the Embeddings an upstream reply holds, one per input; raises MalformedError."""
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise MalformedError("an embeddings reply must be an object with a 'data' array")
    model = raw.get("model")
    out = embeddings_pb2.Embeddings(model=model if isinstance(model, str) else "")
    for position, item in enumerate(raw["data"]):
        if not isinstance(item, dict):
            raise MalformedError(f"data[{position}] is {type_name(item)}, not an object")
        index = item.get("index", position)
        if not isinstance(index, int) or not 0 <= index < count:
            raise MalformedError(f"data[{position}].index is out of range")
        out.data.add(index=index, values=_vector(item.get("embedding")))
    if sorted(e.index for e in out.data) != list(range(count)):
        raise MalformedError(f"the reply holds {len(out.data)} embeddings for {count} inputs")
    usage = raw.get("usage")
    if isinstance(usage, dict):
        prompt = usage.get("prompt_tokens")
        total = usage.get("total_tokens", prompt)
        if isinstance(prompt, int) and isinstance(total, int):
            out.usage.CopyFrom(chat_pb2.Usage(prompt_tokens=prompt, total_tokens=total))
    return out
