"""The fakes' embeddings endpoint: deterministic vectors for OpenAI-format `/v1/embeddings` requests.

Each vector is seeded by a hash of (model, input text), unit length, `dimensions` long (1536 when not
asked), so the same text always embeds the same way and tests can compare vectors across calls.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from switchyard.wire.openai.embeddings import encode_base64

DEFAULT_DIMENSIONS = 1536
_CHARS_PER_TOKEN = 4


def vector(model: str, text: str, dimensions: int) -> list[float]:
    """Returns the fake's unit vector for a text: the same model, text and length give the same vector."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\x00{text}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


def check(body: Any) -> str | None:
    """Returns why an embeddings body is invalid (OpenAI's message), None when the fake can answer it."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return "you must provide a model parameter"
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
        return "'input' must be a string or a non-empty array of strings"
    dimensions = body.get("dimensions")
    if dimensions is not None and (not isinstance(dimensions, int) or dimensions < 1):
        return "'dimensions' must be a positive integer"
    if body.get("encoding_format", "float") not in ("float", "base64"):
        return "'encoding_format' must be 'float' or 'base64'"
    return None


def reply(body: dict[str, Any], model: str | None = None) -> dict[str, Any]:
    """Returns the OpenAI embeddings reply to a body `check` accepted (model: the name to answer with)."""
    name = model or body["model"]
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    dimensions = body.get("dimensions") or DEFAULT_DIMENSIONS
    base64 = body.get("encoding_format") == "base64"
    data = []
    for index, text in enumerate(inputs):
        values = vector(name, text, dimensions)
        data.append({"object": "embedding", "index": index, "embedding": encode_base64(values) if base64 else values})
    tokens = sum(max(1, -(-len(text) // _CHARS_PER_TOKEN)) for text in inputs)
    return {"object": "list", "data": data, "model": name, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
