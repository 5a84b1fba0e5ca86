"""Embedding models on Bedrock (InvokeModel): Amazon Titan Text Embeddings and Cohere Embed bodies.

Titan embeds one text per call: `{"inputText", "dimensions"?, "normalize"?}` → `{"embedding": [...],
"inputTextTokenCount": n}` (v2 takes 256, 512 or 1024 dimensions; v1 is 1536 wide). Cohere embeds a batch:
`{"texts": [...], "input_type": "search_document"}` → `{"embeddings": [[...], ...], "id", "texts"}`, a fixed
width (1024) and its token count only in the `x-amzn-bedrock-input-token-count` header. Shared by the
Bedrock adapter and the fake Bedrock.
"""

from __future__ import annotations

from typing import Any, Literal

from switchyard.wire.values import MalformedError

Family = Literal["titan", "cohere", ""]
INPUT_TOKENS_HEADER = "x-amzn-bedrock-input-token-count"
COHERE_INPUT_TYPE = "search_document"
TITAN_V2_DIMENSIONS = (256, 512, 1024)
_PROFILES = ("us.", "eu.", "apac.", "us-gov.")


def family(model: str) -> Family:
    """Returns which embedding body a Bedrock model id takes, "" for a model that does not embed."""
    for profile in _PROFILES:
        model = model.removeprefix(profile)
    if model.startswith("amazon.titan-embed-text") or model.startswith("amazon.titan-embed-g1-text"):
        return "titan"
    if model.startswith("cohere.embed"):
        return "cohere"
    return ""


def default_dimensions(model: str) -> int:
    """Returns how wide a model's vectors are when no size is asked for."""
    return 1024 if family(model) == "cohere" or "-v2" in model else 1536


def titan_body(text: str, dimensions: int | None) -> dict[str, Any]:
    """Returns the InvokeModel body embedding one text with Titan."""
    body: dict[str, Any] = {"inputText": text}
    if dimensions is not None:
        body["dimensions"] = dimensions
        body["normalize"] = True
    return body


def cohere_body(texts: list[str]) -> dict[str, Any]:
    """Returns the InvokeModel body embedding a batch of texts with Cohere Embed."""
    return {"texts": texts, "input_type": COHERE_INPUT_TYPE}


def _floats(raw: Any, where: str) -> list[float]:
    if not isinstance(raw, list) or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
        raise MalformedError(f"{where} is not an array of numbers")
    return [float(v) for v in raw]


def titan_vector(raw: Any) -> tuple[list[float], int]:
    """Returns the vector and input token count of a Titan reply; raises MalformedError."""
    if not isinstance(raw, dict):
        raise MalformedError("a Titan embedding reply is not an object")
    tokens = raw.get("inputTextTokenCount", 0)
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        raise MalformedError("inputTextTokenCount is not a count")
    return _floats(raw.get("embedding"), "embedding"), tokens


def cohere_vectors(raw: Any, count: int) -> list[list[float]]:
    """Returns the vectors of a Cohere reply, one per input text; raises MalformedError."""
    vectors = raw.get("embeddings") if isinstance(raw, dict) else None
    if isinstance(vectors, dict):
        vectors = vectors.get("float")  # the shape when embedding_types was asked for
    if not isinstance(vectors, list) or len(vectors) != count:
        raise MalformedError(f"a Cohere reply must hold {count} embeddings")
    return [_floats(v, f"embeddings[{i}]") for i, v in enumerate(vectors)]
