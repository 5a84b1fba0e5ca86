"""The compatibility fingerprint: everything about a request but its last user turn that a semantic hit must share.

Two requests may share an answer when their last user turns mean the same and everything else is
identical: the model group or alias, every earlier message (system prompts and the conversation so
far, so a multi-turn request hits only when the earlier turns are equal), tools and tool_choice,
response_format, n, max_tokens, stop and every other answer-shaping field, and the identifiers in the
last turn (tokens mixing letters and digits: order ids, hashes, versions), which the near-miss guard
never lets differ: a request is compared only with entries that name the same ones, so entries about
other ids neither cost a search nor crowd its candidates. Sampling is compared by class rather than
value:

- `deterministic`: temperature is 0 (greedy decoding; a seed changes nothing);
- `seeded:<seed>`: a seed is given with another temperature (a reproducible sample for that seed);
- `sampled`: anything else within the cache's temperature limit, the provider default included
  (temperature and top_p values then do not split entries).

A request is semantically comparable only when its last message is a user turn made of text, short
enough for the embedding model to read whole; for anything else (a tool result last, an image or
audio part, a long document) only the exact tier answers.
"""

from __future__ import annotations

import hashlib

from switchyard.common.v1 import chat_pb2
from switchyard.ml.embedder import embedding_text
from switchyard.ml.nearmiss import identifiers
from switchyard.ml.normalise import semantic_text
from switchyard.services.cache.convert import canonical_request, scope_of, temperature_of
from switchyard.services.cache.tiers import Request

DETERMINISTIC = "deterministic"
SAMPLED = "sampled"
# Longer turns (documents, code) are for the exact tier only: the guard reads a question, and two long
# documents that share most of their words would look alike to a mean of word-piece embeddings.
SEMANTIC_MAX_CHARS = 768


def sampling_class(request: chat_pb2.ChatRequest) -> str:
    """Returns the request's sampling class (see the module docstring)."""
    if request.HasField("temperature") and request.temperature == 0:
        return DETERMINISTIC
    if request.HasField("seed"):
        return f"seeded:{request.seed}"
    return SAMPLED


def comparable_text(request: chat_pb2.ChatRequest) -> str | None:
    """Returns the text the semantic tier compares (the last user turn, normalised by normalise.semantic_text),
    or None when the request is for the exact tier only."""
    if not request.messages:
        return None
    last = request.messages[-1]
    if last.role != chat_pb2.ROLE_USER or last.tool_calls:
        return None
    if last.WhichOneof("content") == "parts" and any(p.WhichOneof("part") != "text" for p in last.parts.parts):
        return None
    text = embedding_text(request)
    return semantic_text(text) if text.strip() and len(text) <= SEMANTIC_MAX_CHARS else None


def fingerprint(model_group: str, request: chat_pb2.ChatRequest, text: str = "") -> str:
    """Returns the hex sha256 of everything a semantic hit must share with the request (text: the
    compared last turn, whose identifiers it must share too)."""
    rest = chat_pb2.ChatRequest()
    rest.CopyFrom(request)
    del rest.messages[-1:]
    for field in ("temperature", "top_p", "seed"):
        rest.ClearField(field)
    digest = hashlib.sha256()
    for part in (model_group.encode(), sampling_class(request).encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(canonical_request(rest))
    named = identifiers(text)
    if named:
        # Only then, so that the fingerprint of a turn without identifiers is what it always was.
        digest.update(b"\x00identifiers\x00" + "\x00".join(sorted(named)).encode())
    return digest.hexdigest()


def cache_request(tenant: str, model_group: str, request: chat_pb2.ChatRequest) -> Request:
    """Returns the cache's view of a request: scope, canonical bytes, and what the semantic tier compares."""
    scope = scope_of(tenant, model_group, request)
    text = comparable_text(request)
    return Request(
        scope=scope,
        canonical=canonical_request(request),
        temperature=temperature_of(request),
        text=text,
        fingerprint=fingerprint(scope.model_group, request, text) if text is not None else "",
    )
