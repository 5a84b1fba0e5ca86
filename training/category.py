"""Trains the task-category model and writes switchyard/ml/artifacts/category.npz (and category.json).

Data: `training.category_data.load()` (read its docstring): the shared public data (T0 templates
cleaned, benchmark tasks, MMLU subjects, hand-labelled Chatbot Arena prompts) plus the hand-written
seed families, every example tagged with its source. `category_multilingual.jsonl` (ten other
languages) is used as a language-held-out set; `category_holdout.jsonl` is only measured, never
trained on nor used to choose anything.

Features (`switchyard.ml.category.dense_input` gives the dense part, identical at run time):
- the shared hashed word and character n-grams (`switchyard.ml.features.hashed`);
- the shared static sentence embedding of the first `FOCUS_CHARS` characters (`switchyard.ml.embedder`);
- the length and structure cues of the complexity model (`switchyard.ml.complexity.dense_features`).
The dense part is standardised, clipped and multiplied by `DENSE_WEIGHT` (how strongly it is used
next to the L2-normalised n-grams); one multinomial logistic regression reads both.

Sample weights give every category the same total weight and damp large sources (each source's
weight grows with the square root of its size), so that no single benchmark decides what a category
looks like.

Evaluation: leave-one-source-group-out. Every group (a T0 dataset, a benchmark, MMLU, arena, a seed
family) is predicted by a model trained on all other groups. The script prints accuracy and macro-F1
per held-out group (over the categories that group has), the pooled per-category report and macro-F1
with and without the rule overrides, a reliability table and the expected calibration error before
and after temperature scaling (the temperature is fitted on those out-of-fold predictions), the
multilingual accuracy (languages held out one at a time) and the holdout file's macro-F1. Non-English
prompts (`switchyard.ml.category.foreign`) get their own temperature, fitted on the held-out languages,
so that the model is not confidently wrong on a language it has barely seen. `--recipe old` runs the
previous recipe (hashed n-grams only, no source damping, no calibration) on the same splits.

Run from the repository root: `.venv/bin/python -m training.category` (deterministic: lbfgs, fixed
order, the artifact written with fixed timestamps).
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]
from scipy.optimize import minimize_scalar  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import classification_report, f1_score  # type: ignore[import-untyped]

from switchyard.ml.category import CATEGORIES, CLIP, dense_input, foreign, override
from switchyard.ml.complexity import DENSE_FEATURES, FOCUS_CHARS
from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.features import DIMS, hashed
from training import ARTIFACTS, DATA
from training.artifacts import save_npz
from training.category_data import Example, load

NAME = "category"
SEED = 0
C = 4.0
DENSE_C = 0.05
BLEND = 0.1
SOURCE_POWER = 0.0
BINS = 10

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: the weight of the dense model in the blend, the two C values and the
    source damping (each source's total weight grows as size**source_power; 1 is no damping)."""

    blend: float
    c: float
    dense_c: float
    source_power: float


RECIPES = {
    "new": Recipe(blend=BLEND, c=C, dense_c=DENSE_C, source_power=SOURCE_POWER),
    # The previous trainer: hashed n-grams only, category-balanced weights, no calibration.
    "old": Recipe(blend=0.0, c=4.0, dense_c=DENSE_C, source_power=1.0),
}


@dataclass(frozen=True)
class Features:
    """Hashed n-grams (sparse, rows by DIMS) and the raw dense block (embedding + shape cues) of texts."""

    hashed: sparse.csr_matrix
    dense: Floats


def featurise(texts: Sequence[str]) -> Features:
    """Returns the features of texts exactly as the run-time model computes them."""
    embedder = StaticEmbedder.load()
    indptr = [0]
    indices: list[npt.NDArray[np.int64]] = []
    values: list[npt.NDArray[np.float32]] = []
    dense = np.zeros((len(texts), embedder.dim + len(DENSE_FEATURES)))
    for row, text in enumerate(texts):
        idx, val = hashed(text)
        indices.append(idx)
        values.append(val)
        indptr.append(indptr[-1] + len(idx))
        dense[row] = dense_input(text, embedder.embed_one(text[:FOCUS_CHARS]))
    matrix = sparse.csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)), shape=(len(texts), DIMS)
    )
    return Features(matrix, dense)


@dataclass(frozen=True)
class Fitted:
    """A fitted model in run-time form: hashed weights, dense weights (already scaled) and bias."""

    weights: Floats
    dense_weights: Floats
    dense_mean: Floats
    dense_scale: Floats
    bias: Floats

    def scores(self, features: Features) -> Floats:
        """Returns the raw class scores (rows by CATEGORIES)."""
        z = np.clip((features.dense - self.dense_mean) / self.dense_scale, -CLIP, CLIP)
        return np.asarray(features.hashed @ self.weights) + z @ self.dense_weights + self.bias


def sample_weights(labels: Sequence[str], sources: Sequence[str], power: float) -> Floats:
    """Returns row weights: each category the same total, each source's total growing as size**power."""
    size = Counter(sources)
    raw = np.array([size[s] ** (power - 1.0) for s in sources])
    totals: dict[str, float] = {}
    for label, weight in zip(labels, raw, strict=True):
        totals[label] = totals.get(label, 0.0) + float(weight)
    balanced = np.array([w / totals[label] for label, w in zip(labels, raw, strict=True)])
    return balanced * len(labels) / balanced.sum()


def _logistic(x: Any, labels: Sequence[str], weights: Floats, c: float) -> tuple[Floats, Floats]:
    """Returns (coefficients features by CATEGORIES, intercepts) of a weighted multinomial logistic regression."""
    model = LogisticRegression(C=c, max_iter=1000, tol=1e-4, random_state=SEED)
    model.fit(x, np.array(labels), sample_weight=weights)
    order = [list(model.classes_).index(name) for name in CATEGORIES]
    return model.coef_[order].T, model.intercept_[order]


def fit(features: Features, labels: Sequence[str], sources: Sequence[str], recipe: Recipe) -> Fitted:
    """Returns the blend of two logistic regressions, one on the hashed n-grams and one on the
    standardised dense block (embedding and shape cues), the second scaled by recipe.blend.

    Both are fitted with category-balanced, source-damped weights; the blend is a single linear model.
    """
    weights = sample_weights(labels, sources, recipe.source_power)
    coef, bias = _logistic(features.hashed, labels, weights, recipe.c)
    mean = features.dense.mean(axis=0)
    scale = features.dense.std(axis=0)
    scale[scale < 1e-6] = 1.0
    dense_coef = np.zeros((features.dense.shape[1], len(CATEGORIES)))
    if recipe.blend > 0:
        z = np.clip((features.dense - mean) / scale, -CLIP, CLIP)
        dense_coef, dense_bias = _logistic(z, labels, weights, recipe.dense_c)
        dense_coef = dense_coef * recipe.blend
        bias = bias + recipe.blend * dense_bias
    return Fitted(coef, dense_coef, mean, scale, bias)


def softmax(scores: Floats, temperature: float = 1.0) -> Floats:
    """Returns row-wise softmax probabilities of scores / temperature."""
    z = scores / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(z / z.sum(axis=1, keepdims=True))


def fit_temperature(scores: Floats, truth: npt.NDArray[np.int64]) -> float:
    """Returns the temperature minimising the negative log-likelihood of the true classes."""

    def nll(log_t: float) -> float:
        probs = softmax(scores, float(np.exp(log_t)))
        return float(-np.mean(np.log(probs[np.arange(len(truth)), truth] + 1e-12)))

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def calibration(confidence: Floats, correct: npt.NDArray[np.bool_]) -> tuple[float, list[dict[str, float]]]:
    """Returns the expected calibration error and the reliability table (equal-width confidence bins)."""
    table: list[dict[str, float]] = []
    ece = 0.0
    edges = np.linspace(0.0, 1.0, BINS + 1)
    for low, high in itertools_pairs(edges):
        inside = (confidence > low) & (confidence <= high)
        if not inside.any():
            continue
        conf, acc = float(confidence[inside].mean()), float(correct[inside].mean())
        ece += inside.mean() * abs(conf - acc)
        table.append(
            {"low": round(low, 2), "high": round(high, 2), "n": int(inside.sum()), "confidence": conf, "accuracy": acc}
        )
    return float(ece), table


def itertools_pairs(edges: Floats) -> list[tuple[float, float]]:
    """Returns consecutive (low, high) pairs of edges."""
    return [(float(a), float(b)) for a, b in itertools.pairwise(edges)]


def print_reliability(title: str, table: list[dict[str, float]], ece: float) -> None:
    """Prints a reliability table."""
    print(f"\n{title}: ECE = {ece:.4f}")
    print("  confidence bin   n      mean confidence  accuracy")
    for row in table:
        low, high, n = row["low"], row["high"], row["n"]
        print(f"  ({low:.1f}, {high:.1f}]  {n:6.0f}  {row['confidence']:.3f}            {row['accuracy']:.3f}")


def macro(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = CATEGORIES) -> float:
    """Returns the macro-F1 over labels."""
    return float(f1_score(list(truth), list(predicted), labels=list(labels), average="macro", zero_division=0))


def apply_overrides(texts: Sequence[str], predicted: Sequence[str]) -> list[str]:
    """Returns predictions with the rule overrides applied."""
    return [override(text) or label for text, label in zip(texts, predicted, strict=True)]


def leave_group_out(
    features: Features,
    labels: list[str],
    groups: list[str],
    recipe: Recipe,
    extra: tuple[Features, list[str], list[str]] | None = None,
) -> Floats:
    """Returns out-of-fold raw scores: each group predicted by a model trained on every other group.

    extra: (features, labels, groups) of examples always trained on (never predicted here).
    """
    scores = np.zeros((len(labels), len(CATEGORIES)))
    group_array = np.array(groups)
    for group in sorted(set(groups)):
        held = group_array == group
        keep = np.flatnonzero(~held)
        train = Features(features.hashed[keep], features.dense[keep])
        train_labels = [labels[i] for i in keep]
        train_groups = [groups[i] for i in keep]
        if extra is not None:
            train = Features(
                sparse.vstack([train.hashed, extra[0].hashed]).tocsr(), np.vstack([train.dense, extra[0].dense])
            )
            train_labels += extra[1]
            train_groups += extra[2]
        model = fit(train, train_labels, train_groups, recipe)
        scores[held] = model.scores(Features(features.hashed[held], features.dense[held]))
    return scores


def per_group_report(truth: list[str], predicted: list[str], groups: list[str]) -> dict[str, dict[str, float]]:
    """Prints and returns accuracy and macro-F1 (over the categories present) per held-out group."""
    out: dict[str, dict[str, float]] = {}
    print(f"\n  {'held-out group':32s}    n  accuracy  macro-F1 (categories present)")
    for group in sorted(set(groups)):
        rows = [i for i, g in enumerate(groups) if g == group]
        t, p = [truth[i] for i in rows], [predicted[i] for i in rows]
        present = sorted(set(t))
        accuracy = float(np.mean([a == b for a, b in zip(t, p, strict=True)]))
        score = macro(t, p, present)
        out[group] = {
            "n": len(rows),
            "accuracy": round(accuracy, 4),
            "macro_f1": round(score, 4),
            "categories": len(present),
        }
        print(f"  {group:32s} {len(rows):4d}  {accuracy:.3f}     {score:.3f} ({len(present)})")
    return out


def evaluate(
    corpus_train: list[Example], multilingual: list[Example], recipe: Recipe
) -> tuple[dict[str, Any], float, float]:
    """Runs every held-out evaluation; returns the figures and the two fitted temperatures."""
    texts = [e.prompt for e in corpus_train]
    labels = [e.category for e in corpus_train]
    groups = [e.source for e in corpus_train]
    truth = np.array([CATEGORIES.index(label) for label in labels])
    features = featurise(texts)
    started = time.perf_counter()
    scores = leave_group_out(features, labels, groups, recipe)
    print(f"\nleave-one-source-out over {len(set(groups))} groups in {time.perf_counter() - started:.0f} s")
    predicted = [CATEGORIES[i] for i in scores.argmax(axis=1)]
    overridden = apply_overrides(texts, predicted)
    figures: dict[str, Any] = {"recipe": recipe.__dict__}
    for name, prediction in (("model only", predicted), ("with overrides", overridden)):
        changed = sum(a != b for a, b in zip(predicted, prediction, strict=True))
        print(f"\n=== held-out sources, {name} ({changed} changed) ===")
        print(classification_report(labels, prediction, labels=list(CATEGORIES), digits=3, zero_division=0))
        print(f"pooled macro-F1 on held-out sources ({name}): {macro(labels, prediction):.4f}")
    figures["per_group"] = per_group_report(labels, overridden, groups)
    per_class = f1_score(labels, overridden, labels=list(CATEGORIES), average=None, zero_division=0)
    figures["per_category_f1"] = {c: round(float(f), 4) for c, f in zip(CATEGORIES, per_class, strict=True)}
    figures["pooled_macro_f1"] = round(macro(labels, overridden), 4)
    figures["pooled_macro_f1_model_only"] = round(macro(labels, predicted), 4)
    group_scores = [v["macro_f1"] for v in figures["per_group"].values() if v["categories"] > 1]
    figures["mean_macro_f1_multi_category_groups"] = round(float(np.mean(group_scores)), 4)
    print(f"mean macro-F1 over held-out groups with several categories: {np.mean(group_scores):.4f}")

    # Calibration: temperature fitted on the out-of-fold scores.
    temperature = fit_temperature(scores, truth)
    correct = scores.argmax(axis=1) == truth
    ece_before, table_before = calibration(softmax(scores).max(axis=1), correct)
    ece_after, table_after = calibration(softmax(scores, temperature).max(axis=1), correct)
    print_reliability("reliability, held-out sources, raw softmax", table_before, ece_before)
    print_reliability(f"reliability, held-out sources, temperature {temperature:.3f}", table_after, ece_after)
    figures["calibration"] = {
        "temperature": round(temperature, 4),
        "ece_before": round(ece_before, 4),
        "ece_after": round(ece_after, 4),
        "reliability_after": table_after,
    }

    figures["multilingual"], foreign_temperature = evaluate_languages(
        features, labels, groups, multilingual, recipe=recipe, temperature=temperature
    )
    return figures, temperature, foreign_temperature


def evaluate_languages(
    features: Features,
    labels: list[str],
    groups: list[str],
    multilingual: list[Example],
    *,
    recipe: Recipe,
    temperature: float,
) -> tuple[dict[str, Any], float]:
    """Measures the other-language prompts: zero-shot (no such training data), then each language held
    out in turn; returns the figures and the temperature fitted for prompts in other languages."""
    ml_texts = [e.prompt for e in multilingual]
    ml_labels = [e.category for e in multilingual]
    ml_langs = [e.lang for e in multilingual]
    ml_truth = np.array([CATEGORIES.index(label) for label in ml_labels])
    ml_features = featurise(ml_texts)
    full = fit(features, labels, groups, recipe)
    zero_shot = full.scores(ml_features)
    extra = (features, labels, groups)
    held_lang = leave_group_out(ml_features, ml_labels, ml_langs, recipe, extra)
    is_foreign = np.array([foreign(t) for t in ml_texts])
    foreign_temperature = fit_temperature(held_lang, ml_truth)
    foreign_temperature = max(foreign_temperature, temperature)
    print(f"\n=== other languages ({len(ml_texts)} prompts, {len(set(ml_langs))} languages) ===")
    print(f"{int(is_foreign.sum())} detected as non-English; foreign temperature {foreign_temperature:.3f}")
    ml: dict[str, Any] = {"n": len(ml_texts), "detected_foreign": int(is_foreign.sum())}
    for name, s in (("zero-shot", zero_shot), ("language held out", held_lang)):
        pred = [override(t) or CATEGORIES[i] for t, i in zip(ml_texts, s.argmax(axis=1), strict=True)]
        accuracy = float(np.mean([a == b for a, b in zip(pred, ml_labels, strict=True)]))
        ok = s.argmax(axis=1) == ml_truth
        conf_raw = softmax(s, temperature).max(axis=1)
        conf = np.where(is_foreign, softmax(s, foreign_temperature).max(axis=1), conf_raw)
        wrong_confident = int(np.sum(~ok & (conf >= 0.7)))
        ece, _ = calibration(conf, ok)
        ece_raw, _ = calibration(conf_raw, ok)
        print(
            f"  {name:18s} accuracy {accuracy:.3f}  macro-F1 {macro(ml_labels, pred):.3f}  "
            f"mean confidence {conf.mean():.3f}  ECE {ece_raw:.3f} -> {ece:.3f}  "
            f"wrong with confidence >= 0.7: {wrong_confident}"
        )
        for lang in sorted(set(ml_langs)):
            rows = [i for i, g in enumerate(ml_langs) if g == lang]
            acc = float(np.mean([pred[i] == ml_labels[i] for i in rows]))
            print(f"      {lang} n={len(rows):2d} accuracy {acc:.2f}")
        ml[name] = {
            "accuracy": round(accuracy, 4),
            "macro_f1": round(macro(ml_labels, pred), 4),
            "mean_confidence": round(float(conf.mean()), 4),
            "ece_before": round(ece_raw, 4),
            "ece_after": round(ece, 4),
            "wrong_with_confidence_0.7": wrong_confident,
        }
    ml["foreign_temperature"] = round(foreign_temperature, 4)
    return ml, foreign_temperature


def measure_holdout(
    model: Fitted, holdout: list[Example], temperature: float, foreign_temperature: float
) -> dict[str, Any]:
    """Prints and returns the final model's figures on the holdout file (never trained or tuned on)."""
    texts = [e.prompt for e in holdout]
    labels = [e.category for e in holdout]
    scores = model.scores(featurise(texts))
    predicted = apply_overrides(texts, [CATEGORIES[i] for i in scores.argmax(axis=1)])
    truth = np.array([CATEGORIES.index(label) for label in labels])
    correct = scores.argmax(axis=1) == truth
    temps = np.array([foreign_temperature if foreign(t) else temperature for t in texts])
    ece_before, _ = calibration(softmax(scores).max(axis=1), correct)
    probs = np.vstack([softmax(scores[i : i + 1], float(temps[i])) for i in range(len(texts))])
    ece_after, _ = calibration(probs.max(axis=1), correct)
    print(f"\n=== holdout file ({len(texts)} prompts, measured only) ===")
    print(classification_report(labels, predicted, labels=list(CATEGORIES), digits=3, zero_division=0))
    score = macro(labels, predicted)
    print(f"holdout macro-F1: {score:.4f}   ECE {ece_before:.4f} -> {ece_after:.4f}")
    return {"macro_f1": round(score, 4), "ece_before": round(ece_before, 4), "ece_after": round(ece_after, 4)}


def main() -> None:
    """Evaluates on held-out sources and languages, then trains on everything and writes the artifact."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=ARTIFACTS, help="where to write category.npz and .json")
    parser.add_argument(
        "--recipe", choices=sorted(RECIPES), default="new", help="'old': the previous recipe, evaluated only"
    )
    parser.add_argument("--blend", type=float, default=None, help="weight of the dense model in the blend")
    parser.add_argument("--source-power", type=float, default=None)
    parser.add_argument("--no-write", action="store_true", help="evaluate only")
    args = parser.parse_args()

    started = time.perf_counter()
    recipe = RECIPES[args.recipe]
    recipe = Recipe(
        recipe.blend if args.blend is None else args.blend,
        recipe.c,
        recipe.dense_c,
        recipe.source_power if args.source_power is None else args.source_power,
    )
    corpus = load(args.data)
    for rule, count in sorted(corpus.t0_rules.items()):
        print(f"  {count:3d}  {rule}")
    print(
        f"{len(corpus.train)} examples, {len(set(e.source for e in corpus.train))} source groups; "
        f"per category: {dict(sorted(Counter(e.category for e in corpus.train).items()))}; recipe {recipe}"
    )
    figures, temperature, foreign_temperature = evaluate(corpus.train, corpus.multilingual, recipe)

    # The shipped model also learns from the other-language prompts (measured above with each language held out).
    everything = corpus.train + corpus.multilingual
    features = featurise([e.prompt for e in everything])
    model = fit(features, [e.category for e in everything], [e.source for e in everything], recipe)
    figures["holdout"] = measure_holdout(model, corpus.holdout, temperature, foreign_temperature)
    if args.no_write or args.recipe != "new":
        print(f"\nnot written ({time.perf_counter() - started:.0f} s)")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    save_npz(
        args.out / f"{NAME}.npz",
        {
            "weights": model.weights.astype(np.float16),
            "bias": model.bias.astype(np.float32),
            "classes": np.array(CATEGORIES),
            "dense_weights": model.dense_weights.astype(np.float32),
            "dense_mean": model.dense_mean.astype(np.float32),
            "dense_scale": model.dense_scale.astype(np.float32),
            "temperature": np.array([temperature, foreign_temperature], dtype=np.float32),
        },
    )
    meta = {
        "model": "blend of two multinomial logistic regressions, on hashed n-grams and on the static embedding "
        "with shape cues, temperature-scaled",
        "examples": len(everything),
        "evaluation": figures,
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(meta, indent=1) + "\n")
    size = (args.out / f"{NAME}.npz").stat().st_size
    print(f"\nwrote {args.out / NAME}.npz ({size / 1e6:.2f} MB) and .json in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
