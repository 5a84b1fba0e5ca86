"""Prompt-injection / jailbreak guard: normalisation, named heuristics and a learned score.

`InjectionGuard.check(text)` works in three layers:

1. Normalisation. NFKC, invisible characters removed (zero-width, bidi controls, soft hyphens,
   variation selectors; Unicode tag characters are decoded, since they smuggle ASCII), Cyrillic and
   Greek look-alikes mapped to Latin inside words that are visibly Latin-like, and letters spaced
   out one by one joined up. Obfuscations are decoded into extra *views* that are checked too:
   base64 blobs that decode to text, 8-bit binary strings, hex bytes, Morse code, rot13 or another
   Caesar shift or reversed letters when that yields more English words than the original (for the
   whole text, or for a cipher quoted inside an English request), and leetspeak in words that mix
   letters and digits.
2. Named heuristics (regular expressions over every view): each known attack pattern is a signal
   with a fixed weight (strong patterns such as "ignore previous instructions" weigh 0.97, framing
   that also shows up in benign role-play prompts weighs less, obfuscation itself weighs little).
3. Two learned scores, each the maximum over the views (`learned`): a logistic regression over the
   shared hashed n-grams, and one over the shared static embedding read through sliding windows, so
   that one planted sentence in a long document or tool result is scored on its own.

The score is the noisy-OR of the larger learned probability and the weights of the signals that
fired, `1 - (1 - p) * prod(1 - w)`. A prompt is an attack when the score reaches the threshold and an
attack signal fired, or when a learned probability reaches that model's own bar (it must be sure on
its own: short harmless prompts sit near the noisy-OR threshold). Threshold and bars are stored in
`injection.json`, chosen by `training/injection.py` on sources held out of training. `kind` is the
strongest signal, or "learned" when no named attack signal fired and a model carried the verdict.

Normalisation and the decoded views live in `obfuscation`, the named heuristics in `signals`, the
learned models in `learned`; this package holds the guard that combines them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.injection.learned import WindowedEmbeddingModel
from switchyard.ml.injection.obfuscation import decoded_views, normalise, without_identifiers
from switchyard.ml.injection.signals import heuristic_signals
from switchyard.ml.linear import ARTIFACTS, LinearModel

NAME = "injection"
DEFAULT_THRESHOLD = 0.5
# A probability a learned model never reaches: the bar of a model that may not fire on its own.
NEVER = 1.01
# An undone obfuscation is a signal too, a weak one: benign text is encoded or styled as well.
_OBFUSCATION_WEIGHT = 0.1


@dataclass(frozen=True)
class InjectionVerdict:
    """The guard's result: score in [0, 1], whether it is an attack, the strongest attack signal
    ("learned" when none fired but a model's score carried the verdict, "none" when not detected)
    and all signals that fired, strongest first."""

    score: float
    detected: bool
    kind: str
    signals: tuple[str, ...]


@dataclass(frozen=True)
class OperatingPoint:
    """Where the guard fires: the noisy-OR threshold (with an attack signal), and the probability at
    which each learned model fires on its own (NEVER: not alone)."""

    threshold: float = DEFAULT_THRESHOLD
    hashed_alone: float = 0.9
    embedding_alone: float = NEVER


@dataclass(frozen=True)
class Reading:
    """What the guard read in a text: each learned model's probability (the maximum over the views)
    and {signal: weight} of the heuristics and undone obfuscations."""

    hashed: float
    embedding: float
    signals: dict[str, float] = field(default_factory=dict)


class InjectionGuard:
    """Scores prompts for injection and jailbreak attempts (see the module docstring)."""

    def __init__(
        self,
        model: LinearModel | None = None,
        point: OperatingPoint | None = None,
        *,
        embedding: WindowedEmbeddingModel | None = None,
        embedder: StaticEmbedder | None = None,
    ) -> None:
        self.model = model
        self.point = point or OperatingPoint()
        self.embedding = embedding if embedder is not None else None
        self.embedder = embedder

    @classmethod
    def load(cls, directory: Path | None = None) -> InjectionGuard:
        """Returns the guard with the packaged `injection.npz` models and `injection.json` operating point."""
        if directory is not None:
            npz = (directory / f"{NAME}.npz").read_bytes()
            meta = json.loads((directory / f"{NAME}.json").read_text())
        else:
            root = resources.files(ARTIFACTS)
            npz = root.joinpath(f"{NAME}.npz").read_bytes()
            meta = json.loads(root.joinpath(f"{NAME}.json").read_text())
        return cls.from_artifact(npz, meta)

    @classmethod
    def from_artifact(cls, npz: bytes, meta: dict[str, Any]) -> InjectionGuard:
        """Returns the guard of an `injection.npz` (bytes) and its `injection.json` (parsed)."""
        with np.load(io.BytesIO(npz)) as data:
            model = LinearModel(
                data["weights"].astype(np.float32),
                data["bias"].astype(np.float32),
                tuple(str(c) for c in data["classes"]),
            )
            embedding = None
            if "embedding_weights" in data:
                embedding = WindowedEmbeddingModel(
                    data["embedding_weights"].astype(np.float32),
                    float(data["embedding_bias"][0]),
                    int(meta.get("window", 24)),
                    int(meta.get("stride", 12)),
                )
        point = OperatingPoint(
            float(meta["threshold"]),
            float(meta.get("hashed_alone", 0.9)),
            float(meta.get("embedding_alone", NEVER)),
        )
        embedder = StaticEmbedder.load() if embedding is not None else None
        return cls(model, point, embedding=embedding, embedder=embedder)

    def learned(self, text: str) -> tuple[float, float]:
        """Returns (hashed, embedding) attack probabilities of already-normalised text (0 without a model).

        Both models read identifiers (hashes, hex ids, UUIDs, long tokens) as one word, "id": the word
        pieces of a hex string carry no meaning, and the embedding model scored some short prompts with
        a random id in them (about 1 in 3,000 of "Say hello. <12 hex digits>") as attacks with p > 0.9998.
        """
        plain = without_identifiers(text, " id ")
        hashed = 0.0 if self.model is None else float(self.model.probabilities(plain)[0])
        if self.embedding is None or self.embedder is None:
            return hashed, 0.0
        return hashed, self.embedding.probability(self.embedder, plain)

    def read(self, text: str, *, document: bool = False) -> Reading:
        """Returns the learned probabilities and the signals over the normalised text and its decoded views.

        document: text is a document, message or tool result as a whole (see `heuristic_signals`).
        """
        normal, obfuscations = normalise(text)
        signals = dict.fromkeys(obfuscations, _OBFUSCATION_WEIGHT)
        signals.update(heuristic_signals(normal, document=document))
        hashed, embedding = self.learned(normal)
        for obfuscation, decoded in decoded_views(normal):
            signals[obfuscation] = _OBFUSCATION_WEIGHT
            inner, _ = normalise(decoded)
            for name, weight in heuristic_signals(inner, document=document).items():
                signals[name] = max(weight, signals.get(name, 0.0))
            inner_hashed, inner_embedding = self.learned(inner)
            hashed, embedding = max(hashed, inner_hashed), max(embedding, inner_embedding)
        return Reading(hashed, embedding, signals)

    def check(self, text: str, *, document: bool = False) -> InjectionVerdict:
        """Returns the verdict for text: noisy-OR score of models and signals against the operating point.

        document: text is a document, message or tool result as a whole, not a user's request.
        """
        return combine(self.read(text, document=document), self.point)


def combine(reading: Reading, point: OperatingPoint) -> InjectionVerdict:
    """Returns the verdict for a reading at an operating point (see the module docstring)."""
    miss = 1.0 - max(reading.hashed, reading.embedding)
    for weight in reading.signals.values():
        miss *= 1.0 - weight
    score = 1.0 - miss
    ranked = sorted(reading.signals.items(), key=lambda item: (-item[1], item[0]))
    attack_signals = [name for name, _ in ranked if not name.startswith("obfuscation:")]
    sure = reading.hashed >= point.hashed_alone or reading.embedding >= point.embedding_alone
    detected = sure or (score >= point.threshold and bool(attack_signals))
    if not detected:
        kind = "none"
    elif attack_signals and score >= point.threshold:
        kind = attack_signals[0]
    else:
        kind = "learned"
    return InjectionVerdict(score, detected, kind, tuple(name for name, _ in ranked))


__all__ = [
    "DEFAULT_THRESHOLD",
    "NAME",
    "NEVER",
    "InjectionGuard",
    "InjectionVerdict",
    "OperatingPoint",
    "Reading",
    "combine",
    "decoded_views",
    "heuristic_signals",
    "normalise",
]
