"""The guard's learned scores: a logistic regression over hashed n-grams, and one over the shared
static embedding read through sliding windows.

The hashed model knows the wording of the attacks it was trained on (it is the stronger of the two on
a family it has seen); the embedding model knows what an instruction to a model is about, which
carries better to attacks of an unseen source. An injection planted in a long document is one
sentence among many and disappears in the mean of the whole text, so the embedding model scores the
whole text and every window of `window` word pieces (every `stride` pieces) and keeps the highest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from switchyard.ml.embedder import StaticEmbedder

Array = npt.NDArray[np.float32]

# The embedding model reads this much of a text: a few thousand words, tokenized in about a millisecond.
EMBED_CHARS = 12_000
WINDOW = 24
STRIDE = 12


def embedding_views(rows: Array, window: int = WINDOW, stride: int = STRIDE) -> Array:
    """Returns the unit embeddings the model scores for a text's word-piece rows: the whole text first,
    then each window of `window` pieces every `stride` pieces (the last one flush with the end); a
    text of at most `window` pieces has the whole view only, and one without a known piece none."""
    count = rows.shape[0]
    if count == 0:
        return np.zeros((0, rows.shape[1]), dtype=np.float32)
    sums = [rows.sum(axis=0, keepdims=True)]
    if count > window:
        per_window = -(-window // stride)
        aligned = (count - window) // stride + 1
        if per_window * stride == window:
            # Sum stride-long blocks once, then each window from the blocks it spans: one pass over the rows.
            spanned = aligned + per_window - 1
            blocks = rows[: spanned * stride].reshape(spanned, stride, rows.shape[1]).sum(axis=1)
            windows = blocks[:aligned].copy()
            for first in range(1, per_window):
                windows += blocks[first : first + aligned]
            sums.append(windows)
        else:
            sums.extend(rows[s : s + window].sum(axis=0, keepdims=True) for s in range(0, aligned * stride, stride))
        if (count - window) % stride:
            sums.append(rows[count - window :].sum(axis=0, keepdims=True))
    views = np.vstack(sums)
    norms = np.linalg.norm(views, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (views / norms).astype(np.float32)


@dataclass(frozen=True)
class WindowedEmbeddingModel:
    """Logistic regression over one unit embedding: weights (dim,) and bias, scored over a text's views."""

    weights: Array
    bias: float
    window: int = WINDOW
    stride: int = STRIDE

    def logit(self, views: Array) -> float:
        """Returns the highest logit over the views (-inf without any)."""
        if views.shape[0] == 0:
            return float("-inf")
        return float((views @ self.weights).max()) + self.bias

    def probability(self, embedder: StaticEmbedder, text: str) -> float:
        """Returns the attack probability of text: the sigmoid of the highest logit over its views."""
        views = embedding_views(embedder.token_rows(text, EMBED_CHARS), self.window, self.stride)
        logit = self.logit(views)
        return 0.0 if logit == float("-inf") else float(1.0 / (1.0 + np.exp(-logit)))
