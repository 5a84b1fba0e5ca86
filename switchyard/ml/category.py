"""The task-category model: what kind of work a request asks for, with a confidence.

A multinomial logistic regression over the shared hashed features (trained by
`training/category.py`, stored as `artifacts/category.npz`), plus two explainable rule overrides
whose effect on held-out sources the training script measures:

- a fenced code block (```) in the prompt means the request is about code;
- a message that is nothing but a greeting, thanks or farewell is chat.
"""

from __future__ import annotations

import re
import threading
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from switchyard.ml.features import hashed
from switchyard.ml.linear import LinearModel

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


class CategoryModel:
    """Predicts a request's task category from its text; `load()` reads the packaged artifact once."""

    _shared: ClassVar[CategoryModel | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model: LinearModel) -> None:
        if model.classes != CATEGORIES:
            raise ValueError(f"category artifact has classes {model.classes}, expected {CATEGORIES}")
        self._model = model

    @classmethod
    def load(cls) -> CategoryModel:
        """Returns the process-wide model read from the packaged `category.npz` (read on first call only)."""
        if cls._shared is None:
            with cls._lock:
                if cls._shared is None:
                    cls._shared = cls(LinearModel.load("category"))
        return cls._shared

    def probabilities(
        self, text: str, features: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None = None
    ) -> dict[str, float]:
        """Returns the model's probability for every category (no overrides applied).

        `features` may pass `hashed(text)` when the caller has already computed it for another model.
        """
        return dict(zip(CATEGORIES, self._softmax(text, features).tolist(), strict=True))

    def predict(
        self, text: str, features: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None = None
    ) -> tuple[str, float]:
        """Returns (category, confidence in (0, 1]) for text, rule overrides included.

        `features` may pass `hashed(text)` when the caller has already computed it for another model.
        """
        probs = self._softmax(text, features)
        forced = override(text)
        if forced is not None:
            return forced, max(OVERRIDE_CONFIDENCE, float(probs[CATEGORIES.index(forced)]))
        best = int(np.argmax(probs))
        return CATEGORIES[best], float(probs[best])

    def _softmax(
        self, text: str, features: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None
    ) -> npt.NDArray[np.float32]:
        """Returns the softmax class probabilities of text (uniform for text without features)."""
        indices, values = features if features is not None else hashed(text, self._model.weights.shape[0])
        raw = values @ self._model.weights[indices] + self._model.bias
        shifted = np.exp(raw - raw.max())
        return (shifted / shifted.sum()).astype(np.float32)
