"""Trains the learned complexity model (p_cheap_ok) and measures it as RouteLLM does.

    python -m training.complexity [--data ../shared/data] [--out switchyard/ml/artifacts]

Data: the two GPT-4-class pairs the shared data has, both "where a GPT-4-class model pays off":
- router/mmlu_train.jsonl: MMLU questions with the correctness of Mixtral-8x7B (cheap) and GPT-4;
- router/outcomes.jsonl, its Chatbot Arena rows: Mixtral-8x7B and two GPT-4 versions graded 1-10 by
  a GPT-4 judge (as (s-1)/9; the strong score is the mean of the two GPT-4s). Weighted 5x: 294 open
  chat prompts next to 9,840 multiple-choice questions.
The rest of outcomes.jsonl (nine open 7B-70B models on twelve tasks) is used for evaluation only:
trained on, its small-vs-large gaps taught the model which task a prompt came from rather than which
prompt of a task is hard (leave-one-task-out APGR fell below prompt length on every task).

Label: the strong model's gain over the cheap one, clipped to [0, 1] (for MMLU: strong right and
cheap wrong), as a fractional label; p_cheap_ok = 1 - P(gain). Routing to the strong model pays
only where it answers better, so this is the quantity to threshold.

Features: the shared hashed n-grams, the shared static embedding of the prompt
(switchyard.ml.embedder) and the dense length and structure cues (`dense_features`), standardised;
one logistic regression (liblinear, L2, C chosen by grouped cross-validation).

Evaluation (printed, and the figures the README quotes): out of fold, MMLU grouped by SUBJECT (no
subject is ever both trained on and judged) and the arena prompts in five folds; APGR, CPT(50 %),
CPT(80 %) and the strong-call share for 95 % of the strong model's quality, with 95 % bootstrap
intervals, against prompt length and random routing; and the llmrouter tasks, which the model never
saw. The threshold table (p_cheap_ok threshold per strong-call share) comes from the pooled
out-of-fold predictions. Deterministic: fixed folds, liblinear, the artifact written byte for byte.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.model_selection import GroupKFold  # type: ignore[import-untyped]

from switchyard.ml.complexity import DEFAULT_STRONG_SHARE, DENSE_FEATURES, FOCUS_CHARS, NAME, dense_features
from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.features import DIMS, hashed
from switchyard.ml.routing_eval import bootstrap, curve
from training import ARTIFACTS, DATA
from training.artifacts import save_npz

MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
GPT4 = ("gpt-4-0314", "gpt-4-1106-preview")
SMALL = (
    "llama3-chatqa-1.5-8b",
    "qwen2.5-7b-instruct",
    "mistral-7b-instruct-v0.3",
    "gemma-2-9b-it",
    "llama-3.1-8b-instruct",
    "codegemma-7b",
)
LARGE = ("llama3-chatqa-1.5-70b", "llama-3.1-nemotron-51b-instruct", "llama-3.3-nemotron-super-49b-v1")
ARENA_WEIGHT = 5.0
C_GRID = (0.02, 0.05, 0.2)
LENGTH_BLEND = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
FOLDS = 5
TABLE_SHARES = tuple(round(0.05 * i, 2) for i in range(21))
# Weights are clipped to this many standard deviations of a standardised dense feature at run time.
CLIP = 4.0


@dataclass
class Rows:
    """Prompts with the cheap and strong models' quality, where they come from, and how they are grouped."""

    prompts: list[str]
    cheap: npt.NDArray[np.float64]
    strong: npt.NDArray[np.float64]
    task: npt.NDArray[np.str_]
    group: npt.NDArray[np.str_]


def load(data: Path) -> Rows:
    """Returns MMLU, the arena rows and the llmrouter rows (the last for evaluation only)."""
    prompts: list[str] = []
    cheap: list[float] = []
    strong: list[float] = []
    task: list[str] = []
    group: list[str] = []

    def add(prompt: str, c: float, s: float, t: str, g: str) -> None:
        prompts.append(prompt)
        cheap.append(c)
        strong.append(s)
        task.append(t)
        group.append(g)

    for line in (data / "router" / "mmlu_train.jsonl").read_text().split("\n"):
        if not line.strip():
            continue
        row = json.loads(line)
        add(row["prompt"], float(row["cheap_correct"]), float(row["strong_correct"]), "mmlu", row["subject"])
    for index, line in enumerate((data / "router" / "outcomes.jsonl").read_text().split("\n")):
        if not line.strip():
            continue
        row = json.loads(line)
        scores = row["scores"]
        if row["source"] == "arena-bench-v1" and MIXTRAL in scores:
            gpt4 = float(np.mean([scores[m] for m in GPT4 if m in scores]))
            add(row["prompt"], float(scores[MIXTRAL]), gpt4, "arena", f"arena-{index % FOLDS}")
        elif all(m in scores for m in SMALL + LARGE):
            small = float(np.mean([scores[m] for m in SMALL]))
            large = float(np.mean([scores[m] for m in LARGE]))
            add(row["prompt"], small, large, f"llmrouter:{row['task']}", row["task"])
    return Rows(prompts, np.array(cheap), np.array(strong), np.array(task), np.array(group))


def features(prompts: Sequence[str]) -> tuple[sp.csr_matrix, npt.NDArray[np.float64]]:
    """Returns (hashed n-grams, [embedding, dense cues]) of each prompt's focus."""
    embedder = StaticEmbedder.load()
    rows, cols, vals = [], [], []
    dense = np.zeros((len(prompts), embedder.dim + len(DENSE_FEATURES)))
    for i, prompt in enumerate(prompts):
        focus = prompt[:FOCUS_CHARS]
        indices, values = hashed(focus, DIMS)
        rows += [i] * len(indices)
        cols += list(indices)
        vals += list(values)
        dense[i, : embedder.dim] = embedder.embed_one(focus)
        dense[i, embedder.dim :] = dense_features(prompt)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(prompts), DIMS), dtype=np.float64), dense


@dataclass
class Fitted:
    """A fitted model: hashed weights, dense weights, their scaling and the bias (all of log-odds cheap ok)."""

    hashed: npt.NDArray[np.float64]
    dense: npt.NDArray[np.float64]
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    bias: float
    # length: (blend weight, mean, scale) of the log word count subtracted from the log-odds.
    length: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def logit(self, h: sp.csr_matrix, d: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = np.clip((d - self.mean) / self.scale, -CLIP, CLIP)
        blend, mean, scale = self.length
        words = d[:, -len(DENSE_FEATURES) + DENSE_FEATURES.index("log_words")]
        return np.asarray(h @ self.hashed + z @ self.dense + self.bias - blend * (words - mean) / scale)


def fit(
    h: sp.csr_matrix, d: npt.NDArray[np.float64], gain: npt.NDArray[np.float64], w: npt.NDArray[np.float64], c: float
) -> Fitted:
    """Returns the logistic regression of "cheap is as good" (1 - gain, fractional) on the features."""
    mean = d.mean(axis=0)
    scale = d.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.clip((d - mean) / scale, -CLIP, CLIP)
    x = sp.hstack([h, sp.csr_matrix(z)]).tocsr()
    ok = 1.0 - gain
    both = sp.vstack([x, x]).tocsr()
    labels = np.r_[np.ones(len(ok)), np.zeros(len(ok))]
    model = LogisticRegression(C=c, solver="liblinear", max_iter=5000).fit(
        both, labels, sample_weight=np.r_[ok * w, (1 - ok) * w]
    )
    coef = model.coef_[0]
    return Fitted(coef[:DIMS], coef[DIMS:], mean, scale, float(model.intercept_[0]))


def out_of_fold(rows: Rows, h: sp.csr_matrix, d: npt.NDArray[np.float64], c: float) -> npt.NDArray[np.float64]:
    """Returns out-of-fold log-odds (cheap ok) of the MMLU (by subject) and arena (by fold) rows."""
    train = np.flatnonzero((rows.task == "mmlu") | (rows.task == "arena"))
    gain = np.clip(rows.strong - rows.cheap, 0.0, 1.0)
    weight = np.where(rows.task == "arena", ARENA_WEIGHT, 1.0)
    result = np.full(len(rows.prompts), np.nan)
    for fold_train, fold_test in GroupKFold(n_splits=FOLDS).split(train, groups=rows.group[train]):
        a, b = train[fold_train], train[fold_test]
        result[b] = fit(h[a], d[a], gain[a], weight[a], c).logit(h[b], d[b])
    return result


def report(
    rows: Rows,
    logit: npt.NDArray[np.float64],
    length: npt.NDArray[np.float64],
    fitted: Fitted,
    features: tuple[sp.csr_matrix, npt.NDArray[np.float64]],
) -> tuple[str, dict[str, Any]]:
    """Returns the evaluation table (Markdown) and its figures."""
    lines = [
        "| prompts (cheap vs strong) | n | router: APGR | length: APGR | random: APGR | CPT(50 %) | CPT(80 %) | "
        "share for 95 % of strong quality (router / length) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    figures: dict[str, Any] = {}
    unseen = fitted.logit(*features)
    for task in ("mmlu", "arena", *sorted({t for t in rows.task if t.startswith("llmrouter:")})):
        part = rows.task == task
        score = -(logit[part] if task in ("mmlu", "arena") else unseen[part])
        cheap, strong = rows.cheap[part], rows.strong[part]
        ours = bootstrap(score, cheap, strong, rounds=100)
        base = curve(length[part], cheap, strong)
        random = curve(np.zeros(int(part.sum())), cheap, strong)
        label = {"mmlu": "MMLU, subjects held out", "arena": "arena chat (GPT-4 judge), held-out folds"}.get(
            task, f"{task.removeprefix('llmrouter:')} (7-9B vs 49-70B), never trained on"
        )
        lines.append(
            f"| {label} | {int(part.sum())} | {ours['apgr']} | {base.apgr:.3f} | {random.apgr:.3f} | "
            f"{ours['cpt50'].value:.2f} | {ours['cpt80'].value:.2f} | "
            f"{ours['share_95'].value:.2f} / {base.share_95:.2f} |"
        )
        figures[task] = {
            "apgr": ours["apgr"].value,
            "apgr_low": ours["apgr"].low,
            "apgr_high": ours["apgr"].high,
            "length_apgr": base.apgr,
            "share_95": ours["share_95"].value,
        }
    return "\n".join(lines), figures


def calibration(rows: Rows, table: list[dict[str, float]], p_cheap_ok: npt.NDArray[np.float64]) -> str:
    """Returns, per target strong-call share, the share each held-out set really sent to the strong model."""
    shares = np.array([t["strong_share"] for t in table])
    thresholds = np.array([t["threshold"] for t in table])
    lines = [
        "| target strong share | realised: MMLU (subjects held out) | realised: arena (held out) |",
        "|---|---|---|",
    ]
    for target in (0.2, 0.3, 0.5, 0.7):
        threshold = float(np.interp(target, shares, thresholds))
        realised = [float((p_cheap_ok[rows.task == t] < threshold).mean()) for t in ("mmlu", "arena")]
        lines.append(f"| {target:.0%} | {realised[0]:.1%} | {realised[1]:.1%} |")
    return "\n".join(lines)


def threshold_table(p_cheap_ok: npt.NDArray[np.float64]) -> list[dict[str, float]]:
    """Returns, per strong-call share, the p_cheap_ok threshold that sent that share of held-out prompts to strong."""
    ranked = np.sort(p_cheap_ok)
    table = []
    for share in TABLE_SHARES:
        if share <= 0:
            threshold = 0.0
        elif share >= 1:
            threshold = 1.0
        else:
            threshold = float(ranked[min(len(ranked) - 1, round(share * len(ranked)))])
        table.append({"strong_share": share, "threshold": round(threshold, 6)})
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ARTIFACTS)
    args = parser.parse_args()
    rows = load(args.data)
    h, d = features(rows.prompts)
    length = d[:, -len(DENSE_FEATURES) + DENSE_FEATURES.index("log_words")]
    held = (rows.task == "mmlu") | (rows.task == "arena")
    best, best_c = -1.0, C_GRID[0]
    for c in C_GRID:
        logit = out_of_fold(rows, h, d, c)
        mean_apgr = np.mean(
            [
                curve(-logit[rows.task == t], rows.cheap[rows.task == t], rows.strong[rows.task == t]).apgr
                for t in ("mmlu", "arena")
            ]
        )
        print(f"C={c}: mean out-of-fold APGR (MMLU, arena) {mean_apgr:.3f}", flush=True)
        if mean_apgr > best:
            best, best_c = float(mean_apgr), c
    logit = out_of_fold(rows, h, d, best_c)
    # Prompt length is the one signal that held up on every held-out task: the model's log-odds are
    # blended with the standardised log word count, the blend weight chosen on the out-of-fold figures.
    words_mean, words_scale = float(length[held].mean()), float(length[held].std())
    standard_length = (length - words_mean) / words_scale
    blend = max(
        LENGTH_BLEND,
        key=lambda b: np.mean(
            [
                curve(
                    -(logit - b * standard_length)[rows.task == t],
                    rows.cheap[rows.task == t],
                    rows.strong[rows.task == t],
                ).apgr
                for t in ("mmlu", "arena")
            ]
        ),
    )
    print(f"length blend {blend}")
    logit = logit - blend * standard_length
    gain = np.clip(rows.strong - rows.cheap, 0.0, 1.0)
    weight = np.where(rows.task == "arena", ARENA_WEIGHT, 1.0)
    fitted = fit(h[held], d[held], gain[held], weight[held], best_c)
    fitted.length = (blend, words_mean, words_scale)
    table, figures = report(rows, logit, length, fitted, (h, d))
    print(f"\nC = {best_c}\n\n{table}\n")
    p_ok = 1.0 / (1.0 + np.exp(-logit[held]))
    save_npz(
        args.out / f"{NAME}.npz",
        {
            "weights": fitted.hashed.astype(np.float16)[:, None],
            "bias": np.array([fitted.bias], dtype=np.float32),
            "classes": np.array(["cheap_ok"]),
            "dense_weights": fitted.dense.astype(np.float32),
        },
    )
    meta = {
        "model": "logistic regression of cheap-is-as-good on hashed n-grams, the static embedding and dense cues; "
        "see training/complexity.py",
        "dense_features": ["embedding"] * StaticEmbedder.load().dim + list(DENSE_FEATURES),
        "dense_mean": [round(float(v), 6) for v in fitted.mean],
        "dense_scale": [round(float(v), 6) for v in fitted.scale],
        "clip": CLIP,
        "length_blend": {"weight": blend, "mean": round(words_mean, 6), "scale": round(words_scale, 6)},
        "default_strong_share": DEFAULT_STRONG_SHARE,
        "thresholds": threshold_table(p_ok),
        "evaluation": figures,
    }
    print(calibration(rows, threshold_table(p_ok), 1.0 / (1.0 + np.exp(-logit))))
    (args.out / f"{NAME}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {args.out / NAME}.npz and .json")


if __name__ == "__main__":
    main()
