"""What a provider's reply must satisfy before it is served, besides its wire format.

    kind              what it means                                               by default
    schema            the reply breaks its wire format: JSON, required fields,    an error, as it always was
                      types, stream framing (the adapters find it)                (UPSTREAM_MALFORMED)
    usage_impossible  a negative token count; a part larger than its whole        an error
                      (cached > prompt, reasoning > completion); a count far
                      beyond the call: over twice max_tokens per choice, twice
                      the model's input window (model_info), or 10^8 tokens
    model             the reply names another model than the one asked, beyond    counted, logged, served
                      aliasing: a dated or versioned name of it (gpt-4o →
                      gpt-4o-2024-08-06, claude-x-latest → claude-x-20250929,
                      -001, @20240620, -v1:0) or a vendor prefix (models/,
                      openai/); a pinned version must come back as asked
    usage_missing     a reply, or a whole stream, without token usage             counted, logged, served

Embeddings are checked too: an empty vector, vectors of different lengths, a length other than the
`dimensions` asked, or a value that is NaN or infinite break the reply (schema); a negative or
impossible token count is usage_impossible. Their model name and a missing usage are not judged (Azure
names the model, not the deployment; Gemini counts no tokens and the router estimates them).

An error is UPSTREAM_MALFORMED: the router fails over and counts it toward the deployment's circuit.
With `integrity_strict` every kind is an error. Pure functions: `guard` applies them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

from switchyard.common.v1 import chat_pb2, embeddings_pb2
from switchyard.services.providers.adapters.base import Deployment


class Kind(StrEnum):
    """The kinds of integrity violation (the `kind` label of switchyard_providers_integrity_violations_total)."""

    SCHEMA = "schema"
    USAGE_IMPOSSIBLE = "usage_impossible"
    MODEL = "model"
    USAGE_MISSING = "usage_missing"


# The kinds that fail the call even when not strict: the reply cannot be trusted, or billed.
HARD_KINDS = frozenset({Kind.SCHEMA, Kind.USAGE_IMPOSSIBLE})


@dataclass(frozen=True)
class Violation:
    """One failed check and what it saw (counts and model names, never content)."""

    kind: Kind
    detail: str


# No model takes this many tokens in one call: a count above it is nonsense whatever the config says.
TOKEN_CEILING = 100_000_000
# How far beyond a limit a count must be to be impossible rather than a vendor counting differently.
_SLACK_FACTOR = 2
_SLACK_TOKENS = 16
# Version suffixes a provider appends to the model asked for: dates, numbered revisions, -latest, @date, -v1:0.
_VERSION = r"(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{3,4}|v\d+(?:[.:]\d+)*|latest)"
_VERSIONS = re.compile(rf"(?:[-@]{_VERSION})+")
_PINNED = re.compile(rf".*[-@](?!latest$){_VERSION}")


def _comparable(asked: str, replied: str) -> tuple[str, str]:
    """Returns both names lower-cased, with a vendor or path prefix dropped unless both carry one."""
    a, r = asked.strip().lower(), replied.strip().lower()
    if "/" in a and "/" in r:
        return a, r
    return a.rsplit("/", 1)[-1], r.rsplit("/", 1)[-1]


def model_matches(asked: str, replied: str) -> bool:
    """Says whether a reply's model name is the one asked or a known alias of it (an empty name claims nothing)."""
    if not asked or not replied:
        return True
    a, r = _comparable(asked, replied)
    if a == r:
        return True
    if _PINNED.fullmatch(a):
        return False
    stem = a.removesuffix("-latest")
    return r.startswith(stem) and _VERSIONS.fullmatch(r[len(stem) :]) is not None


def _counts(usage: chat_pb2.Usage) -> dict[str, int]:
    prompt, completion = usage.prompt_tokens_details, usage.completion_tokens_details
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cached_tokens": prompt.cached_tokens,
        "cache_write_tokens": prompt.cache_write_tokens,
        "reasoning_tokens": completion.reasoning_tokens,
    }


def _far_beyond(count: int, limit: int) -> bool:
    return limit > 0 and count > _SLACK_FACTOR * limit + _SLACK_TOKENS


def output_cap(request: chat_pb2.ChatRequest, deployment: Deployment) -> int:
    """Returns the most completion tokens the call may produce over all its choices (0: no known limit)."""
    if request.HasField("max_completion_tokens"):
        per_choice = request.max_completion_tokens
    elif request.HasField("max_tokens"):
        per_choice = request.max_tokens
    else:
        per_choice = deployment.max_output_tokens
    choices = request.n if request.HasField("n") and request.n > 0 else 1
    return max(0, per_choice) * choices


def usage_problem(usage: chat_pb2.Usage, request: chat_pb2.ChatRequest, deployment: Deployment) -> str | None:
    """Returns what makes reported usage impossible for this call, None when it is plausible."""
    counts = _counts(usage)
    negative = [f"{name} {value}" for name, value in counts.items() if value < 0]
    if negative:
        return "negative " + ", ".join(negative)
    if counts["cached_tokens"] > counts["prompt_tokens"]:
        return f"cached_tokens {counts['cached_tokens']} exceed prompt_tokens {counts['prompt_tokens']}"
    if counts["reasoning_tokens"] > counts["completion_tokens"]:
        return f"reasoning_tokens {counts['reasoning_tokens']} exceed completion_tokens {counts['completion_tokens']}"
    name, biggest = max(counts.items(), key=lambda item: item[1])
    if biggest > TOKEN_CEILING:
        return f"{name} {biggest} is beyond any model's window"
    cap = output_cap(request, deployment)
    if _far_beyond(usage.completion_tokens, cap):
        return f"completion_tokens {usage.completion_tokens} are far beyond the call's limit of {cap}"
    if _far_beyond(usage.prompt_tokens, deployment.max_input_tokens):
        return f"prompt_tokens {usage.prompt_tokens} are far beyond the model's window of {deployment.max_input_tokens}"
    return None


def _shown(name: str) -> str:
    """Returns an upstream-chosen name fit for a log line and an error message: printable, short, quoted."""
    return repr("".join(c for c in name if c.isprintable())[:80])


def model_violation(replied: str, deployment: Deployment) -> Violation | None:
    """Returns the violation of a reply naming another model than the deployment's, None when it matches."""
    if model_matches(deployment.model, replied):
        return None
    return Violation(Kind.MODEL, f"the reply names model {_shown(replied)}, asked {_shown(deployment.model)}")


def usage_violation(usage: chat_pb2.Usage, request: chat_pb2.ChatRequest, deployment: Deployment) -> Violation | None:
    problem = usage_problem(usage, request, deployment)
    return None if problem is None else Violation(Kind.USAGE_IMPOSSIBLE, problem)


MISSING_USAGE = Violation(Kind.USAGE_MISSING, "the reply reports no token usage")


def check_completion(
    completion: chat_pb2.ChatCompletion, request: chat_pb2.ChatRequest, deployment: Deployment
) -> list[Violation]:
    """Returns every integrity violation of a whole (non-streamed) reply."""
    found = [model_violation(completion.model, deployment)]
    if completion.HasField("usage"):
        found.append(usage_violation(completion.usage, request, deployment))
    else:
        found.append(MISSING_USAGE)
    return [violation for violation in found if violation is not None]


class StreamWatch:
    """Checks a stream as its chunks pass: the model on the first chunk naming one, usage where it comes,
    and at the end whether usage came at all."""

    def __init__(self, request: chat_pb2.ChatRequest, deployment: Deployment) -> None:
        self._request = request
        self._deployment = deployment
        self._model_seen = False
        self.usage_seen = False

    def chunks(self, batch: list[chat_pb2.ChatCompletionChunk]) -> list[Violation]:
        """Returns the violations one batch of chunks shows."""
        found: list[Violation | None] = []
        for chunk in batch:
            if not self._model_seen and chunk.model:
                self._model_seen = True
                found.append(model_violation(chunk.model, self._deployment))
            if chunk.HasField("usage"):
                self.usage_seen = True
                found.append(usage_violation(chunk.usage, self._request, self._deployment))
        return [violation for violation in found if violation is not None]

    def finish(self) -> list[Violation]:
        """Returns the violations of the stream as a whole, once it ended."""
        return [] if self.usage_seen else [MISSING_USAGE]


def vector_problem(embeddings: embeddings_pb2.Embeddings, dimensions: int | None) -> str | None:
    """Returns what makes a reply's vectors unusable (None when they are fine): empty, of different
    lengths, not the length asked, or holding NaN or infinity."""
    lengths = sorted({len(e.values) for e in embeddings.data})
    if lengths and lengths[0] == 0:
        return "an embedding is empty"
    if len(lengths) > 1:
        return f"the embeddings differ in length ({', '.join(map(str, lengths))})"
    if dimensions and lengths and lengths[0] != dimensions:
        return f"the embeddings have {lengths[0]} dimensions; {dimensions} were asked"
    if not all(math.isfinite(v) for e in embeddings.data for v in e.values):
        return "an embedding holds NaN or infinity"
    return None


def check_embeddings(
    embeddings: embeddings_pb2.Embeddings, request: embeddings_pb2.EmbeddingRequest
) -> list[Violation]:
    """Returns every integrity violation of an embeddings reply."""
    found: list[Violation] = []
    problem = vector_problem(embeddings, request.dimensions if request.HasField("dimensions") else None)
    if problem is not None:
        found.append(Violation(Kind.SCHEMA, problem))
    usage = embeddings.usage
    counts = {"prompt_tokens": usage.prompt_tokens, "total_tokens": usage.total_tokens}
    wrong = [f"{name} {value}" for name, value in counts.items() if not 0 <= value <= TOKEN_CEILING]
    if wrong:
        found.append(Violation(Kind.USAGE_IMPOSSIBLE, "impossible " + ", ".join(wrong)))
    return found
