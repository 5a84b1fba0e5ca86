"""Trains the injection guard's two learned models, picks its operating point, writes injection.{npz,json}.

Data: see `training/injection_data.py` (the shared attacks, XSTest and ordinary prompts, and the
project's own safe prompts, documents with planted instructions and obfuscated copies), every example
tagged with its source. Every prompt goes through the guard's own normalisation and decoded views.

Models (run with numpy by `switchyard.ml.injection`):
- a logistic regression over the shared hashed n-grams (liblinear, class-balanced, C = `--c`);
- a logistic regression over the shared static embedding (C = `--embedding-c`), trained on whole
  texts and scored at run time as the maximum over the whole text and its sliding windows.

Evaluation is leave-one-source-out: for every source, both models are trained without it (and without
the obfuscated copies made from it) and score its prompts, so every prompt has a score from models
that never saw its source. The operating point (noisy-OR threshold with a named signal, and the
probability at which each model fires alone) is the one that detects the largest mean share of
attacks per attack source while every ordinary source of at least 100 prompts keeps at most
`--source-fpr` flagged and all ordinary prompts together at most `--pooled-fpr`. The embedding model
fires alone only with `--embedding-alone`: its bar then sits just above the highest ordinary score,
where short ordinary prompts ("Say hello. <id>") cross it, for almost no held-out detection. The table reports,
for each held-out source, the figures at the operating point picked on the *other* sources' scores
only; the shipped point is picked on all of them, the shipped models are trained on everything.

Usage: python -m training.injection [--data ../shared/data] [--out <artifacts dir>]
Deterministic: fixed inputs and order, liblinear, and npz written with fixed timestamps; a rerun
writes byte-identical artifacts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from switchyard.ml.artifacts import version
from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.features import DIMS, hashed
from switchyard.ml.injection import (
    NAME,
    NEVER,
    InjectionGuard,
    OperatingPoint,
    decoded_views,
    heuristic_signals,
    normalise,
)
from switchyard.ml.injection.learned import EMBED_CHARS, STRIDE, WINDOW, embedding_views
from switchyard.ml.injection.obfuscation import IDENTIFIER
from training import ARTIFACTS, DATA, SEEDS
from training.artifacts import save_npz
from training.injection_data import Example, load

Floats = npt.NDArray[np.float64]
THRESHOLDS = (0.5, 0.6, 0.75)
BAR_QUANTILES = (0.97, 0.98, 0.985, 0.99, 0.993, 0.995, 0.997, 0.998, 0.999, 0.9995, 1.0)
MIN_SOURCE = 100


@dataclass(frozen=True)
class Features:
    """Per view (the normalised text and each decoded view): its example, hashed features, whole-text
    embedding and window embeddings; per example: the heuristic score with a named attack signal."""

    owner: npt.NDArray[np.int64]
    hashed: csr_matrix
    whole: npt.NDArray[np.float32]
    window_owner: npt.NDArray[np.int64]
    windows: npt.NDArray[np.float32]
    first_view: npt.NDArray[np.int64]
    heuristic: Floats


def featurise(examples: Sequence[Example], embedder: StaticEmbedder) -> Features:
    """Returns the features of every example, read as the guard reads it."""
    owner: list[int] = []
    window_owner: list[int] = []
    first: list[int] = []
    heuristic: list[float] = []
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float32]] = []
    wholes: list[npt.NDArray[np.float32]] = []
    windows: list[npt.NDArray[np.float32]] = []
    for number, example in enumerate(examples):
        normal, _ = normalise(example.text)
        texts, signals = [normal], dict(heuristic_signals(normal))
        for _, decoded in decoded_views(normal):
            inner, _ = normalise(decoded)
            texts.append(inner)
            for name, weight in heuristic_signals(inner).items():
                signals[name] = max(weight, signals.get(name, 0.0))
        first.append(len(owner))
        heuristic.append(1.0 - float(np.prod([1.0 - w for w in signals.values()])))
        for text in texts:
            plain = IDENTIFIER.sub(" id ", text)
            indices, values = hashed(plain)
            rows.append(np.full(indices.shape[0], len(owner), dtype=np.int64))
            cols.append(indices)
            vals.append(values)
            views = embedding_views(embedder.token_rows(plain, EMBED_CHARS), WINDOW, STRIDE)
            wholes.append(views[0] if len(views) else np.zeros(embedder.dim, dtype=np.float32))
            windows.append(views[1:])
            window_owner.extend([number] * (len(views) - 1))
            owner.append(number)
    matrix = csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(owner), DIMS), dtype=np.float32
    )
    return Features(
        np.array(owner),
        matrix,
        np.stack(wholes),
        np.array(window_owner, dtype=np.int64),
        np.vstack(windows),
        np.array(first),
        np.array(heuristic),
    )


@dataclass(frozen=True)
class Models:
    """The two fitted models, as stored in the artifact (float16 hashed weights)."""

    hashed_weights: npt.NDArray[np.float32]
    hashed_bias: float
    embedding_weights: npt.NDArray[np.float32]
    embedding_bias: float


def _logistic(
    features: csr_matrix | npt.NDArray[np.float32], labels: npt.NDArray[np.int64], c: float
) -> tuple[npt.NDArray[np.float32], float]:
    model = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", max_iter=2000, random_state=0)
    model.fit(features, labels)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def fit(
    features: Features, labels: npt.NDArray[np.int64], chosen: npt.NDArray[np.int64], c: float, ec: float
) -> Models:
    """Returns both models fitted on the chosen examples (their first view: the normalised text)."""
    views = features.first_view[chosen]
    hashed_weights, hashed_bias = _logistic(features.hashed[views], labels[chosen], c)
    embedding_weights, embedding_bias = _logistic(features.whole[views], labels[chosen], ec)
    return Models(hashed_weights.astype(np.float16).astype(np.float32), hashed_bias, embedding_weights, embedding_bias)


def probabilities(
    features: Features, models: Models, chosen: npt.NDArray[np.int64], count: int
) -> tuple[Floats, Floats]:
    """Returns (hashed, embedding) probabilities of the chosen examples: each the maximum over views and
    windows, as the guard scores them (other entries of the length-count arrays are 0)."""
    hashed_logit = np.full(count, -np.inf)
    embedding_logit = np.full(count, -np.inf)
    views = np.flatnonzero(np.isin(features.owner, chosen))
    np.maximum.at(hashed_logit, features.owner[views], features.hashed[views] @ models.hashed_weights)
    np.maximum.at(embedding_logit, features.owner[views], features.whole[views] @ models.embedding_weights)
    windows = np.flatnonzero(np.isin(features.window_owner, chosen))
    np.maximum.at(embedding_logit, features.window_owner[windows], features.windows[windows] @ models.embedding_weights)
    return _sigmoid(hashed_logit, models.hashed_bias), _sigmoid(embedding_logit, models.embedding_bias)


def _sigmoid(logits: Floats, bias: float) -> Floats:
    """Returns the probabilities of logits plus bias, 0 where a text had no view (logit -inf)."""
    with np.errstate(over="ignore"):
        return np.where(np.isinf(logits), 0.0, 1.0 / (1.0 + np.exp(-(logits + bias))))


@dataclass(frozen=True)
class Scores:
    """Out-of-fold learned probabilities and the heuristic score of every example."""

    hashed: Floats
    embedding: Floats
    heuristic: Floats

    def flagged(self, point: OperatingPoint) -> npt.NDArray[np.bool_]:
        """Returns which examples the guard flags at point (the rule of `switchyard.ml.injection.combine`)."""
        learned = np.maximum(self.hashed, self.embedding)
        score = 1.0 - (1.0 - learned) * (1.0 - self.heuristic)
        alone = (self.hashed >= point.hashed_alone) | (self.embedding >= point.embedding_alone)
        return alone | ((score >= point.threshold) & (self.heuristic > 0))


def pick_point(
    scores: Scores, examples: Sequence[Example], use: npt.NDArray[np.bool_], args: argparse.Namespace
) -> OperatingPoint:
    """Returns the operating point with the best mean detection per attack source among the used examples,
    within the false-positive limits on their ordinary sources."""
    labels = np.array([e.attack for e in examples])
    sources = np.array([e.source for e in examples])
    benign = use & ~labels
    attack_sources = sorted({s for s in sources[use & labels]})
    big = [s for s in sorted(set(sources[benign])) if (benign & (sources == s)).sum() >= MIN_SOURCE]

    def bars(values: Floats) -> list[float]:
        return [NEVER, *sorted({float(v) for v in np.quantile(values[benign], BAR_QUANTILES)})]

    best, best_point = -1.0, OperatingPoint(THRESHOLDS[0], NEVER, NEVER)
    embedding_bars = bars(scores.embedding) if getattr(args, "embedding_alone", False) else [NEVER]
    for threshold, hashed_bar, embedding_bar in itertools.product(THRESHOLDS, bars(scores.hashed), embedding_bars):
        point = OperatingPoint(threshold, float(np.nextafter(hashed_bar, 2.0)), float(np.nextafter(embedding_bar, 2.0)))
        flagged = scores.flagged(point)
        if flagged[benign].mean() > args.pooled_fpr:
            continue
        if any(flagged[benign & (sources == s)].mean() > args.source_fpr for s in big):
            continue
        detection = float(np.mean([flagged[use & (sources == s)].mean() for s in attack_sources]))
        if detection > best:
            best, best_point = detection, point
    return best_point


def out_of_fold(features: Features, examples: Sequence[Example], args: argparse.Namespace) -> Scores:
    """Returns every example's probabilities from models trained without its source."""
    labels = np.array([int(e.attack) for e in examples], dtype=np.int64)
    sources = np.array([e.source for e in examples])
    parents = np.array([e.parent for e in examples])
    hashed_p, embedding_p = np.zeros(len(examples)), np.zeros(len(examples))
    for source in sorted(set(sources)):
        held = np.flatnonzero(sources == source)
        train = np.flatnonzero((sources != source) & (parents != source))
        models = fit(features, labels, train, args.c, args.embedding_c)
        h, e = probabilities(features, models, held, len(examples))
        hashed_p[held], embedding_p[held] = h[held], e[held]
    return Scores(hashed_p, embedding_p, features.heuristic)


def report(scores: Scores, examples: Sequence[Example], args: argparse.Namespace) -> OperatingPoint:
    """Prints the per-source table (each at the point picked without it) and returns the point picked on all."""
    labels = np.array([e.attack for e in examples])
    sources = np.array([e.source for e in examples])
    parents = np.array([e.parent for e in examples])
    heuristics_only = Scores(np.zeros(len(examples)), np.zeros(len(examples)), scores.heuristic)
    print(f"{'held-out source':28} {'n':>5}  {'measure':9} {'heuristics':>10} {'guard':>6}  operating point")
    totals: dict[str, list[float]] = {"attack": [], "benign": []}
    for source in sorted(set(sources)):
        held = sources == source
        point = pick_point(scores, examples, ~held & (parents != source), args)
        measure = "detection" if labels[held].all() else "FP"
        guard = float(scores.flagged(point)[held].mean())
        heuristic = float(heuristics_only.flagged(OperatingPoint(point.threshold, NEVER, NEVER))[held].mean())
        totals["attack" if measure == "detection" else "benign"].append(guard)
        described = f"t={point.threshold:.2f} hashed>={point.hashed_alone:.3f} embedding>={point.embedding_alone:.3f}"
        print(f"{source:28} {int(held.sum()):5d}  {measure:9} {heuristic:10.3f} {guard:6.3f}  {described}")
    print(
        f"mean detection over attack sources {np.mean(totals['attack']):.3f}; "
        f"mean FP over ordinary sources {np.mean(totals['benign']):.4f}, worst {max(totals['benign']):.3f}"
    )
    return pick_point(scores, examples, np.ones(len(examples), dtype=bool), args)


def main(argv: Sequence[str] | None = None) -> None:
    """Evaluates by held-out source, then trains on everything and writes the artifacts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ARTIFACTS)
    parser.add_argument("--c", type=float, default=4.0, help="inverse L2 strength, hashed model")
    parser.add_argument("--embedding-c", type=float, default=4.0, help="inverse L2 strength, embedding model")
    parser.add_argument("--source-fpr", type=float, default=0.015, help="most flagged on any ordinary source")
    parser.add_argument("--pooled-fpr", type=float, default=0.0075, help="most flagged on all ordinary prompts")
    parser.add_argument(
        "--embedding-alone",
        action="store_true",
        help="let the embedding model fire on its own (off: its bar, just above the highest ordinary score, "
        "flagged short ordinary prompts and added almost no held-out detection)",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    examples = load(args.data, SEEDS / "injection")
    embedder = StaticEmbedder.load()
    features = featurise(examples, embedder)
    print(
        f"{len(examples)} examples from {len({e.source for e in examples})} sources, "
        f"features in {time.perf_counter() - started:.0f}s"
    )
    scores = out_of_fold(features, examples, args)
    point = report(scores, examples, args)

    labels = np.array([int(e.attack) for e in examples], dtype=np.int64)
    models = fit(features, labels, np.arange(len(examples)), args.c, args.embedding_c)
    args.out.mkdir(parents=True, exist_ok=True)
    save_npz(
        args.out / f"{NAME}.npz",
        {
            "weights": models.hashed_weights.astype(np.float16)[:, None],
            "bias": np.array([models.hashed_bias], dtype=np.float32),
            "classes": np.array(["attack"]),
            "embedding_weights": models.embedding_weights.astype(np.float32),
            "embedding_bias": np.array([models.embedding_bias], dtype=np.float32),
        },
    )
    meta = {
        "threshold": point.threshold,
        "hashed_alone": round(point.hashed_alone, 6),
        "embedding_alone": round(point.embedding_alone, 6),
        "window": WINDOW,
        "stride": STRIDE,
        "embedder": version("embedder.npz", "embedder.tokenizer.json"),
        "c": args.c,
        "embedding_c": args.embedding_c,
        "source_fpr": args.source_fpr,
        "pooled_fpr": args.pooled_fpr,
        "embedding_fires_alone": args.embedding_alone,
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    size = (args.out / f"{NAME}.npz").stat().st_size
    print(f"shipped point: {point}; npz {size} bytes; done in {time.perf_counter() - started:.0f}s")
    holdout(InjectionGuard.load(args.out))


def holdout(guard: InjectionGuard) -> None:
    """Prints the shipped guard's detection and false positives on the blind rounds kept out of training."""
    rows = [json.loads(line) for line in (SEEDS / "injection" / "holdout.jsonl").read_text().splitlines()]
    for number in sorted({row["round"] for row in rows}):
        for attack in (True, False):
            part = [row for row in rows if row["round"] == number and row["attack"] is attack]
            if part:
                verdicts = [guard.check(row["text"], document=row["family"] == "tool-result") for row in part]
                flagged = sum(verdict.detected for verdict in verdicts)
                measure = "attacks caught" if attack else "ordinary prompts flagged"
                print(f"held-out round {number}: {measure} {flagged} of {len(part)}")


if __name__ == "__main__":
    main()
