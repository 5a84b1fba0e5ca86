"""Whether a change to the classifier moved its answers: `python -m bench.analyze_drift`.

A speed-up of the analysis must not change what it says. `dump` analyses every prompt of some JSON
lines files (a "prompt" field and an optional "system" one, as in the training data) and writes the
answers (category and confidence, complexity, data classification and findings, the injection verdict
and score) to a JSON file; run it before and after the change, then `compare` reports the largest
difference of each number and how many prompts changed a label, and fails past --tolerance:

    python -m bench.analyze_drift dump prompts.jsonl --out before.json
    python -m bench.analyze_drift dump prompts.jsonl --out after.json    # with the change
    python -m bench.analyze_drift compare before.json after.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from switchyard.common.v1 import chat_pb2
from switchyard.services.classifier import convert
from switchyard.services.classifier.config import ClassifierSettings
from switchyard.services.classifier.domain import Analysis
from switchyard.services.classifier.server import new_analyzer


def requests(paths: list[Path]) -> Iterator[chat_pb2.ChatRequest]:
    """Yields a chat request (its system turn, then its user turn) per line of the files."""
    for path in paths:
        for line in path.read_text().split("\n"):
            if not line.strip():
                continue
            row = json.loads(line)
            request = chat_pb2.ChatRequest(model="drift")
            if row.get("system"):
                request.messages.add(role=chat_pb2.ROLE_SYSTEM, text=row["system"])
            request.messages.add(role=chat_pb2.ROLE_USER, text=row["prompt"])
            yield request


def answers(analysis: Analysis) -> dict[str, Any]:
    """Returns what the analysis says, as JSON values."""
    injection = analysis.injection
    return {
        "tokens": analysis.prompt_tokens,
        "category": analysis.category,
        "category_confidence": analysis.category_confidence,
        "complexity": analysis.complexity.score,
        "tier": analysis.complexity.tier.value,
        "data_classification": analysis.data_classification,
        "findings": [[f.type, f.message_index, f.start, f.end] for f in analysis.findings],
        "injection_detected": injection.detected if injection else None,
        "injection_score": injection.score if injection else 0.0,
        "injection_kind": injection.kind if injection else "",
        "injection_signals": list(injection.signals) if injection else [],
    }


def dump(paths: list[Path], out: Path) -> None:
    """Writes the answers for every prompt of paths to out (the system turn guarded too)."""
    analyzer = new_analyzer(ClassifierSettings(guard_system=True))
    rows = [answers(analyzer.analyze(convert.prompt_from_request(request))) for request in requests(paths)]
    out.write_text(json.dumps(rows))
    print(f"{len(rows)} prompts analysed into {out}")


def compare(before: Path, after: Path, tolerance: float) -> bool:
    """Prints the largest difference per number and the changed labels; returns whether all are within tolerance."""
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    if len(old) != len(new):
        print(f"{len(old)} prompts before, {len(new)} after: not the same prompts")
        return False
    largest: dict[str, float] = {}
    changed: dict[str, int] = {}
    for first, second in zip(old, new, strict=True):
        for key, value in first.items():
            if isinstance(value, float):
                largest[key] = max(largest.get(key, 0.0), abs(value - second[key]))
            elif value != second[key]:
                changed[key] = changed.get(key, 0) + 1
    print(f"{len(old)} prompts")
    for key, difference in largest.items():
        print(f"  {key}: largest difference {difference:.3g}")
    for key in [key for key, value in (old[0] if old else {}).items() if not isinstance(value, float)]:
        print(f"  {key}: {changed.get(key, 0)} changed")
    return not changed and all(difference <= tolerance for difference in largest.values())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analyze_drift", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dumping = commands.add_parser("dump", help="analyse the prompts of JSON lines files")
    dumping.add_argument("files", nargs="+", type=Path)
    dumping.add_argument("--out", type=Path, required=True)
    comparing = commands.add_parser("compare", help="compare two dumps")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    comparing.add_argument("--tolerance", type=float, default=1e-5, help="largest difference allowed in a number")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.files, args.out)
    elif not compare(args.before, args.after, args.tolerance):
        sys.exit(1)


if __name__ == "__main__":
    main()
