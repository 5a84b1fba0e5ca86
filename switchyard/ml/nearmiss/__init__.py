"""The semantic cache's near-miss guard: does a cached question really ask what the new one asks?

Embedding similarity alone cannot tell "What is the capital of France?" from "... of Germany?", or
"Alice sued Bob" from "Bob sued Alice": such pairs sit closer than many true paraphrases. The guard
is a trained pair classifier (artifact `artifacts/nearmiss.json`, built by `training/nearmiss.py`):
gradient-boosted trees over a logistic score of the two embeddings and token-alignment features
(word, bigram and trigram overlap, longest common subsequence, word-order inversions, displaced and
exchanged words, role swaps around a shared word, shared words moved into another preposition's
phrase, content words matched by their word vectors, question words, mismatches of numbers, units,
named entities and negation). Hard rules veto on top of the model (different numbers or units,
different negation, one named entity put in place of another, questions that open with two different
ones of who, when, where and why): a cache that answers for the wrong number is wrong however alike
the two sentences read.

The pair's features and the veto rules live in `features`; this package holds the trained model and
the guard that applies it.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.nearmiss.features import (
    PairFeatures,
    Vector,
    WordVector,
    early_veto,
    identifiers,
    pair_features,
    renamed,
)

ARTIFACTS = "switchyard.ml.artifacts"
ARTIFACT = "nearmiss.json"
# Words whose vectors the guard remembers (a word piece row each: 1 KB).
WORD_CACHE = 8192


@dataclass(frozen=True)
class PairVerdict:
    """Whether a cached candidate answers the query, how likely that is, and a short reason."""

    same: bool  # the candidate answers the query
    probability: float  # P(same meaning)
    reason: str  # e.g. "paraphrase", "numbers differ: 3 vs 4", "negation differs", "roles swapped"


@dataclass(frozen=True)
class _Linear:
    """A standardised linear score (a logistic regression's logit): ((x - mean) / scale) · weights + bias."""

    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    bias: float

    @classmethod
    def of(cls, data: dict[str, Any]) -> _Linear:
        return cls(
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["weights"], dtype=np.float64),
            float(data["bias"]),
        )

    def score(self, x: npt.NDArray[np.float64]) -> float:
        return float(((x - self.mean) / self.scale) @ self.weights) + self.bias


@dataclass(frozen=True)
class _Trees:
    """Gradient-boosted regression trees in flat arrays; every tree is walked at once, one level per step.

    Node i splits on feature[i] at threshold[i] (x <= threshold goes left) unless leaf[i]; the raw
    score is baseline plus the value of the leaf each tree ends in.
    """

    baseline: float
    roots: npt.NDArray[np.intp]
    feature: npt.NDArray[np.intp]
    threshold: npt.NDArray[np.float64]
    left: npt.NDArray[np.intp]
    right: npt.NDArray[np.intp]
    leaf: npt.NDArray[np.bool_]
    value: npt.NDArray[np.float64]
    depth: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> _Trees:
        return cls(
            float(data["baseline"]),
            np.asarray(data["roots"], dtype=np.intp),
            np.asarray(data["feature"], dtype=np.intp),
            np.asarray(data["threshold"], dtype=np.float64),
            np.asarray(data["left"], dtype=np.intp),
            np.asarray(data["right"], dtype=np.intp),
            np.asarray(data["leaf"], dtype=bool),
            np.asarray(data["value"], dtype=np.float64),
            int(data["depth"]),
        )

    def raw(self, x: npt.NDArray[np.float64]) -> float:
        node = self.roots
        for _ in range(self.depth):
            at_leaf = self.leaf[node]
            if at_leaf.all():
                break
            step = np.where(x[self.feature[node]] <= self.threshold[node], self.left[node], self.right[node])
            node = np.where(at_leaf, node, step)
        return self.baseline + float(self.value[node].sum())


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


class NearMissGuard:
    """Checks a semantic-cache candidate against the query: the same question, or a near miss.

    The model: a logistic regression scores the two embeddings (|a - b|, a ⊙ b), and gradient-boosted
    trees, monotone in the features whose direction is known, combine that score with the pair's
    alignment and mismatch features into P(same).
    """

    def __init__(
        self,
        embedding: _Linear,
        trees: _Trees,
        threshold: float,
        similarity_floor: float,
        *,
        word_vector: WordVector | None = None,
        short: tuple[int, float] | None = None,
    ) -> None:
        self._embedding = embedding
        # word_vector embeds single words (the shared embedder's), for the substitution feature; the same
        # words come back request after request, so their vectors are remembered.
        self._word_vector = functools.lru_cache(maxsize=WORD_CACHE)(word_vector) if word_vector else None
        self._trees = trees
        # threshold is the default operating point: the least P(same) at which a candidate is served.
        self.threshold = threshold
        # short: (words, threshold) for pairs whose longer side has at most that many words. A short chat
        # question and a long sentence risk different mistakes (a long one hides a swapped clause better),
        # so each length band has the operating point its own training pairs call for.
        self.short = short
        # similarity_floor is the cosine below which a candidate is never considered (the first stage).
        self.similarity_floor = similarity_floor

    @classmethod
    def load(cls, path: Path | None = None, word_vector: WordVector | None = None) -> NearMissGuard:
        """Returns the guard stored in the committed artifact (or at path); word_vector is the embedder's
        embed_one, the one the guard was trained with (switchyard.ml.embedder)."""
        source = path or resources.files(ARTIFACTS).joinpath(ARTIFACT)
        data = json.loads(source.read_text(encoding="utf-8"))
        if tuple(data["features"]) != PairFeatures.NAMES:
            raise ValueError(f"{ARTIFACT} was trained on other features: rerun training/nearmiss.py")
        trees = _Trees.of(data["trees"])
        short = data.get("short_band")
        return cls(
            _Linear.of(data["embedding_score"]),
            trees,
            float(data["threshold"]),
            float(data["similarity_floor"]),
            word_vector=word_vector,
            short=(int(short["words"]), float(short["threshold"])) if short else None,
        )

    def threshold_for(self, features: PairFeatures) -> float:
        """Returns the operating point for a pair: the short band's when its longer side is short enough."""
        if self.short is not None and round(math.expm1(features["log_words"])) <= self.short[0]:
            return self.short[1]
        return self.threshold

    def model_input(self, features: PairFeatures) -> npt.NDArray[np.float64]:
        """Returns what the trees read: the scalar features, then the embedding score."""
        return np.append(
            np.asarray(features.scalars, dtype=np.float64), self._embedding.score(features.embedding_terms())
        )

    def probability(self, features: PairFeatures) -> float:
        """Returns the model's P(same meaning) for a pair's features, before any veto."""
        return _sigmoid(self._trees.raw(self.model_input(features)))

    def check(
        self,
        query: str,
        candidate: str,
        query_vec: Vector,
        candidate_vec: Vector,
        threshold: float | None = None,
    ) -> PairVerdict:
        """Returns whether candidate (a cached request's text) asks what query asks.

        query_vec and candidate_vec are the texts' unit-length embeddings; threshold overrides the
        default operating point (a probability in [0, 1]: higher serves fewer, safer hits).
        """
        cosine = float(np.dot(query_vec, candidate_vec))
        if cosine < self.similarity_floor:
            return PairVerdict(False, 0.0, "below similarity threshold")
        early = early_veto(query, candidate) or renamed(query, candidate, _word_pieces)
        if early:
            return PairVerdict(False, 0.0, early)
        features = pair_features(query, candidate, query_vec, candidate_vec, self._word_vector)
        probability = self.probability(features)
        veto = features.veto()
        if veto:
            return PairVerdict(False, probability, veto)
        if probability >= (self.threshold_for(features) if threshold is None else threshold):
            return PairVerdict(True, probability, "paraphrase")
        return PairVerdict(False, probability, features.explain() or f"not a paraphrase (p={probability:.2f})")


def _word_pieces(word: str) -> list[int]:
    """Returns the shared embedder's word pieces of a word (the vocabulary the guard was trained on)."""
    return StaticEmbedder.load().ids(word)


__all__ = [
    "ARTIFACT",
    "ARTIFACTS",
    "NearMissGuard",
    "PairFeatures",
    "PairVerdict",
    "Vector",
    "identifiers",
    "pair_features",
]
