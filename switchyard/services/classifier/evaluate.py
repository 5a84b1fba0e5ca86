"""`switchyard eval-router`: how well the product's own cost-quality score routes logged traffic.

Input: JSON lines of prompts with the quality each model reached on them, in either shape:

    {"prompt": "...", "scores": {"model-a": 0.7, "model-b": 1.0}}          (outcomes.jsonl's shape)
    {"prompt": "...", "cheap_correct": true, "strong_correct": false}      (RouteLLM's shape)

`prompt` may be `messages` (OpenAI chat format) instead. With `scores`, the cheap and the strong
model are --cheap and --strong (by default the models with the lowest and highest mean score that
every line has). The router's score is the classifier's complexity (1 - p_cheap_ok), computed by
the same models the classifier service runs; it is compared with routing by prompt length and at
random, as the quality-vs-cost curve, APGR, CPT(50 %)/CPT(80 %) and the strong-call share for 95 %
of the strong model's quality, with 95 % bootstrap intervals (switchyard.ml.routing_eval). The
table goes to stdout; --plot writes the curves as SVG.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from switchyard.ml.routing_eval import Curve, bootstrap, curve, svg
from switchyard.services.classifier import convert
from switchyard.services.classifier.analyzer import Analyzer
from switchyard.services.classifier.cli import request_of


@dataclass(frozen=True)
class Logged:
    """One prompt with the cheap and strong models' quality on it."""

    record: Mapping[str, Any]
    cheap: float
    strong: float


class InputError(ValueError):
    """The input file cannot be evaluated (says which line and why)."""


def read(lines: Iterable[str], cheap: str | None, strong: str | None) -> tuple[list[Logged], str, str]:
    """Returns the logged prompts and the names of the cheap and strong models they are scored for."""
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number}: not JSON: {exc.msg}") from None
        if not isinstance(record, dict) or not ("prompt" in record or "messages" in record):
            raise InputError(f'line {number}: expected {{"prompt": ...}} or {{"messages": [...]}} with scores')
        records.append(record)
    if not records:
        raise InputError("no prompts to evaluate")
    if all("scores" in r for r in records):
        return _by_scores(records, cheap, strong)
    if all("cheap_correct" in r and "strong_correct" in r for r in records):
        rows = [Logged(r, float(r["cheap_correct"]), float(r["strong_correct"])) for r in records]
        return rows, cheap or "cheap", strong or "strong"
    raise InputError('every line needs "scores" {model: score}, or "cheap_correct" and "strong_correct"')


def _by_scores(
    records: Sequence[dict[str, Any]], cheap: str | None, strong: str | None
) -> tuple[list[Logged], str, str]:
    common = set.intersection(*(set(r["scores"]) for r in records))
    if cheap is None or strong is None:
        if len(common) < 2:
            raise InputError("fewer than two models are scored on every line: name --cheap and --strong")
        means = {m: float(np.mean([float(r["scores"][m]) for r in records])) for m in sorted(common)}
        cheap = cheap or min(means, key=means.__getitem__)
        strong = strong or max(means, key=means.__getitem__)
    usable = [r for r in records if cheap in r["scores"] and strong in r["scores"]]
    if not usable:
        raise InputError(f"no line scores both {cheap} and {strong}")
    return [Logged(r, float(r["scores"][cheap]), float(r["scores"][strong])) for r in usable], cheap, strong


def scores(analyzer: Analyzer, rows: Sequence[Logged]) -> tuple[np.ndarray, np.ndarray]:
    """Returns (the router's score, the log word count) of each prompt."""
    router, length = [], []
    for row in rows:
        record = {k: v for k, v in row.record.items() if k in ("prompt", "messages")}
        prompt = convert.prompt_from_request(request_of(record))
        router.append(analyzer.analyze(prompt).complexity.score)
        words = sum(len(turn.text.split()) for turn in prompt.turns)
        length.append(math.log1p(words))
    return np.array(router), np.array(length)


def evaluate(analyzer: Analyzer, rows: Sequence[Logged], rounds: int = 200) -> tuple[str, dict[str, Curve]]:
    """Returns the Markdown table and the curves of the router, prompt length and random routing."""
    router, length = scores(analyzer, rows)
    cheap = np.array([r.cheap for r in rows])
    strong = np.array([r.strong for r in rows])
    routers = {"switchyard complexity": router, "prompt length": length, "random": np.zeros(len(rows))}
    curves = {name: curve(score, cheap, strong) for name, score in routers.items()}
    lines = [
        f"{len(rows)} prompts; all cheap: quality {cheap.mean():.3f}; all strong: quality {strong.mean():.3f}",
        "",
        "| router | APGR [95 % CI] | CPT(50 %) | CPT(80 %) | strong-call share for 95 % of strong quality |",
        "|---|---|---|---|---|",
    ]
    for name, score in routers.items():
        ci = bootstrap(score, cheap, strong, rounds=rounds)
        lines.append(f"| {name} | {ci['apgr']} | {ci['cpt50']} | {ci['cpt80']} | {ci['share_95']} |")
    return "\n".join(lines), curves


def main(path: str, cheap: str | None, strong: str | None, plot: str | None, rounds: int) -> int:
    """Runs the evaluation of a file and prints it; returns 2 when the input cannot be evaluated."""
    import sys

    from switchyard.services.classifier.config import ClassifierSettings
    from switchyard.services.classifier.server import new_analyzer

    try:
        with open(path, encoding="utf-8") as source:
            rows, cheap_name, strong_name = read(source, cheap, strong)
    except (OSError, InputError) as exc:
        print(f"switchyard eval-router: {exc}", file=sys.stderr)
        return 2
    table, curves = evaluate(new_analyzer(ClassifierSettings()), rows, rounds)
    print(f"cheap: {cheap_name}; strong: {strong_name}; {table}")
    if plot:
        Path(plot).write_text(svg(curves, f"{Path(path).name}: {cheap_name} vs {strong_name}"))
        print(f"plot: {plot}")
    return 0
