"""`switchyard eval-router`: the router measured on logged traffic, and input it refuses clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from switchyard.ml.routing_eval import curve
from switchyard.services.classifier import evaluate
from switchyard.services.classifier.config import ClassifierSettings
from switchyard.services.classifier.server import new_analyzer

EASY = ["Hi there!", "Thanks, that helps.", "What is 2 + 2?", "Say hello in French."]
HARD = [
    "Prove that every finite integral domain is a field, then generalise the argument to Artinian rings.",
    "Derive the closed form of the n-th Fibonacci number from its generating function, step by step.",
    "Write a lock-free multi-producer multi-consumer queue in C++ and argue its linearizability.",
    "Explain the difference between the Lebesgue and Riemann integrals with a counterexample.",
]


def lines(cheap_key: str = "cheap", strong_key: str = "strong") -> list[str]:
    """Easy prompts both models answer; hard ones only the strong one does."""
    rows = [{"prompt": p, "scores": {cheap_key: 1.0, strong_key: 1.0}} for p in EASY]
    rows += [{"prompt": p, "scores": {cheap_key: 0.0, strong_key: 1.0}} for p in HARD]
    return [json.dumps(row) for row in rows]


def test_the_cheap_and_strong_models_are_found_by_their_mean_scores() -> None:
    rows, cheap, strong = evaluate.read(lines("m-small", "m-large"), None, None)
    assert (cheap, strong) == ("m-small", "m-large")
    assert [r.cheap for r in rows] == [1.0] * 4 + [0.0] * 4


def test_routeLLM_shaped_lines_are_read_too() -> None:
    line = json.dumps({"prompt": "x", "cheap_correct": False, "strong_correct": True})
    rows, _, _ = evaluate.read([line], None, None)
    assert (rows[0].cheap, rows[0].strong) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("not json\n", "line 1: not JSON"),
        ('{"text": "no prompt"}\n', "line 1: expected"),
        ('{"prompt": "x"}\n', 'every line needs "scores"'),
        ('{"prompt": "x", "scores": {"only": 1}}\n', "fewer than two models"),
        ("", "no prompts"),
    ],
)
def test_input_it_cannot_evaluate_is_refused_with_the_reason(content: str, said: str) -> None:
    with pytest.raises(evaluate.InputError, match=said):
        evaluate.read(content.splitlines(), None, None)


def test_the_product_router_beats_random_on_easy_and_hard_prompts(tmp_path: Path) -> None:
    rows, _, _ = evaluate.read(lines(), None, None)
    table, curves = evaluate.evaluate(new_analyzer(ClassifierSettings()), rows, rounds=20)
    assert "| switchyard complexity |" in table and "| prompt length |" in table and "| random |" in table
    assert curves["switchyard complexity"].apgr > curves["random"].apgr
    assert curves["switchyard complexity"].cheap == 0.5 and curves["switchyard complexity"].strong == 1.0
    plot = tmp_path / "curve.svg"
    assert evaluate.main(str(_write(tmp_path, lines())), None, None, str(plot), 20) == 0
    assert plot.read_text().startswith("<svg") and "switchyard complexity" in plot.read_text()


def test_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(str(tmp_path / "missing.jsonl"), None, None, None, 10) == 2
    assert "switchyard eval-router:" in capsys.readouterr().err


def test_an_oracle_recovers_the_gap_as_fast_as_possible_and_a_constant_does_not() -> None:
    # Half the prompts need the strong model: an oracle recovers the whole gap at a 50 % share, so its
    # PGR curve rises linearly to 1 by then and stays there (area 0.75).
    gain = np.array([0.0, 1.0] * 50)
    cheap, strong = 1.0 - gain, np.ones(100)
    assert curve(gain, cheap, strong).apgr == pytest.approx(0.75, abs=0.01)
    assert curve(np.zeros(100), cheap, strong).apgr == pytest.approx(0.5, abs=0.05)
    assert curve(gain, cheap, strong).cpt50 == pytest.approx(0.25, abs=0.02)


def _write(tmp_path: Path, content: list[str]) -> Path:
    path = tmp_path / "logged.jsonl"
    path.write_text("\n".join(content) + "\n")
    return path
