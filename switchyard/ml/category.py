"""The task-category model: what kind of work a request asks for, with a calibrated confidence.

One multinomial logistic regression (trained by `training/category.py`, stored as
`artifacts/category.npz`) reads the shared hashed n-grams (`features.hashed`), the shared static
sentence embedding (`switchyard.ml.embedder`, which the classifier computes once per request and
passes in) and the length and structure cues of the complexity model. Its scores are divided by a
temperature fitted on held-out sources, so that a confidence of 0.8 is right about 80 % of the time;
prompts that read as another language than English (`foreign`) get their own temperature, fitted on
held-out languages, and their top probability is capped at FOREIGN_CEILING, so the model is not
confidently wrong on them.

Two explainable rule overrides, whose effect on held-out sources the training script measures:

- a fenced code block (```) in the prompt means the request is about code;
- a message that is nothing but a greeting, thanks or farewell is chat.
"""

from __future__ import annotations

import io
import re
import threading
from importlib import resources
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from switchyard.ml.complexity import FOCUS_CHARS, dense_features
from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.features import hashed
from switchyard.ml.linear import ARTIFACTS

CATEGORIES: tuple[str, ...] = (
    "code",
    "math",
    "reasoning",
    "extraction",
    "summarization",
    "classification",
    "creative_writing",
    "roleplay",
    "knowledge",
    "chat",
)
OVERRIDE_CONFIDENCE = 0.9
"""The least confidence reported when a rule override decides the category."""
CLIP = 4.0
"""Standardised dense inputs are clipped to [-CLIP, CLIP]."""
FOREIGN_CEILING = 0.65
"""The highest probability reported for a prompt in another language than English: on languages held
out in training the model is right about 64 % of the time, and a few of its errors had confidence
above 0.7 before this ceiling."""

Hashed = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]

_FENCE = re.compile(r"^\s*```", re.MULTILINE)
_SMALL_TALK = re.compile(
    r"""^\W*(?:
        hi|hey+|hello|hiya|yo|howdy|greetings|sup|what'?s\s+up|good\s+(?:morning|afternoon|evening|night)|gm|gn
        |how\s+are\s+(?:you|u)(?:\s+(?:doing|today))?|how'?s\s+it\s+going
        |thanks?(?:\s+(?:you|u))?(?:\s+(?:so|very)\s+much)?|thx|ty|cheers|much\s+appreciated
        |bye|goodbye|see\s+(?:you|ya|u)(?:\s+later)?|later|ok(?:ay)?|cool|nice|lol|haha+
    )(?:[\s,!.?:)(-]+(?:there|again|everyone|all|friend|buddy|mate|:\)|😊|👋))*[\s\W]*$""",
    re.IGNORECASE | re.VERBOSE,
)


def override(text: str) -> str | None:
    """Returns the category a rule assigns to text, or None when no rule applies."""
    if _FENCE.search(text):
        return "code"
    if len(text) <= 60 and _SMALL_TALK.match(text):
        return "chat"
    return None


# A tiny language check: English function words against those of the languages users most often
# write in. Words that are common in both (in, is, a, to, was, no, per...) are in neither list.
_WORD = re.compile(r"[^\W\d_]+")
_ENGLISH = frozenset(
    [
        "the",
        "of",
        "and",
        "or",
        "for",
        "with",
        "what",
        "how",
        "why",
        "who",
        "which",
        "whose",
        "where",
        "when",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "you",
        "your",
        "my",
        "can",
        "could",
        "does",
        "please",
        "write",
        "from",
        "about",
        "give",
        "explain",
        "tell",
        "make",
        "if",
        "not",
        "have",
        "has",
        "had",
        "would",
        "should",
        "we",
        "they",
        "there",
        "their",
        "at",
        "by",
        "into",
        "some",
        "any",
        "than",
        "then",
        "been",
        "being",
        "our",
        "his",
        "her",
        "she",
        "he",
    ]
)
_OTHER = frozenset(
    [
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ein",
        "eine",
        "einen",
        "ich",
        "mit",
        "wie",
        "für",
        "auf",
        "dem",
        "sie",
        "zu",
        "von",
        "kann",
        "bitte",
        "warum",
        "wer",
        "le",
        "la",
        "les",
        "et",
        "est",
        "un",
        "une",
        "des",
        "du",
        "je",
        "que",
        "qui",
        "pour",
        "dans",
        "pas",
        "avec",
        "sur",
        "ce",
        "cette",
        "quel",
        "quelle",
        "comment",
        "pourquoi",
        "vous",
        "tu",
        "el",
        "los",
        "las",
        "es",
        "una",
        "del",
        "en",
        "con",
        "por",
        "para",
        "como",
        "qué",
        "cómo",
        "cuál",
        "quién",
        "este",
        "esta",
        "se",
        "lo",
        "al",
        "il",
        "gli",
        "è",
        "di",
        "che",
        "della",
        "cosa",
        "chi",
        "sono",
        "questo",
        "questa",
        "os",
        "é",
        "um",
        "uma",
        "da",
        "em",
        "na",
        "não",
        "você",
        "qual",
        "quem",
        "het",
        "een",
        "ik",
        "dat",
        "voor",
        "op",
        "hoe",
        "wat",
        "wie",
        "je",
        "się",
        "nie",
        "jest",
        "co",
        "jak",
        "kto",
        "czy",
        "dla",
        "że",
    ]
)
_LETTER = re.compile(r"[^\W\d_]")
_NON_LATIN = re.compile(r"[^\W\d_\x00-\u024f]")
_SCAN = 600


def foreign(text: str) -> bool:
    """Whether text reads as another language than English: mostly non-Latin letters, or more
    function words of another language than of English."""
    head = text[:_SCAN]
    if not head.isascii():
        non_latin = len(_NON_LATIN.findall(head))
        if non_latin and non_latin > 0.3 * len(_LETTER.findall(head)):
            return True
    words = _WORD.findall(head.lower())
    other = sum(w in _OTHER for w in words)
    return other > 0 and other > sum(w in _ENGLISH for w in words)


def dense_input(text: str, embedding: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Returns the raw dense inputs of text: its embedding (of text[:FOCUS_CHARS]) and its shape cues."""
    return np.concatenate([embedding.astype(np.float32), dense_features(text)])


class CategoryModel:
    """Predicts a request's task category from its text; `load()` reads the packaged artifact once."""

    _shared: ClassVar[CategoryModel | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        *,
        weights: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
        dense_weights: npt.NDArray[np.float32],
        dense_mean: npt.NDArray[np.float32],
        dense_scale: npt.NDArray[np.float32],
        temperature: tuple[float, float] = (1.0, 1.0),
        classes: tuple[str, ...] = CATEGORIES,
    ) -> None:
        if classes != CATEGORIES:
            raise ValueError(f"category artifact has classes {classes}, expected {CATEGORIES}")
        self._weights = weights
        self._bias = bias
        self._dense_weights = dense_weights
        self._dense_mean = dense_mean
        self._dense_scale = dense_scale
        self._temperature, self._foreign_temperature = temperature

    @classmethod
    def load(cls) -> CategoryModel:
        """Returns the process-wide model read from the packaged `category.npz` (read on first call only)."""
        if cls._shared is None:
            with cls._lock:
                if cls._shared is None:
                    raw = resources.files(ARTIFACTS).joinpath("category.npz").read_bytes()
                    cls._shared = cls.from_bytes(raw)
        return cls._shared

    @classmethod
    def from_bytes(cls, raw: bytes) -> CategoryModel:
        """Returns the model stored in the bytes of a category .npz artifact."""
        with np.load(io.BytesIO(raw)) as data:
            temperature = data["temperature"].astype(np.float64)
            return cls(
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                dense_weights=data["dense_weights"].astype(np.float32),
                dense_mean=data["dense_mean"].astype(np.float32),
                dense_scale=data["dense_scale"].astype(np.float32),
                temperature=(float(temperature[0]), float(temperature[1])),
                classes=tuple(str(c) for c in data["classes"]),
            )

    def probabilities(
        self, text: str, features: Hashed | None = None, embedding: npt.NDArray[np.float32] | None = None
    ) -> dict[str, float]:
        """Returns the model's calibrated probability for every category (no overrides applied).

        `features` may pass `hashed(text)` and `embedding` the shared embedder's vector of
        `text[:FOCUS_CHARS]` when the caller has already computed them for another model.
        """
        return dict(zip(CATEGORIES, self._softmax(text, features, embedding).tolist(), strict=True))

    def predict(
        self, text: str, features: Hashed | None = None, embedding: npt.NDArray[np.float32] | None = None
    ) -> tuple[str, float]:
        """Returns (category, confidence in (0, 1]) for text, rule overrides included.

        The confidence is the calibrated probability of the category: low when the model is unsure,
        as it often is on prompts in other languages. `features` and `embedding` are as in
        `probabilities`.
        """
        probs = self._softmax(text, features, embedding)
        forced = override(text)
        if forced is not None:
            return forced, max(OVERRIDE_CONFIDENCE, float(probs[CATEGORIES.index(forced)]))
        best = int(np.argmax(probs))
        return CATEGORIES[best], float(probs[best])

    def _softmax(
        self, text: str, features: Hashed | None, embedding: npt.NDArray[np.float32] | None
    ) -> npt.NDArray[np.float32]:
        """Returns the temperature-scaled softmax class probabilities of text."""
        indices, values = features if features is not None else hashed(text)
        if embedding is None:
            embedding = StaticEmbedder.load().embed_one(text[:FOCUS_CHARS])
        dense = np.clip((dense_input(text, embedding) - self._dense_mean) / self._dense_scale, -CLIP, CLIP)
        raw = values @ self._weights[indices] + dense @ self._dense_weights + self._bias
        other_language = foreign(text)
        raw = raw / (self._foreign_temperature if other_language else self._temperature)
        shifted = np.exp(raw - raw.max())
        probs = shifted / shifted.sum()
        top = float(probs.max())
        if other_language and top > FOREIGN_CEILING:
            # Mixed with the uniform distribution so that the top probability is FOREIGN_CEILING.
            share = (FOREIGN_CEILING - 1.0 / len(probs)) / (top - 1.0 / len(probs))
            probs = share * probs + (1.0 - share) / len(probs)
        return probs.astype(np.float32)
