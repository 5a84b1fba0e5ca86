"""The analysis core: turns a prompt into the classifier's answer, with no gRPC in sight."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

from switchyard.ml.artifacts import version
from switchyard.ml.category import CategoryModel
from switchyard.ml.complexity import FOCUS_CHARS, ComplexityModel
from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.injection import InjectionGuard
from switchyard.services.classifier import sensitivity
from switchyard.services.classifier.domain import Analysis, Finding, Injection, Prompt
from switchyard.services.classifier.features.length import length_complexity
from switchyard.services.classifier.features.tokens import TokenEstimator

# The guard reads the last few user and tool turns: where a new instruction can enter the conversation.
# It also reads the standing texts: the tools' descriptions and passthrough text such as a predicted
# output (always), and the system turns when the analyzer is told that users can write there. Those
# repeat on every call of a conversation, so their verdicts are remembered.
_GUARDED_ROLES = ("user", "tool")
_GUARDED_TURNS = 4
_REMEMBERED_VERDICTS = 512
# Models read at most this much of a turn: its head and its tail, where instructions and attacks sit.
# A multi-megabyte document is counted in full but not scanned in full, which would cost seconds.
_HEAD_CHARS = 48_000
_TAIL_CHARS = 16_000

log = logging.getLogger(__name__)


@functools.cache
def token_factors() -> tuple[tuple[str, float], ...]:
    """Returns (family, factor) pairs that scale an exact cl100k count to other tokenizer families."""
    text = resources.files("switchyard.ml.artifacts").joinpath("token_factors.json").read_text()
    return tuple(sorted(json.loads(text)["factors"].items()))


def _windows(text: str) -> list[tuple[int, str]]:
    """Returns (offset, slice) pieces of text the models read: all of it, or its head and tail."""
    if len(text) <= _HEAD_CHARS + _TAIL_CHARS:
        return [(0, text)]
    tail_start = len(text) - _TAIL_CHARS
    return [(0, text[:_HEAD_CHARS]), (tail_start, text[tail_start:])]


@dataclass(frozen=True)
class Models:
    """The trained models an analyzer uses; a missing one falls back to the length-based default."""

    category: CategoryModel | None = None
    complexity: ComplexityModel | None = None
    guard: InjectionGuard | None = None
    sensitivity: bool = True
    embedder: StaticEmbedder | None = None

    def versions(self) -> tuple[tuple[str, str], ...]:
        """Returns (model, version) for each trained model in use: the hash of its artifact files."""
        found = [("tokens", version("token_factors.json"))]
        if self.category is not None:
            found.append(("category", version("category.npz")))
        if self.complexity is not None:
            found.append(("complexity", version("complexity.npz", "complexity.json")))
        if self.guard is not None:
            found.append(("injection", version("injection.npz", "injection.json")))
        return tuple(found)

    @classmethod
    def load(cls) -> Models:
        """Returns every packaged model, each loaded once."""
        return cls(
            CategoryModel.load(),
            ComplexityModel.load(),
            InjectionGuard.load(),
            embedder=StaticEmbedder.load(),
        )


class Analyzer:
    """Analyses prompts: tokens, category, complexity, sensitive data and injection attempts."""

    def __init__(
        self,
        estimator: TokenEstimator,
        midpoint_tokens: int = 1000,
        models: Models | None = None,
        *,
        guard_system: bool = False,
    ) -> None:
        self._estimator = estimator
        self._midpoint_tokens = midpoint_tokens
        self._models = models or Models(sensitivity=False)
        self._versions = self._models.versions()
        self._guard_system = guard_system
        guard = self._models.guard
        self._standing_check = functools.lru_cache(maxsize=_REMEMBERED_VERDICTS)(guard.check) if guard else None

    def analyze(self, prompt: Prompt) -> Analysis:
        """Returns the analysis of prompt; CPU-bound, safe to run in a worker thread."""
        tokens = self._estimator.count(prompt)
        models = self._models
        # The guard first: the embedder remembers its word pieces of the last user turn, and the focus
        # embedding below reuses them.
        injection = self._injection(prompt)
        # Category and complexity describe the task: what the user asks for last.
        focus = prompt.last("user") or "\n".join(turn.text for turn in prompt.turns)
        focus = focus[:_HEAD_CHARS]
        # One embedding of the focus, shared by the models that read it (tens of microseconds).
        vector = models.embedder.embed_one(focus[:FOCUS_CHARS]) if models.embedder is not None and focus else None
        complexity = (
            models.complexity.complexity(focus, vector)
            if models.complexity is not None and focus
            else length_complexity(tokens, self._midpoint_tokens)
        )
        category, confidence = (
            models.category.predict(focus, embedding=vector) if models.category and focus else ("", 0.0)
        )
        findings = self._findings(prompt) if models.sensitivity else ()
        return Analysis(
            prompt_tokens=tokens,
            tokenizer=self._estimator.name,
            complexity=complexity,
            category=category,
            category_confidence=confidence,
            data_classification=sensitivity.classify(findings) if models.sensitivity else "",
            findings=findings,
            injection=injection,
            tokens_by_family=tuple((family, round(tokens * factor)) for family, factor in token_factors()),
            model_versions=self._versions,
        )

    @property
    def embeds(self) -> bool:
        """Whether embed returns embeddings (False when the model is missing or turned off)."""
        return self._models.embedder is not None

    def embed(self, text: str) -> npt.NDArray[np.float32]:
        """Returns the unit-length embedding of text (tens of microseconds), or an empty vector without an
        embedder or text."""
        embedder = self._models.embedder
        if embedder is None or not text:
            return np.zeros(0, dtype=np.float32)
        return embedder.embed_one(text)

    def _findings(self, prompt: Prompt) -> tuple[Finding, ...]:
        return tuple(
            Finding(found.type, turn.index, offset + found.start, offset + found.end)
            for turn in prompt.turns
            for offset, piece in _windows(turn.text)
            for found in sensitivity.scan(piece)
        )

    def _injection(self, prompt: Prompt) -> Injection | None:
        """Returns the strongest verdict over the guarded turns and standing texts, or None without a guard."""
        guard = self._models.guard
        if guard is None:
            return None
        guarded = [turn for turn in prompt.turns if turn.role in _GUARDED_ROLES][-_GUARDED_TURNS:]
        # A tool result, a tool's description and a predicted output are documents as a whole: an instruction
        # anywhere in them was planted there, where a user turn's own requests are the user's.
        verdicts = [
            guard.check(piece, document=turn.role == "tool") for turn in guarded for _, piece in _windows(turn.text)
        ]
        standing = [(turn, False) for turn in prompt.turns if self._guard_system and turn.role == "system"]
        standing += [(turn, True) for turn in prompt.supplements]
        if standing and self._standing_check is not None:
            verdicts += [
                self._standing_check(piece, document=document)
                for turn, document in standing
                for _, piece in _windows(turn.text)
            ]
        if not verdicts:
            return Injection(detected=False, score=0.0)
        worst = max(verdicts, key=lambda verdict: (verdict.detected, verdict.score))
        return Injection(worst.detected, worst.score, worst.kind, worst.signals)
