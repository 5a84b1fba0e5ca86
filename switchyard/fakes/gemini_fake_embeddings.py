"""The fake Gemini's embeddings methods: `:embedContent` and `:batchEmbedContents`, deterministic vectors.

    embedContent        {content: {parts: [{text}]}, taskType?, title?, outputDimensionality?}
                        → {embedding: {values: [...]}}
    batchEmbedContents  {requests: [EmbedContentRequest, ...]}  (each naming the URL's model as models/<m>)
                        → {embeddings: [{values: [...]}, ...]}

Vectors are the fakes' own (switchyard.fakes.embeddings): the same model and text always embed the same
way; DEFAULT_DIMENSIONS long unless outputDimensionality asks for fewer. A body the live API refuses is a
400 with Google's message.
"""

from __future__ import annotations

from typing import Any

from switchyard.fakes.embeddings import vector

DEFAULT_DIMENSIONS = 768


class InvalidEmbedding(ValueError):
    """A body the live API answers with 400 INVALID_ARGUMENT (the message is Google's style)."""


def _text(request: Any, where: str) -> str:
    content = request.get("content") if isinstance(request, dict) else None
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts:
        raise InvalidEmbedding(f"* {where}content: contents is not specified")
    texts = [part.get("text") for part in parts if isinstance(part, dict)]
    if len(texts) != len(parts) or not all(isinstance(t, str) for t in texts):
        raise InvalidEmbedding(f"* {where}content.parts: only text parts can be embedded")
    return "".join(str(t) for t in texts)


def _dimensions(request: dict[str, Any], where: str) -> int:
    config = request.get("embedContentConfig") or {}
    value = request.get("outputDimensionality", config.get("outputDimensionality"))
    if value is None:
        return DEFAULT_DIMENSIONS
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= DEFAULT_DIMENSIONS:
        raise InvalidEmbedding(f"* {where}output_dimensionality: must be between 1 and {DEFAULT_DIMENSIONS}")
    return value


def embedding(model: str, request: Any, where: str = "") -> dict[str, Any]:
    """Returns the ContentEmbedding of one EmbedContentRequest body; raises InvalidEmbedding."""
    text = _text(request, where)
    return {"values": vector(model, text, _dimensions(request, where))}


def embed_content(model: str, body: Any) -> dict[str, Any]:
    """Returns the EmbedContentResponse to an embedContent body."""
    return {"embedding": embedding(model, body)}


def batch_embed_contents(model: str, body: Any) -> dict[str, Any]:
    """Returns the BatchEmbedContentsResponse to a batchEmbedContents body."""
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        raise InvalidEmbedding("* BatchEmbedContentsRequest.requests: requests is not specified")
    out = []
    for index, request in enumerate(requests):
        where = f"BatchEmbedContentsRequest.requests[{index}]."
        named = request.get("model") if isinstance(request, dict) else None
        if named is not None and named.removeprefix("models/") != model:
            raise InvalidEmbedding(f"* {where}model: unexpected model name format or a model other than models/{model}")
        out.append(embedding(model, request, where))
    return {"embeddings": out}
