"""Trains the learned complexity model (p_cheap_ok) and measures it as RouteLLM does.

Data: ../shared/data/router/mmlu_train.jsonl, MMLU questions with the real correctness of a cheap
(Mixtral-8x7B) and a strong (GPT-4) model.

Label: cheap_ok = cheap_correct or not strong_correct, "the cheap model is as good". Routing a
prompt to the strong model only pays when the strong answer is right and the cheap one wrong, so
p_cheap_ok = 1 - P(strong wins) is exactly the quantity to threshold. A plain difficulty label
(cheap_correct) would also send to the strong model prompts that both models fail (14 % of MMLU),
where the extra cost buys nothing; the script measures that alternative too.

Features: the shared hashed text features plus the dense length/structure cues of
`switchyard.ml.complexity.dense_features` (no subject name is ever a feature).

Evaluation: 5-fold cross-validation grouped by SUBJECT (every prediction comes from a model that
never saw that subject), reporting the quality vs strong-call-share curve, APGR, CPT(50 %) and
CPT(80 %) against random routing, the length baseline and a random (in-subject) split. The
threshold table (p_cheap_ok threshold per strong-call share) comes from the pooled held-out-subject
predictions. The final model is fitted on all rows and written to
switchyard/ml/artifacts/complexity.{npz,json}; the evaluation goes to
bench/results/complexity_eval.json.

Run: .venv/bin/python -m training.complexity [--data PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import GroupKFold, KFold  # type: ignore[import-untyped]

from switchyard.ml.complexity import (
    DEFAULT_STRONG_SHARE,
    DENSE_FEATURES,
    NAME,
    dense_features,
)
from switchyard.ml.features import DIMS, hashed
from training import ARTIFACTS, DATA, ROOT

MMLU = DATA / "router" / "mmlu_train.jsonl"
RESULTS = ROOT / "bench" / "results" / "complexity_eval.json"
SEED = 7
FOLDS = 5
C_GRID = (0.25, 0.5, 1.0, 2.0, 4.0)
TABLE_SHARES = tuple(round(0.05 * i, 2) for i in range(21))
CURVE_SHARES = np.linspace(0.0, 1.0, 101)

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Data:
    """The rows as features and outcomes."""

    texts: list[str]
    subjects: npt.NDArray[np.str_]
    cheap: Bools
    strong: Bools
    text_x: Any  # scipy CSR matrix, rows by DIMS
    dense_x: npt.NDArray[np.float32]

    @property
    def cheap_ok(self) -> Bools:
        """Returns the label: the cheap model is right, or the strong one is wrong too."""
        return self.cheap | ~self.strong


def load(path: Path) -> Data:
    """Returns the rows of the MMLU router file at path, featurised."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    texts = [str(r["prompt"]) for r in rows]
    indptr, indices, values = [0], [], []
    for text in texts:
        idx, val = hashed(text)
        indices.append(idx)
        values.append(val)
        indptr.append(indptr[-1] + len(idx))
    text_x = sp.csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)), shape=(len(texts), DIMS)
    )
    return Data(
        texts=texts,
        subjects=np.array([str(r["subject"]) for r in rows]),
        cheap=np.array([bool(r["cheap_correct"]) for r in rows]),
        strong=np.array([bool(r["strong_correct"]) for r in rows]),
        text_x=text_x,
        dense_x=np.stack([dense_features(t) for t in texts]),
    )


@dataclass(frozen=True)
class Fitted:
    """A fitted logistic regression with the dense scaling it was trained with."""

    model: Any
    mean: npt.NDArray[np.float32]
    scale: npt.NDArray[np.float32]
    use_text: bool
    use_dense: bool

    def matrix(self, data: Data, rows: npt.NDArray[np.int64]) -> Any:
        """Returns the design matrix of rows, as the model was trained on."""
        parts = []
        if self.use_text:
            parts.append(data.text_x[rows])
        if self.use_dense:
            dense = np.clip((data.dense_x[rows] - self.mean) / self.scale, -4.0, 4.0)
            parts.append(sp.csr_matrix(dense))
        return sp.hstack(parts, format="csr")

    def p(self, data: Data, rows: npt.NDArray[np.int64]) -> Floats:
        """Returns p(label) for rows."""
        return np.asarray(self.model.predict_proba(self.matrix(data, rows))[:, 1], dtype=np.float64)


def fit(
    data: Data, rows: npt.NDArray[np.int64], label: Bools, c: float, *, use_text: bool = True, use_dense: bool = True
) -> Fitted:
    """Returns logistic regression (L2, strength 1/c) fitted on rows of data against label."""
    mean = data.dense_x[rows].mean(axis=0)
    scale = data.dense_x[rows].std(axis=0) + 1e-6
    shell = Fitted(None, mean, scale, use_text, use_dense)
    model = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
    model.fit(shell.matrix(data, rows), label[rows])
    return Fitted(model, mean, scale, use_text, use_dense)


def out_of_fold(
    data: Data, splits: Sequence[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]], train: Callable[..., Fitted]
) -> Floats:
    """Returns the held-out prediction of every row, each from the split model that did not see it."""
    p = np.zeros(len(data.texts))
    for tr, te in splits:
        p[te] = train(tr).p(data, te)
    return p


def routing_curve(strong_score: Floats, cheap: Bools, strong: Bools) -> dict[str, Any]:
    """Returns the RouteLLM figures of routing the highest strong_score prompts to the strong model.

    quality(s) is the accuracy of routed answers when a share s goes strong; PGR(s) is the share of
    the cheap-to-strong accuracy gap recovered; APGR is the area under PGR(s) (random routing: 0.5);
    CPT(x) is the least strong share at which PGR reaches x (random routing: x).
    """
    n = len(cheap)
    order = np.argsort(-strong_score, kind="stable")
    gain = (strong[order].astype(np.float64) - cheap[order].astype(np.float64)).cumsum()
    base, top = float(cheap.mean()), float(strong.mean())
    quality_at = np.concatenate([[base], base + gain / n])  # k strong calls, k = 0..n
    pgr_at = (quality_at - base) / (top - base)
    shares_all = np.arange(n + 1) / n
    apgr = float(np.sum((pgr_at[1:] + pgr_at[:-1]) / 2) / n)

    def cpt(target: float) -> float:
        reached = np.nonzero(pgr_at >= target)[0]
        return float(shares_all[reached[0]]) if len(reached) else 1.0

    ks = np.round(CURVE_SHARES * n).astype(int)
    return {
        "apgr": round(apgr, 4),
        "cpt50": round(cpt(0.5), 4),
        "cpt80": round(cpt(0.8), 4),
        "cheap_accuracy": round(base, 4),
        "strong_accuracy": round(top, 4),
        "curve": [
            {
                "strong_share": round(float(s), 2),
                "quality": round(float(quality_at[k]), 4),
                "pgr": round(float(pgr_at[k]), 4),
            }
            for s, k in zip(CURVE_SHARES, ks, strict=True)
        ],
    }


def random_routing(cheap: Bools, strong: Bools, draws: int = 200) -> dict[str, float]:
    """Returns mean APGR/CPT of random routing over draws permutations (analytically 0.5/0.5/0.8)."""
    rng = np.random.default_rng(SEED)
    figures = [routing_curve(rng.random(len(cheap)), cheap, strong) for _ in range(draws)]
    return {key: round(float(np.mean([f[key] for f in figures])), 4) for key in ("apgr", "cpt50", "cpt80")}


def threshold_table(p: Floats) -> list[dict[str, float]]:
    """Returns, per strong share s, the p_cheap_ok threshold below which a share s of p falls."""
    table = []
    for share in TABLE_SHARES:
        if share <= 0.0:
            threshold = 0.0
        elif share >= 1.0:
            threshold = 1.0
        else:
            threshold = float(np.quantile(p, share))
        table.append({"strong_share": share, "threshold": round(threshold, 5)})
    return table


def summary(figures: dict[str, Any]) -> str:
    """Returns APGR/CPT figures as one line."""
    return f"APGR {figures['apgr']:.3f}  CPT(50%) {figures['cpt50']:.3f}  CPT(80%) {figures['cpt80']:.3f}"


def main() -> None:
    """Evaluates on held-out subjects, then fits on all rows and writes the artifacts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=MMLU)
    parser.add_argument("--out", type=Path, default=ARTIFACTS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()

    started = time.perf_counter()
    data = load(args.data)
    label = data.cheap_ok
    print(
        f"{len(data.texts)} prompts, {len(set(data.subjects))} subjects, cheap_ok rate {label.mean():.3f}, "
        f"featurised in {time.perf_counter() - started:.1f}s"
    )
    n = len(data.texts)
    everything = np.arange(n)
    by_subject = list(GroupKFold(n_splits=FOLDS).split(everything, groups=data.subjects))
    in_subject = list(KFold(n_splits=FOLDS, shuffle=True, random_state=SEED).split(everything))

    def curve(p_cheap_ok: Floats) -> dict[str, Any]:
        return routing_curve(1.0 - p_cheap_ok, data.cheap, data.strong)

    # Regularisation chosen on held-out subjects (the reported APGR is thus mildly optimistic).
    by_c = {}
    for c in C_GRID:
        p = out_of_fold(data, by_subject, lambda tr, c=c: fit(data, tr, label, c))
        by_c[c] = (curve(p)["apgr"], p)
        print(f"  C={c:<5} held-out subjects: {summary(curve(p))}")
    best_c = max(by_c, key=lambda c: by_c[c][0])
    p_held = by_c[best_c][1]
    main_figures = curve(p_held)

    rng = np.random.default_rng(SEED)
    lengths = np.array([len(t) for t in data.texts], dtype=np.float64)
    variants = {
        "random (expected)": {"apgr": 0.5, "cpt50": 0.5, "cpt80": 0.8},
        "random (200 draws)": random_routing(data.cheap, data.strong),
        "length (current default)": routing_curve(lengths + rng.random(n) * 1e-3, data.cheap, data.strong),
        "dense cues only": curve(
            out_of_fold(data, by_subject, lambda tr: fit(data, tr, label, best_c, use_text=False))
        ),
        "hashed text only": curve(
            out_of_fold(data, by_subject, lambda tr: fit(data, tr, label, best_c, use_dense=False))
        ),
        "label cheap_correct": curve(out_of_fold(data, by_subject, lambda tr: fit(data, tr, data.cheap, best_c))),
        "in-subject random split": curve(out_of_fold(data, in_subject, lambda tr: fit(data, tr, label, best_c))),
        "oracle": routing_curve((data.strong & ~data.cheap).astype(np.float64), data.cheap, data.strong),
    }
    per_fold = []
    for _, te in by_subject:
        per_fold.append(routing_curve(1.0 - p_held[te], data.cheap[te], data.strong[te])["apgr"])

    print(f"\nheld-out subjects ({FOLDS}-fold grouped CV), chosen C={best_c}:")
    print(f"  learned (hashed + dense)  {summary(main_figures)}  per-fold APGR {per_fold}")
    for name, figures in variants.items():
        print(f"  {name:<25} {summary(figures)}")
    print("\nquality vs strong share (learned | random):")
    for row in main_figures["curve"][::10]:
        expected = main_figures["cheap_accuracy"] + row["strong_share"] * (
            main_figures["strong_accuracy"] - main_figures["cheap_accuracy"]
        )
        print(f"  {row['strong_share']:.1f}  {row['quality']:.4f} | {expected:.4f}  PGR {row['pgr']:.3f}")

    table = threshold_table(p_held)
    print("\nthresholds (route strong when p_cheap_ok < threshold):")
    for row in table:
        if row["strong_share"] in (0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9):
            print(f"  strong share {row['strong_share']:.2f}: {row['threshold']:.4f}")

    final = fit(data, everything, label, best_c)
    weights = np.asarray(final.model.coef_[0], dtype=np.float64)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out / f"{NAME}.npz",
        weights=weights[:DIMS].reshape(DIMS, 1).astype(np.float16),
        bias=np.asarray(final.model.intercept_, dtype=np.float32),
        classes=np.array(["cheap_ok"]),
        dense_weights=weights[DIMS:].astype(np.float32),
    )
    meta = {
        "label": "cheap_ok = cheap_correct or not strong_correct",
        "data": "lm-sys/RouteLLM mmlu (Mixtral-8x7B cheap, GPT-4-1106 strong), 9,840 prompts",
        "c": best_c,
        "dims": DIMS,
        "dense_features": list(DENSE_FEATURES),
        "dense_mean": [round(float(v), 6) for v in final.mean],
        "dense_scale": [round(float(v), 6) for v in final.scale],
        "default_strong_share": DEFAULT_STRONG_SHARE,
        "thresholds": table,
        "held_out_subjects": {k: main_figures[k] for k in ("apgr", "cpt50", "cpt80")},
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(meta, indent=1) + "\n")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    results = {
        "c": best_c,
        "learned": main_figures,
        "per_fold_apgr": per_fold,
        "c_grid": {str(c): v[0] for c, v in by_c.items()},
        "variants": {k: {key: v[key] for key in ("apgr", "cpt50", "cpt80")} for k, v in variants.items()},
        "thresholds": table,
    }
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    size = sum((args.out / f"{NAME}.{ext}").stat().st_size for ext in ("npz", "json"))
    print(
        f"\nwrote {args.out}/{NAME}.npz+.json ({size / 1024:.1f} KiB), {args.results}; "
        f"{time.perf_counter() - started:.0f}s total"
    )


if __name__ == "__main__":
    main()
