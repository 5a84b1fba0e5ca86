"""Embeddings in the Gemini API's wire format: `batchEmbedContents`, one call for all of a request's inputs.

    request   {requests: [{model: "models/<m>", content: {parts: [{text}]}, outputDimensionality?}, ...]}
    reply     {embeddings: [{values: [...]}, ...]}    one per request, in order

The reply counts no tokens: the router prices the call on its own estimate of the inputs.
"""

from __future__ import annotations

from typing import Any

from switchyard.common.v1 import embeddings_pb2
from switchyard.wire.values import MalformedError, type_name


def model_name(model: str) -> str:
    """Returns a model's resource name ("models/<m>" unless it names its own collection)."""
    return model if "/" in model else f"models/{model}"


def embedding_request_to_wire(request: embeddings_pb2.EmbeddingRequest, model: str) -> dict[str, Any]:
    """Returns the batchEmbedContents body for the request's inputs."""
    name = model_name(model)
    requests = []
    for text in request.inputs:
        item: dict[str, Any] = {"model": name, "content": {"parts": [{"text": text}]}}
        if request.HasField("dimensions"):
            item["outputDimensionality"] = request.dimensions
        requests.append(item)
    return {"requests": requests}


def _values(raw: Any, where: str) -> list[float]:
    values = raw.get("values") if isinstance(raw, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise MalformedError(f"{where}.values is {type_name(values)}, not an array of numbers")
    return [float(v) for v in values]


def embeddings_from_wire(raw: Any, model: str, count: int) -> embeddings_pb2.Embeddings:
    """Returns the Embeddings of a batchEmbedContents reply, one per input; raises MalformedError."""
    items = raw.get("embeddings") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise MalformedError("a batchEmbedContents reply must be an object with an 'embeddings' array")
    if len(items) != count:
        raise MalformedError(f"the reply holds {len(items)} embeddings for {count} inputs")
    out = embeddings_pb2.Embeddings(model=model)
    for index, item in enumerate(items):
        out.data.add(index=index, values=_values(item, f"embeddings[{index}]"))
    return out
