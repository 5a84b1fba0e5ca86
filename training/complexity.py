"""Trains the learned complexity model (p_cheap_ok) and measures it as RouteLLM does.

    python -m training.complexity [--data ../shared/data] [--out switchyard/ml/artifacts]

Data: the two GPT-4-class pairs the shared data has, both "where a GPT-4-class model pays off":
- router/mmlu_train.jsonl: MMLU questions with the correctness of Mixtral-8x7B (cheap) and GPT-4;
- router/outcomes.jsonl, its Chatbot Arena rows: Mixtral-8x7B and two GPT-4 versions graded 1-10 by
  a GPT-4 judge (as (s-1)/9; the strong score is the mean of the two GPT-4s). Weighted 5x: 294 open
  chat prompts next to 9,840 multiple-choice questions.
The rest of outcomes.jsonl (nine open 7B-70B models on twelve tasks) does not train the text model:
trained on, its small-vs-large gaps taught it which task a prompt came from rather than which prompt
of a task is hard (leave-one-task-out APGR fell below prompt length on every task).

Open-ended prompts. What the text model learns on MMLU holds on multiple-choice questions only: on
the arena chat prompts (out of fold) and on the open models' tasks (word problems, code, QA) it did
no better than prompt length. So prompts that are not multiple-choice questions (`multiple_choice`) get their own
log-odds: gate * text model - difficulty * (linear difficulty of the dense cues) - length * (the
standardised log word count), rescaled to the spread the arena prompts had under the text model.
The difficulty weights are a ridge regression, within each open-model task, of how many of the nine
open models failed a prompt (cues and label centred and scaled per task, so only which prompt of a
task is hard is learned, not which task is). gate, difficulty and length are chosen on the arena
prompts (held-out folds) and, leave one task out, on eleven of the twelve tasks of open models, by
the mean margin over prompt length; the twelfth, gsm8k (grade-school math word problems), is left out
of every choice and reported. Then the log-odds lose ask * P(the prompt asks for maths, code or
reasoning) (`ask_head`, trained on the category data and seeds only): open prompts differ most by
kind, which the within-task difficulty cannot see. Its weight is chosen by the same margins and, as
much, by the margin on the open models' tasks pooled (gsm8k again left out), a mixture of kinds.
Last, they lose domain * (the domain heads' difficulty, `domain_heads`): one ridge regression per
open-model task over the scaled embedding and cues, of how many open models failed a prompt, gated
by the prompt's similarity to the task's centroid. Pooled over tasks the same features learned
nothing that transferred; within one task (gsm8k, mbpp) they rank better than length. A task whose
prompts are not set apart in the embedding space gets no head. The weight is chosen by the margins on
arena chat and the headed tasks except gsm8k (each head held out by five folds within its task), as
long as the pooled margin loses at most POOLED_SLACK. On the open models' tasks, which compare open
models only, "how much routing helps" is measured with each 7-9B model as the cheap one and a strong
model that answers every prompt (the difficulty proxy: a GPT-4-class model solves most of what 7-9B
models fail), besides the small-vs-large gap whose label is mostly noise.

Label: the strong model's gain over the cheap one, clipped to [0, 1] (for MMLU: strong right and
cheap wrong), as a fractional label; p_cheap_ok = 1 - P(gain). Routing to the strong model pays
only where it answers better, so this is the quantity to threshold.

Features of the text model: the shared hashed n-grams, the shared static embedding of the prompt
(switchyard.ml.embedder) and the dense length and structure cues (`dense_features`), standardised;
one logistic regression (liblinear, L2, C chosen by grouped cross-validation).

Evaluation (printed, and the figures the README quotes): out of fold, MMLU grouped by SUBJECT (no
subject is ever both trained on and judged) and the arena prompts in five folds; APGR, CPT(50 %),
CPT(80 %) and the strong-call share for 95 % of the strong model's quality, with 95 % bootstrap
intervals, against prompt length and random routing; and the llmrouter tasks, each scored by the
difficulty weights learned without it (the text model never saw any). The length blend of the
multiple-choice part is chosen on held-out MMLU. The threshold table (p_cheap_ok threshold per
strong-call share) comes from the pooled out-of-fold predictions. Deterministic: fixed folds,
liblinear, the artifact written byte for byte.
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
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]
from sklearn.model_selection import GroupKFold  # type: ignore[import-untyped]

from switchyard.ml.complexity import (
    DEFAULT_STRONG_SHARE,
    DENSE_FEATURES,
    FOCUS_CHARS,
    NAME,
    dense_features,
    multiple_choice,
)
from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.features import DIMS, hashed
from switchyard.ml.routing_eval import Interval, bootstrap, curve
from training import ARTIFACTS, DATA
from training.artifacts import save_npz
from training.category_data import HOLDOUT_FILE, SEED_FILE, clean_t0, read_jsonl, seed_examples

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
# The open-ended part: ridge penalty of the within-task difficulty, and the grid its weights come from.
DIFFICULTY_ALPHA = 0.1
OPEN_GATE = (0.0, 0.25, 0.5, 1.0)
OPEN_DIFFICULTY = (0.0, 0.25, 0.5, 1.0, 2.0)
OPEN_LENGTH = (0.5, 1.0, 2.0, 3.0)
# The maths, code or reasoning ask: its categories, its regularisation and the grid of its weight.
ASK_CATEGORIES = ("math", "code", "reasoning")
ASK_C = 1.0
OPEN_ASK = (0.0, 1.0, 2.0, 4.0, 8.0)
# The open-model task kept out of every choice, to be reported: grade-school math word problems.
REPORTED_TASK = "llmrouter:gsm8k"
# Domain heads: ridge penalty (per row) of a task's own difficulty over the scaled embedding and cues,
# the quantiles that place a task's gate (other prompts' similarity, its own prompts' median), the
# narrowest gate kept (a task whose prompts are not nearer its centroid than other prompts has none),
# the grid of the heads' weight and how much of the pooled margin over length that weight may cost.
DOMAIN_ALPHA = 2.0
DOMAIN_OTHERS = 95.0
DOMAIN_MIN_SPAN = 0.1
OPEN_DOMAIN = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)
POOLED_SLACK = 0.005


@dataclass
class Rows:
    """Prompts with the cheap and strong models' quality, where they come from, and how they are grouped."""

    prompts: list[str]
    cheap: npt.NDArray[np.float64]
    strong: npt.NDArray[np.float64]
    task: npt.NDArray[np.str_]
    group: npt.NDArray[np.str_]
    # The open models' scores (SMALL then LARGE) of the llmrouter rows; NaN elsewhere.
    models: npt.NDArray[np.float64]


def load(data: Path) -> Rows:
    """Returns MMLU, the arena rows and the llmrouter rows (the last for evaluation only)."""
    prompts: list[str] = []
    cheap: list[float] = []
    strong: list[float] = []
    task: list[str] = []
    group: list[str] = []
    models: list[list[float]] = []

    def add(prompt: str, c: float, s: float, t: str, g: str, *, m: list[float] | None = None) -> None:
        prompts.append(prompt)
        cheap.append(c)
        strong.append(s)
        task.append(t)
        group.append(g)
        models.append(m if m is not None else [float("nan")] * len(SMALL + LARGE))

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
            each = [float(scores[m]) for m in SMALL + LARGE]
            add(row["prompt"], small, large, f"llmrouter:{row['task']}", row["task"], m=each)
    return Rows(prompts, np.array(cheap), np.array(strong), np.array(task), np.array(group), np.array(models))


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


def centred(x: npt.NDArray[np.float64], groups: npt.NDArray[np.str_]) -> npt.NDArray[np.float64]:
    """Returns x with each group's mean subtracted (rows of a matrix, or values)."""
    x = np.array(x, dtype=np.float64)
    for g in np.unique(groups):
        x[groups == g] -= x[groups == g].mean(axis=0)
    return x


def difficulty_weights(
    cues: npt.NDArray[np.float64], failed: npt.NDArray[np.float64], task: npt.NDArray[np.str_]
) -> npt.NDArray[np.float64]:
    """Returns the ridge weights of the open models' failure rate on the scaled cues, within each task.

    Cues and label are centred per task and the label scaled per task, so a task's overall difficulty
    (or its typical prompt length) teaches nothing; the result is scaled to unit spread on these rows.
    """
    x = centred(cues, task)
    y = centred(failed, task)
    for t in np.unique(task):
        spread = y[task == t].std()
        y[task == t] /= spread if spread > 0 else 1.0
    w = np.linalg.solve(x.T @ x + DIFFICULTY_ALPHA * len(y) * np.eye(x.shape[1]), x.T @ y)
    spread = float((cues @ w).std())
    return np.asarray(w / (spread if spread > 0 else 1.0), dtype=np.float64)


@dataclass
class DomainHeads:
    """Per-task difficulty heads and the gates that say how much a prompt belongs to each task.

    A head ranks the prompts of one task by how many of the open models failed them, over the scaled
    embedding and cues, with unit spread on its task; what makes a grade-school word problem hard is not
    what makes a coding exercise hard, so a pooled model learns neither (leave-one-task-out it did no
    better than length). The gate of a task rises linearly from its low to its high similarity (cosine
    of the prompt's embedding to the task's centroid): 0 at the DOMAIN_OTHERS percentile of every other
    prompt, 1 at the median of its own.
    """

    tasks: list[str]
    centroids: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    bias: npt.NDArray[np.float64]

    def score(self, embedding: npt.NDArray[np.float64], scaled: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Returns the gated mean of the heads' difficulty for each row (0 where no gate opens)."""
        gates = np.clip((embedding @ self.centroids.T - self.low) / (self.high - self.low), 0.0, 1.0)
        heads = scaled @ self.weights.T + self.bias
        return np.asarray((gates * heads).sum(axis=1) / np.maximum(gates.sum(axis=1), 1.0))


def head(x: npt.NDArray[np.float64], failed: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], float]:
    """Returns (weights, bias) of the ridge regression of failed on x, scaled to unit spread on x."""
    mean = x.mean(axis=0)
    centred_x = x - mean
    y = failed - failed.mean()
    w = np.linalg.solve(centred_x.T @ centred_x + DOMAIN_ALPHA * len(y) * np.eye(x.shape[1]), centred_x.T @ y)
    spread = float((centred_x @ w).std()) or 1.0
    return w / spread, float(-(mean @ w) / spread)


def domain_heads(
    rows: Rows, embedding: npt.NDArray[np.float64], scaled: npt.NDArray[np.float64]
) -> tuple[DomainHeads, npt.NDArray[np.float64]]:
    """Returns the domain heads of the open-model tasks and their held-out score for every row.

    A task's own rows are scored by heads fitted without them (five folds within the task); every other
    row by the heads as shipped, which never saw it.
    """
    tasks = sorted({t for t in rows.task if t.startswith("llmrouter:")})
    failed = 1.0 - rows.models.mean(axis=1)
    unit = embedding / np.maximum(np.linalg.norm(embedding, axis=1, keepdims=True), 1e-12)
    kept, centroids, low, high, weights, bias = [], [], [], [], [], []
    folds: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], float]]] = {}
    for task in tasks:
        own = rows.task == task
        centroid = unit[own].mean(axis=0)
        centroid /= np.linalg.norm(centroid)
        near = unit @ centroid
        lo, hi = float(np.percentile(near[~own], DOMAIN_OTHERS)), float(np.median(near[own]))
        if hi - lo < DOMAIN_MIN_SPAN:
            continue
        index = np.flatnonzero(own)
        w, b = head(scaled[index], failed[index])
        kept.append(task)
        centroids.append(centroid)
        low.append(round(lo, 6))
        high.append(round(hi, 6))
        weights.append(w)
        bias.append(b)
        folds[task] = []
        for k in range(FOLDS):
            held = np.arange(len(index)) % FOLDS == k
            folds[task].append((index[held], *head(scaled[index[~held]], failed[index[~held]])))
    heads = DomainHeads(
        kept,
        np.array(centroids, dtype=np.float32).astype(np.float64),
        np.array(low),
        np.array(high),
        np.array(weights, dtype=np.float32).astype(np.float64),
        np.round(np.array(bias), 6),
    )
    result = heads.score(unit, scaled)
    words = scaled[:, -len(DENSE_FEATURES) + DENSE_FEATURES.index("log_words")]
    for t, task in enumerate(kept):
        for test, fw, fb in folds[task]:
            fold = DomainHeads(
                heads.tasks, heads.centroids, heads.low, heads.high, heads.weights.copy(), heads.bias.copy()
            )
            fold.weights[t], fold.bias[t] = fw, fb
            result[test] = fold.score(unit[test], scaled[test])
    for t, task in enumerate(kept):
        own = rows.task == task
        print(
            f"domain head {task.removeprefix('llmrouter:')}: gate {heads.low[t]:.2f} to {heads.high[t]:.2f}, "
            f"held out alone {difficulty_proxy(result[own], rows.models[own]):.3f} "
            f"(length {difficulty_proxy(words[own], rows.models[own]):.3f})"
        )
    return heads, result


def difficulty_proxy(score: npt.NDArray[np.float64], models: npt.NDArray[np.float64], rounds: int = 0) -> Any:
    """Returns the APGR of routing by score with each 7-9B model as the cheap one and an always-right
    strong one, averaged over the 7-9B models (with a 95 % bootstrap interval when rounds > 0)."""

    def mean_apgr(pick: npt.NDArray[np.int64], repeats: int) -> float:
        ones = np.ones(len(pick))
        return float(np.mean([curve(score[pick], models[pick, j], ones, repeats).apgr for j in range(len(SMALL))]))

    every = np.arange(len(score))
    value = mean_apgr(every, 8)
    if not rounds:
        return value
    rng = np.random.default_rng(1)
    samples = [mean_apgr(rng.integers(0, len(score), len(score)), 2) for _ in range(rounds)]
    return Interval(value, float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5)))


def report(
    rows: Rows,
    logit: npt.NDArray[np.float64],
    length: npt.NDArray[np.float64],
) -> tuple[str, dict[str, Any]]:
    """Returns the evaluation table (Markdown) and its figures; logit is held out for every row."""
    lines = [
        "| prompts (cheap vs strong) | n | router: APGR | length: APGR | random: APGR | CPT(50 %) | CPT(80 %) | "
        "share for 95 % of strong quality (router / length) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    figures: dict[str, Any] = {}
    for task in ("mmlu", "arena", *sorted({t for t in rows.task if t.startswith("llmrouter:")})):
        part = rows.task == task
        score = -logit[part]
        cheap, strong = rows.cheap[part], rows.strong[part]
        ours = bootstrap(score, cheap, strong, rounds=100)
        base = curve(length[part], cheap, strong)
        random = curve(np.zeros(int(part.sum())), cheap, strong)
        label = {"mmlu": "MMLU, subjects held out", "arena": "arena chat (GPT-4 judge), held-out folds"}.get(
            task, f"{task.removeprefix('llmrouter:')} (7-9B vs 49-70B), task held out"
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
        if task.startswith("llmrouter:"):
            proxy = difficulty_proxy(score, rows.models[part], rounds=100 if task == REPORTED_TASK else 0)
            figures[task]["difficulty_proxy"] = proxy.value if isinstance(proxy, Interval) else proxy
            figures[task]["length_difficulty_proxy"] = difficulty_proxy(length[part], rows.models[part])
            if isinstance(proxy, Interval):
                figures[task]["difficulty_proxy_low"], figures[task]["difficulty_proxy_high"] = proxy.low, proxy.high
    pool = np.char.startswith(rows.task.astype(str), "llmrouter:")
    mixture = bootstrap(-logit[pool], rows.cheap[pool], rows.strong[pool], rounds=100)
    mixture_length = curve(length[pool], rows.cheap[pool], rows.strong[pool])
    lines.append(
        f"| the twelve open-model tasks pooled (7-9B vs 49-70B) | {int(pool.sum())} | {mixture['apgr']} | "
        f"{mixture_length.apgr:.3f} | | {mixture['cpt50'].value:.2f} | {mixture['cpt80'].value:.2f} | "
        f"{mixture['share_95'].value:.2f} / {mixture_length.share_95:.2f} |"
    )
    figures["open_tasks_pooled"] = {
        "apgr": mixture["apgr"].value,
        "apgr_low": mixture["apgr"].low,
        "apgr_high": mixture["apgr"].high,
        "length_apgr": mixture_length.apgr,
        "share_95": mixture["share_95"].value,
    }
    lines += [
        "",
        "| open-model task held out | difficulty proxy APGR: router | length |",
        "|---|---|---|",
    ]
    for task in sorted(t for t in figures if t.startswith("llmrouter:")):
        shown = figures[task]
        value = (
            f"{Interval(shown['difficulty_proxy'], shown['difficulty_proxy_low'], shown['difficulty_proxy_high'])}"
            if "difficulty_proxy_low" in shown
            else f"{shown['difficulty_proxy']:.3f}"
        )
        lines.append(f"| {task.removeprefix('llmrouter:')} | {value} | {shown['length_difficulty_proxy']:.3f} |")
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


def ask_head(data: Path, embedder: StaticEmbedder) -> tuple[npt.NDArray[np.float64], float]:
    """Returns (weights, bias) of the log-odds that a prompt asks for maths, code or reasoning, over its
    embedding, and prints how well it ranks the category model's untouched holdout prompts.

    Trained on the category trainer's cleaned categories/train.jsonl and its hand-written seeds (the
    asks against every other category, balanced), without the HumanEval rows: those are the open
    models' human_eval task, which the mixture check scores. None of the router's data trains it.
    """
    cleaned, _ = clean_t0(read_jsonl(data / "categories" / "train.jsonl"))
    examples = [e for e in cleaned if e.source != "humaneval"] + seed_examples(SEED_FILE)
    x = embedder.embed([e.prompt[:FOCUS_CHARS] for e in examples])
    y = np.array([e.category in ASK_CATEGORIES for e in examples], dtype=np.float64)
    model = LogisticRegression(C=ASK_C, max_iter=5000, class_weight="balanced").fit(x, y)
    holdout = seed_examples(HOLDOUT_FILE)
    auc = roc_auc_score(
        [e.category in ASK_CATEGORIES for e in holdout],
        model.decision_function(embedder.embed([e.prompt[:FOCUS_CHARS] for e in holdout])),
    )
    print(f"maths, code or reasoning ask: ROC AUC {auc:.3f} on the {len(holdout)} category holdout prompts")
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def pooled_margin(rows: Rows, score: npt.NDArray[np.float64], base: npt.NDArray[np.float64]) -> float:
    """Returns the APGR margin of score over base on the open models' tasks pooled (7-9B vs 49-70B), gsm8k
    left out: a mixture of kinds of prompt, where which kind a prompt is matters as much as its difficulty."""
    pool = np.char.startswith(rows.task.astype(str), "llmrouter:") & (rows.task != REPORTED_TASK)
    cheap, strong = rows.cheap[pool], rows.strong[pool]
    return curve(score[pool], cheap, strong).apgr - curve(base[pool], cheap, strong).apgr


def open_ended(
    rows: Rows,
    text: npt.NDArray[np.float64],
    cues: npt.NDArray[np.float64],
    standard_length: npt.NDArray[np.float64],
    closed: npt.NDArray[np.float64],
    *,
    asks: npt.NDArray[np.float64],
    domains: npt.NDArray[np.float64],
    headed: Sequence[str],
) -> tuple[dict[str, Any], npt.NDArray[np.float64]]:
    """Returns the open-ended part (artifact entry) and its held-out log-odds for every row.

    text is the text model's held-out log-odds, cues the scaled dense cues, asks the probability that
    a prompt asks for maths, code or reasoning (`ask_head`), closed the multiple-choice log-odds (whose
    spread on the arena prompts the open-ended log-odds are rescaled to). Two steps: gate, difficulty
    and length by which prompt of a kind is hard (arena, and each open-model task alone); then the
    weight of the ask, by the same margins and the pooled mixture's (`pooled_margin`) together.
    """
    tasks = sorted({t for t in rows.task if t.startswith("llmrouter:")})
    opened = np.isin(rows.task, tasks)
    failed = 1.0 - rows.models.mean(axis=1)
    weights = difficulty_weights(cues[opened], failed[opened], rows.task[opened])
    # Held out: each open-model task is scored by the weights learned without it.
    harder = cues @ weights
    for task in tasks:
        rest = opened & (rows.task != task)
        harder[rows.task == task] = cues[rows.task == task] @ difficulty_weights(
            cues[rest], failed[rest], rows.task[rest]
        )
    arena = rows.task == "arena"
    chosen = [t for t in tasks if t != REPORTED_TASK]
    base_arena = curve(standard_length[arena], rows.cheap[arena], rows.strong[arena]).apgr
    base_tasks = {t: difficulty_proxy(standard_length[rows.task == t], rows.models[rows.task == t]) for t in chosen}

    def margin(score: npt.NDArray[np.float64]) -> float:
        chat = curve(score[arena], rows.cheap[arena], rows.strong[arena]).apgr - base_arena
        other = np.mean(
            [difficulty_proxy(score[rows.task == t], rows.models[rows.task == t]) - base_tasks[t] for t in chosen]
        )
        return float(chat + other) / 2

    def raw(
        gate: float, difficulty: float, length: float, ask: float = 0.0, domain: float = 0.0
    ) -> npt.NDArray[np.float64]:
        return gate * text - difficulty * harder - length * standard_length - ask * asks - domain * domains

    grid = [(g, a, b) for g in OPEN_GATE for a in OPEN_DIFFICULTY for b in OPEN_LENGTH]
    margins = [margin(-raw(*point)) for point in grid]
    gate, difficulty, length = grid[int(np.argmax(margins))]
    print(f"open-ended: gate {gate}, difficulty {difficulty}, length {length} (margin over length {max(margins):+.4f})")

    def with_ask(ask: float) -> float:
        score = -raw(gate, difficulty, length, ask)
        return (2 * margin(score) + pooled_margin(rows, score, standard_length)) / 3

    ask = max(OPEN_ASK, key=with_ask)
    print(f"open-ended: maths, code or reasoning ask {ask} (mean margin over length {with_ask(ask):+.4f})")

    def within(domain: float) -> float:
        score = -raw(gate, difficulty, length, ask, domain)
        chat = curve(score[arena], rows.cheap[arena], rows.strong[arena]).apgr - base_arena
        heads = [
            difficulty_proxy(score[rows.task == t], rows.models[rows.task == t]) - base_tasks[t]
            for t in headed
            if t != REPORTED_TASK
        ]
        return float(chat + sum(heads)) / (1 + len(heads))

    def pooled(domain: float) -> float:
        return pooled_margin(rows, -raw(gate, difficulty, length, ask, domain), standard_length)

    floor = pooled(0.0) - POOLED_SLACK
    domain = max((w for w in OPEN_DOMAIN if pooled(w) >= floor), key=within)
    print(
        f"open-ended: domain heads {domain} (margin over length on arena and the headed tasks {within(domain):+.4f}, "
        f"without {within(0.0):+.4f}; pooled {pooled(domain):+.4f}, without {pooled(0.0):+.4f})"
    )
    combined = raw(gate, difficulty, length, ask, domain)
    scale = float(closed[arena].std() / combined[arena].std())
    bias = float(closed[arena].mean() - scale * combined[arena].mean())
    scale, bias = round(scale, 6), round(bias, 6)
    part = {
        "gate": gate,
        "difficulty": difficulty,
        "length": length,
        "ask": ask,
        "domain": domain,
        "scale": scale,
        "bias": bias,
        "weights": [round(float(v), 6) for v in weights],
    }
    # The stored (rounded) figures give the log-odds the product computes.
    return part, scale * combined + bias


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
    found = {}
    for c in C_GRID:
        logit = found[c] = out_of_fold(rows, h, d, c)
        mean_apgr = np.mean(
            [
                curve(-logit[rows.task == t], rows.cheap[rows.task == t], rows.strong[rows.task == t]).apgr
                for t in ("mmlu", "arena")
            ]
        )
        print(f"C={c}: mean out-of-fold APGR (MMLU, arena) {mean_apgr:.3f}", flush=True)
        if mean_apgr > best:
            best, best_c = float(mean_apgr), c
    logit = found[best_c]
    gain = np.clip(rows.strong - rows.cheap, 0.0, 1.0)
    weight = np.where(rows.task == "arena", ARENA_WEIGHT, 1.0)
    fitted = fit(h[held], d[held], gain[held], weight[held], best_c)
    # The text model's log-odds, held out for every row: out of fold on MMLU and arena, and the final
    # fit elsewhere (it never trains on the open models' tasks).
    text = np.where(held, logit, fitted.logit(h, d))
    # Prompt length is the one signal that held up on every held-out task: the multiple-choice log-odds
    # are blended with the standardised log word count, the blend weight chosen on held-out MMLU.
    words_mean, words_scale = float(length[held].mean()), float(length[held].std())
    standard_length = (length - words_mean) / words_scale
    mmlu = rows.task == "mmlu"
    blend = max(
        LENGTH_BLEND,
        key=lambda b: curve(-(text - b * standard_length)[mmlu], rows.cheap[mmlu], rows.strong[mmlu]).apgr,
    )
    print(f"length blend {blend}")
    fitted.length = (blend, words_mean, words_scale)
    choice = np.array([multiple_choice(p[:FOCUS_CHARS]) for p in rows.prompts])
    cues = np.clip((d - fitted.mean) / fitted.scale, -CLIP, CLIP)[:, -len(DENSE_FEATURES) :]
    # The maths, code or reasoning ask as the product computes it: float32 weights, the bias as stored.
    ask_weights, ask_bias = ask_head(args.data, StaticEmbedder.load())
    ask_weights, ask_bias = ask_weights.astype(np.float32), round(ask_bias, 6)
    asks = 1.0 / (1.0 + np.exp(-(d[:, : -len(DENSE_FEATURES)] @ ask_weights + ask_bias)))
    scaled = np.clip((d - fitted.mean) / fitted.scale, -CLIP, CLIP)
    heads, domains = domain_heads(rows, d[:, : -len(DENSE_FEATURES)], scaled)
    open_part, open_logit = open_ended(
        rows,
        text,
        cues,
        standard_length,
        text - blend * standard_length,
        asks=asks,
        domains=domains,
        headed=heads.tasks,
    )
    open_part["ask_bias"] = ask_bias
    open_part["domains"] = {
        "tasks": [t.removeprefix("llmrouter:") for t in heads.tasks],
        "low": [float(v) for v in heads.low],
        "high": [float(v) for v in heads.high],
        "bias": [float(v) for v in heads.bias],
    }
    logit = np.where(choice, text - blend * standard_length, open_logit)
    table, figures = report(rows, logit, length)
    print(f"\nC = {best_c}\n\n{table}\n")
    p_ok = 1.0 / (1.0 + np.exp(-logit[held]))
    save_npz(
        args.out / f"{NAME}.npz",
        {
            "weights": fitted.hashed.astype(np.float16)[:, None],
            "bias": np.array([fitted.bias], dtype=np.float32),
            "classes": np.array(["cheap_ok"]),
            "dense_weights": fitted.dense.astype(np.float32),
            "ask_weights": ask_weights,
            "domain_centroids": heads.centroids.astype(np.float32),
            "domain_weights": heads.weights.astype(np.float32),
        },
    )
    meta = {
        "model": "logistic regression of cheap-is-as-good on hashed n-grams, the static embedding and dense cues "
        "for multiple-choice questions; length, a within-task difficulty of the dense cues and whether the prompt asks "
        "for maths, code or reasoning, and per-task difficulty heads gated by the similarity to each task, for open "
        "prompts; see training/complexity.py",
        "dense_features": ["embedding"] * StaticEmbedder.load().dim + list(DENSE_FEATURES),
        "dense_mean": [round(float(v), 6) for v in fitted.mean],
        "dense_scale": [round(float(v), 6) for v in fitted.scale],
        "clip": CLIP,
        "length_blend": {"weight": blend, "mean": round(words_mean, 6), "scale": round(words_scale, 6)},
        "open_ended": open_part,
        "default_strong_share": DEFAULT_STRONG_SHARE,
        "thresholds": threshold_table(p_ok),
        "evaluation": figures,
    }
    print(calibration(rows, threshold_table(p_ok), 1.0 / (1.0 + np.exp(-logit))))
    (args.out / f"{NAME}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {args.out / NAME}.npz and .json")


if __name__ == "__main__":
    main()
