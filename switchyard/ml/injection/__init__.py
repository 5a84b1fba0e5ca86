"""Prompt-injection / jailbreak guard: normalisation, named heuristics and a learned score.

`InjectionGuard.check(text)` works in three layers:

1. Normalisation. NFKC, invisible characters removed (zero-width, bidi controls, soft hyphens,
   variation selectors; Unicode tag characters are decoded, since they smuggle ASCII), Cyrillic and
   Greek look-alikes mapped to Latin inside words that are visibly Latin-like, and letters spaced
   out one by one joined up. Obfuscations are decoded into extra *views* that are checked too:
   base64 blobs that decode to text, 8-bit binary strings, rot13 when it yields more English words
   than the original, and leetspeak in words that mix letters and digits.
2. Named heuristics (regular expressions over every view): each known attack pattern is a signal
   with a fixed weight (strong patterns such as "ignore previous instructions" weigh 0.97, framing
   that also shows up in benign role-play prompts weighs less, obfuscation itself weighs little).
3. A logistic-regression score over the shared hashed features (`injection.npz`, trained by
   `training/injection.py`), the maximum over the views.

The score is the noisy-OR of the learned probability and the weights of the signals that fired,
`1 - (1 - p) * prod(1 - w)`; the verdict compares it with the threshold stored in `injection.json`
(chosen by the training script on held-out benign prompts). `kind` is the strongest signal, or
"learned" when no named attack signal fired and the model's score carried the verdict.

Normalisation and the decoded views live in `obfuscation`, the named heuristics in `signals`; this
package holds the guard that combines them with the learned score.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from switchyard.ml.injection.obfuscation import IDENTIFIER, decoded_views, normalise
from switchyard.ml.injection.signals import heuristic_signals
from switchyard.ml.linear import ARTIFACTS, LinearModel

NAME = "injection"
DEFAULT_THRESHOLD = 0.5
# An undone obfuscation is a signal too, a weak one: benign text is encoded or styled as well.
_OBFUSCATION_WEIGHT = 0.1


@dataclass(frozen=True)
class InjectionVerdict:
    """The guard's result: score in [0, 1], whether it is an attack, the strongest attack signal
    ("learned" when none fired but the model's score carried the verdict, "none" when not detected)
    and all signals that fired, strongest first."""

    score: float
    detected: bool
    kind: str
    signals: tuple[str, ...]


class InjectionGuard:
    """Scores prompts for injection and jailbreak attempts (see the module docstring)."""

    def __init__(self, model: LinearModel | None = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.model = model
        self.threshold = threshold

    @classmethod
    def load(cls, directory: Path | None = None) -> InjectionGuard:
        """Returns the guard with the packaged `injection.npz` model and `injection.json` threshold."""
        if directory is not None:
            model = LinearModel.load(NAME, directory / f"{NAME}.npz")
            meta = json.loads((directory / f"{NAME}.json").read_text())
        else:
            model = LinearModel.load(NAME)
            meta = json.loads(resources.files(ARTIFACTS).joinpath(f"{NAME}.json").read_text())
        return cls(model, float(meta["threshold"]))

    def learned(self, text: str) -> float:
        """Returns the model's attack probability for already-normalised text (0 without a model)."""
        if self.model is None:
            return 0.0
        return float(self.model.probabilities(IDENTIFIER.sub(" id ", text))[0])

    def analyse(self, text: str) -> tuple[float, dict[str, float]]:
        """Returns (learned probability, {signal: weight}) over the normalised text and its decoded views."""
        normal, obfuscations = normalise(text)
        views = decoded_views(normal)
        signals = dict.fromkeys(obfuscations, _OBFUSCATION_WEIGHT)
        signals.update(heuristic_signals(normal))
        learned = self.learned(normal)
        for obfuscation, decoded in views:
            signals[obfuscation] = _OBFUSCATION_WEIGHT
            inner, _ = normalise(decoded)
            for name, weight in heuristic_signals(inner).items():
                signals[name] = max(weight, signals.get(name, 0.0))
            learned = max(learned, self.learned(inner))
        return learned, signals

    def check(self, text: str) -> InjectionVerdict:
        """Returns the verdict for text: noisy-OR score of model and signals, compared with the threshold."""
        learned, signals = self.analyse(text)
        return combine(learned, signals, self.threshold)


LEARNED_ALONE = 0.9


def combine(learned: float, signals: dict[str, float], threshold: float) -> InjectionVerdict:
    """Returns the verdict for a learned probability and fired signals (noisy-OR against threshold)."""
    miss = 1.0 - learned
    for weight in signals.values():
        miss *= 1.0 - weight
    score = 1.0 - miss
    ranked = sorted(signals.items(), key=lambda item: (-item[1], item[0]))
    attack_signals = [name for name, _ in ranked if not name.startswith("obfuscation:")]
    # The learned model barely transfers across sources (it catches a few percent of an unseen source's
    # attacks) yet lifts harmless short prompts near the threshold, so on its own it must be sure.
    detected = score >= threshold and (bool(attack_signals) or learned >= LEARNED_ALONE)
    if not detected:
        kind = "none"
    elif attack_signals:
        kind = attack_signals[0]
    else:
        kind = "learned"
    return InjectionVerdict(score, detected, kind, tuple(name for name, _ in ranked))


__all__ = [
    "DEFAULT_THRESHOLD",
    "LEARNED_ALONE",
    "NAME",
    "InjectionGuard",
    "InjectionVerdict",
    "combine",
    "decoded_views",
    "heuristic_signals",
    "normalise",
]
