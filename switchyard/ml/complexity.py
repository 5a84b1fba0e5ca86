"""Learned complexity: the probability that the cheap model answers as well as the strong one.

The model is logistic regression over the shared hashed text features (`features.hashed`), the
shared static embedding of the prompt (`switchyard.ml.embedder`) and a few dense, subject-free cues
of length and structure (`dense_features`). It was trained by `training/complexity.py` on per-prompt
results of a cheap (Mixtral-8x7B) and a strong (GPT-4) model, on MMLU and on Chatbot Arena prompts
graded by a GPT-4 judge, labelled "cheap is as good" = 1 - the strong model's gain. The artifact is
`complexity.npz` (weights) plus `complexity.json` (feature scaling, strong-share thresholds,
evaluation figures).

What was learned on MMLU holds on multiple-choice questions only: on open prompts (chat, word
problems, code) the text model did no better than prompt length on the held-out sets. So a prompt
that is not a multiple-choice question (`multiple_choice`) is scored by the open-ended part: prompt
length, a linear "difficulty" of the dense cues, learned within each task of open models' results
(which prompt of a task is hard), and the probability that the prompt asks for maths, code or
reasoning (which kind of prompt it is: where a cheap model loses most), and the difficulty heads of
the tasks the prompt resembles (which word problem, which coding exercise is hard: each kind has its
own), rescaled to the spread of log-odds the chat prompts had under the text model, so that one
threshold table serves both.

Routing rule: send a request to the strong model when p_cheap_ok < threshold; `threshold_for_share`
gives the threshold that sent the given share of held-out requests to the strong model.
"""

from __future__ import annotations

import enum
import io
import json
import math
import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.linear import ARTIFACTS, LinearModel


class Tier(enum.Enum):
    """The complexity tier of a request."""

    SIMPLE = "simple"
    COMPLEX = "complex"


@dataclass(frozen=True, slots=True)
class Complexity:
    """The cost-quality signal: score in [0, 1] (higher is harder) and how it was obtained."""

    tier: Tier
    score: float
    p_cheap_ok: float
    method: str


NAME = "complexity"
METHOD = "learned"
# The model reads the first this many characters of the text it is given (the request's focus).
FOCUS_CHARS = 2000
DEFAULT_STRONG_SHARE = 0.5
_CLIP = 4.0
_SCAN_CHARS = 20_000

DENSE_FEATURES = (
    "log_chars",
    "log_words",
    "log_lines",
    "digit_frac",
    "math_frac",
    "upper_frac",
    "punct_frac",
    "mean_word_len",
    "long_word_frac",
    "log_numbers",
    "log_questions",
    "code",
)
# A multiple-choice question: at least three lines that start with an option letter ("A. ...", "(b) ...").
_OPTION = re.compile(r"^[ \t]*\(?[A-Da-d][.):][ \t]*\S", re.MULTILINE)
_MIN_OPTIONS = 3
_MATH_CHARS = "=+*/^<>%\\∫∑√≤≥≠±\u00d7÷πθλμσΔ∞"
_CODE_MARKS = ("```", "def ", "#include", "function ", "return ", ";\n", "{\n", "=>", "();")
# Character classes of code points below 1024 (beyond that, every character counts as a letter).
_DIGIT, _UPPER, _LETTER, _PUNCT, _MATH = 1, 2, 4, 8, 16
_TABLE_SIZE = 1024


def _class_table() -> npt.NDArray[np.uint8]:
    """Returns the character-class bit flags of the first 1,024 code points."""
    table = np.zeros(_TABLE_SIZE, dtype=np.uint8)
    for point in range(_TABLE_SIZE):
        char = chr(point)
        flags = 0
        if "0" <= char <= "9":
            flags |= _DIGIT
        if char.isalpha():
            flags |= _LETTER | (_UPPER if char.isupper() else 0)
        if not char.isalnum() and not char.isspace() and char != "_" and point >= 33:
            flags |= _PUNCT
        if char in _MATH_CHARS:
            flags |= _MATH
        table[point] = flags
    return table


_CLASSES = _class_table()
_HIGH_MATH = np.array([ord(c) for c in _MATH_CHARS if ord(c) >= _TABLE_SIZE], dtype=np.uint32)


@lru_cache(maxsize=16)
def dense_features(text: str) -> npt.NDArray[np.float32]:
    """Returns the raw (unscaled) length and structure cues of text, in DENSE_FEATURES order; callers
    must not modify it.

    Words are runs of letters, numbers runs of ASCII digits. Only the first 20,000 characters are
    scanned, except for the character count itself. The last few results are remembered: the
    complexity and category models of one request read the same text.
    """
    head = text[:_SCAN_CHARS]
    chars = max(len(head), 1)
    points = np.frombuffer(head.encode("utf-32-le"), dtype=np.uint32)
    high = points >= _TABLE_SIZE
    flags = _CLASSES[np.minimum(points, _TABLE_SIZE - 1)]
    flags[high] = _LETTER
    if _HIGH_MATH.size and high.any():
        flags[high & np.isin(points, _HIGH_MATH)] = _PUNCT | _MATH
    letter = np.concatenate(([False], (flags & _LETTER) > 0, [False]))
    edges = np.flatnonzero(letter[1:] != letter[:-1])
    word_lengths = edges[1::2] - edges[::2]
    n_words = int(word_lengths.shape[0])
    digit = (flags & _DIGIT) > 0
    numbers = int(np.count_nonzero(digit[1:] & ~digit[:-1])) + int(digit[:1].sum())
    cues = np.array(
        [
            math.log1p(len(text)),
            math.log1p(n_words),
            math.log1p(head.count("\n")),
            int(np.count_nonzero(digit)) / chars,
            int(np.count_nonzero(flags & _MATH)) / chars,
            int(np.count_nonzero(flags & _UPPER)) / chars,
            int(np.count_nonzero(flags & _PUNCT)) / chars,
            float(word_lengths.mean()) if n_words else 0.0,
            int(np.count_nonzero(word_lengths >= 9)) / n_words if n_words else 0.0,
            math.log1p(numbers),
            math.log1p(head.count("?")),
            1.0 if any(mark in head for mark in _CODE_MARKS) else 0.0,
        ],
        dtype=np.float32,
    )
    cues.flags.writeable = False
    return cues


def multiple_choice(text: str) -> bool:
    """Returns whether text reads as a multiple-choice question (three or more lettered option lines)."""
    return any(found >= _MIN_OPTIONS for found, _ in enumerate(_OPTION.finditer(text[:FOCUS_CHARS]), start=1))


@dataclass(frozen=True)
class ComplexityModel:
    """The trained cost-quality model: hashed-text weights, scaled dense weights and thresholds.

    shares and thresholds are increasing arrays of the same length: sending requests with
    p_cheap_ok < thresholds[i] to the strong model sent shares[i] of held-out requests there.
    """

    text: LinearModel
    dense_weights: npt.NDArray[np.float32]
    dense_mean: npt.NDArray[np.float32]
    dense_scale: npt.NDArray[np.float32]
    shares: npt.NDArray[np.float64]
    thresholds: npt.NDArray[np.float64]
    meta: dict[str, Any]
    # The open-ended part's difficulty weights over the scaled dense cues (none: one model for all).
    open_weights: npt.NDArray[np.float32] | None = None
    # The open-ended part's maths, code or reasoning ask: weights over the embedding (none: not used).
    ask_weights: npt.NDArray[np.float32] | None = None
    # The open-ended part's domain heads: each task's centroid (unit embedding) and difficulty weights
    # over the scaled features (none: not used); their gates and biases are in meta["open_ended"].
    domain_centroids: npt.NDArray[np.float32] | None = None
    domain_weights: npt.NDArray[np.float32] | None = None

    @classmethod
    def load(cls, directory: Path | None = None) -> ComplexityModel:
        """Returns the packaged model (read once per process), or the one stored in directory."""
        if directory is None:
            return _packaged()
        return cls._read((directory / f"{NAME}.npz").read_bytes(), (directory / f"{NAME}.json").read_text())

    @classmethod
    def _read(cls, npz: bytes, meta_text: str) -> ComplexityModel:
        """Returns the model built from the bytes of the .npz and the text of the .json artifact."""
        with np.load(io.BytesIO(npz)) as data:
            text = LinearModel(
                data["weights"].astype(np.float32),
                data["bias"].astype(np.float32),
                tuple(str(c) for c in data["classes"]),
            )
            dense_weights = data["dense_weights"].astype(np.float32)
            ask_weights = data["ask_weights"].astype(np.float32) if "ask_weights" in data else None
            centroids = data["domain_centroids"].astype(np.float32) if "domain_centroids" in data else None
            heads = data["domain_weights"].astype(np.float32) if "domain_weights" in data else None
        meta: dict[str, Any] = json.loads(meta_text)
        table = meta["thresholds"]
        shares = np.array([row["strong_share"] for row in table], dtype=np.float64)
        thresholds = np.maximum.accumulate(np.array([row["threshold"] for row in table], dtype=np.float64))
        open_ended = meta.get("open_ended")
        return cls(
            text=text,
            dense_weights=dense_weights,
            dense_mean=np.array(meta["dense_mean"], dtype=np.float32),
            dense_scale=np.array(meta["dense_scale"], dtype=np.float32),
            shares=shares,
            thresholds=thresholds,
            meta=meta,
            open_weights=None if open_ended is None else np.array(open_ended["weights"], dtype=np.float32),
            ask_weights=ask_weights,
            domain_centroids=centroids,
            domain_weights=heads,
        )

    def logit(self, text: str, embedding: npt.NDArray[np.float32] | None = None) -> float:
        """Returns the log-odds that the cheap model answers text as well as the strong one.

        embedding is the shared embedder's vector of text[:FOCUS_CHARS] when the caller has it (the
        classifier computes it once per request); else it is computed here.
        """
        focus = text[:FOCUS_CHARS]
        if embedding is None:
            embedding = StaticEmbedder.load().embed_one(focus)
        cues = dense_features(text)
        raw = np.concatenate([embedding, cues])
        dense = np.clip((raw - self.dense_mean) / self.dense_scale, -_CLIP, _CLIP)
        # Prompt length, the one signal that held up on every held-out task, is blended in as trained.
        blend = self.meta.get("length_blend") or {"weight": 0.0, "mean": 0.0, "scale": 1.0}
        words = (float(cues[DENSE_FEATURES.index("log_words")]) - blend["mean"]) / blend["scale"]
        if self.open_weights is None or multiple_choice(focus):
            return float(self.text.scores(focus)[0] + dense @ self.dense_weights) - blend["weight"] * words
        part = self.meta["open_ended"]
        harder = float(dense[-len(DENSE_FEATURES) :] @ self.open_weights)
        learned = 0.0
        if part["gate"]:
            learned = part["gate"] * float(self.text.scores(focus)[0] + dense @ self.dense_weights)
        raw = (
            learned
            - part["difficulty"] * harder
            - part["length"] * words
            - part.get("ask", 0.0) * self.asks(embedding)
            - part.get("domain", 0.0) * self.domain_difficulty(embedding, dense)
        )
        return part["scale"] * raw + part["bias"]

    def domain_difficulty(self, embedding: npt.NDArray[np.float32], dense: npt.NDArray[np.float32]) -> float:
        """Returns how hard the prompt is among prompts of its kind, by the difficulty heads of the tasks
        it resembles (0 when it resembles none, or the artifact has no heads).

        A head ranks the prompts of one task (grade-school word problems, coding exercises, ...) by how
        many open models failed them, with unit spread on that task; what makes one kind hard is not what
        makes another hard. Its gate rises from 0 to 1 as the embedding nears the task's centroid, and the
        result is the gated mean of the heads (dense: the scaled embedding and cues).
        """
        if self.domain_centroids is None or self.domain_weights is None:
            return 0.0
        low, high, bias = self._domain_gates
        gates = np.clip((self.domain_centroids @ embedding - low) / (high - low), 0.0, 1.0)
        total = float(gates.sum())
        if total == 0.0:
            return 0.0
        return float(gates @ (self.domain_weights @ dense + bias)) / max(total, 1.0)

    @cached_property
    def _domain_gates(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Returns the domain heads' (gate low, gate high, head bias) arrays, read once from meta."""
        domains = self.meta["open_ended"]["domains"]
        low, high, bias = (np.asarray(domains[key], dtype=np.float32) for key in ("low", "high", "bias"))
        return low, high, bias

    def asks(self, embedding: npt.NDArray[np.float32]) -> float:
        """Returns the probability that the prompt of this embedding asks for maths, code or reasoning.

        Open prompts differ most by kind: a cheap model loses its answers to maths, code and reasoning
        asks far more often than to writing, extraction or knowledge questions (0 when the artifact has
        no ask).
        """
        if self.ask_weights is None:
            return 0.0
        z = min(max(float(embedding @ self.ask_weights) + self.meta["open_ended"]["ask_bias"], -30.0), 30.0)
        return 1.0 / (1.0 + math.exp(-z))

    def predict(self, text: str, embedding: npt.NDArray[np.float32] | None = None) -> float:
        """Returns p_cheap_ok in [0, 1]: the probability that the cheap model is as good on text."""
        z = min(max(self.logit(text, embedding), -30.0), 30.0)
        return 1.0 / (1.0 + math.exp(-z))

    def threshold_for_share(self, strong_share: float) -> float:
        """Returns the p_cheap_ok threshold that sends about strong_share of requests to strong.

        Route strong when p_cheap_ok < threshold. The table was measured on held-out MMLU subjects
        and is interpolated linearly; it is non-decreasing in strong_share (0 gives 0.0, 1 gives
        1.0). Real traffic differs from MMLU, so the achieved share should be watched.
        """
        share = min(max(strong_share, 0.0), 1.0)
        return float(np.interp(share, self.shares, self.thresholds))

    @property
    def default_threshold(self) -> float:
        """Returns the threshold used for the tier: the one for DEFAULT_STRONG_SHARE strong calls."""
        return self.threshold_for_share(float(self.meta.get("default_strong_share", DEFAULT_STRONG_SHARE)))

    def complexity(self, text: str, embedding: npt.NDArray[np.float32] | None = None) -> Complexity:
        """Returns the domain Complexity of text (method "learned", score = 1 - p_cheap_ok)."""
        return complexity_from_p(self.predict(text, embedding), self.default_threshold)


def complexity_from_p(p_cheap_ok: float, threshold: float) -> Complexity:
    """Returns the Complexity for p_cheap_ok: COMPLEX when it is below threshold, else SIMPLE."""
    tier = Tier.COMPLEX if p_cheap_ok < threshold else Tier.SIMPLE
    return Complexity(tier=tier, score=1.0 - p_cheap_ok, p_cheap_ok=p_cheap_ok, method=METHOD)


@cache
def _packaged() -> ComplexityModel:
    """Returns the model from the packaged artifacts, loaded on first use."""
    root = resources.files(ARTIFACTS)
    return ComplexityModel._read(root.joinpath(f"{NAME}.npz").read_bytes(), root.joinpath(f"{NAME}.json").read_text())
