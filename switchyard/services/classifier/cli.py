"""`switchyard analyze`: what the classifier thinks of requests given as JSON lines.

Each input line is `{"prompt": "..."}` or an OpenAI-style `{"messages": [...]}`; each output line
holds the token estimate, category, complexity, tier, data classification, findings and the
injection verdict, computed by the same models the classifier service loads.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

from switchyard.common.v1 import chat_pb2
from switchyard.runtime.errors import SwitchyardError
from switchyard.services.classifier import convert
from switchyard.services.classifier.analyzer import Analyzer
from switchyard.services.classifier.config import ClassifierSettings
from switchyard.services.classifier.domain import Analysis
from switchyard.wire.openai import parse_request


def request_of(record: Any) -> chat_pb2.ChatRequest:
    """Returns the chat request a JSON line describes; raises ValueError when it describes none."""
    if isinstance(record, dict) and isinstance(record.get("prompt"), str):
        record = {"messages": [{"role": "user", "content": record["prompt"]}]}
    if not isinstance(record, dict) or "messages" not in record:
        raise ValueError('expected {"prompt": "..."} or {"messages": [...]}')
    try:
        return parse_request({"model": "analyze", **record})
    except SwitchyardError as err:
        raise ValueError(err.message) from None


def report(analysis: Analysis) -> dict[str, Any]:
    """Returns the JSON object describing one analysis."""
    injection = analysis.injection
    return {
        "tokens": analysis.prompt_tokens,
        "tokens_by_family": dict(analysis.tokens_by_family),
        "category": analysis.category or None,
        "category_confidence": round(analysis.category_confidence, 4),
        "complexity": round(analysis.complexity.score, 4),
        "p_cheap_ok": round(analysis.complexity.p_cheap_ok, 4),
        "tier": analysis.complexity.tier.value,
        "data_classification": analysis.data_classification or None,
        "findings": [
            {"type": f.type, "message_index": f.message_index, "start": f.start, "end": f.end}
            for f in analysis.findings
        ],
        "injection": {
            "score": round(injection.score, 4) if injection else 0.0,
            "verdict": "injection" if injection and injection.detected else "clean",
            "signals": list(injection.signals) if injection else [],
        },
    }


def analyze_lines(analyzer: Analyzer, lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Yields one report per non-empty line; a bad line yields `{"line": n, "error": ...}`."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            request = request_of(json.loads(line))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            yield {"line": number, "error": str(exc)}
            continue
        yield report(analyzer.analyze(convert.prompt_from_request(request)))


def main(source: IO[str] | None = None, sink: IO[str] | None = None) -> int:
    """Analyses every line of source (stdin) into sink (stdout); returns 1 when a line was bad."""
    from switchyard.services.classifier.server import new_analyzer

    analyzer = new_analyzer(ClassifierSettings())
    out = sink or sys.stdout
    failed = False
    for result in analyze_lines(analyzer, source or sys.stdin):
        failed = failed or "error" in result
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 1 if failed else 0
