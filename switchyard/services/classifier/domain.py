"""The classifier's domain: a prompt reduced to what the analysis needs, and the analysis itself."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from switchyard.ml.complexity import Complexity


class ImageDetail(enum.Enum):
    """How an image is sent; the detail decides what it costs in tokens."""

    LOW = "low"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class JsonDocument:
    """A structured part of the prompt (a tool definition, a response schema) counted as JSON.

    fingerprint identifies the document (equal fingerprints mean equal JSON), so its count can be
    remembered; render returns the JSON text and is only called when the count is not known yet.
    """

    fingerprint: bytes
    render: Callable[[], str]


@dataclass(frozen=True, slots=True)
class Turn:
    """The readable text of one message: its index in the request, its role and its words."""

    index: int
    role: str
    text: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """Everything in a chat request that the model reads as input.

    texts holds every piece of text the model reads (contents, names, tool call arguments, ids);
    messages and named_messages drive OpenAI's per-message overhead; chars is the total length of
    texts, used to decide whether counting is worth moving off the event loop. supplements are the
    texts the model reads outside the messages that a client (or a third party behind it) can write
    instructions into: the tools' descriptions, as one turn with role "tool_definition", and passthrough
    fields such as OpenAI's predicted output (role "prediction"); their index is -1.
    """

    texts: tuple[str, ...]
    messages: int
    named_messages: int = 0
    images: tuple[ImageDetail, ...] = ()
    documents: tuple[JsonDocument, ...] = ()
    chars: int = 0
    turns: tuple[Turn, ...] = ()
    supplements: tuple[Turn, ...] = ()

    def last(self, *roles: str) -> str:
        """Returns the text of the last turn with one of roles, or "" when there is none."""
        return next((turn.text for turn in reversed(self.turns) if turn.role in roles), "")


@dataclass(frozen=True, slots=True)
class Finding:
    """A sensitive span: its type (e.g. "email", "payment_card") and where it is."""

    type: str
    message_index: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Injection:
    """The prompt-injection guard's verdict and the signals that fired."""

    detected: bool
    score: float
    kind: str = ""
    signals: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the classifier knows of a request."""

    prompt_tokens: int
    tokenizer: str
    complexity: Complexity
    category: str = ""
    category_confidence: float = 0.0
    # data_classification is "public", "internal", "confidential" or "restricted"; "" when not scanned.
    data_classification: str = ""
    findings: tuple[Finding, ...] = ()
    injection: Injection | None = None
    # tokens_by_family estimates the prompt for other tokenizer families (see token_factors.json).
    tokens_by_family: tuple[tuple[str, int], ...] = ()
    # model_versions names the version of each trained model the analysis used (switchyard.ml.artifacts).
    model_versions: tuple[tuple[str, str], ...] = ()
