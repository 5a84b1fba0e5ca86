"""Reading the judge: MT-bench's rating and pairwise verdict formats."""

from __future__ import annotations

import pytest

from switchyard.ml.injection import InjectionGuard
from switchyard.services.evaluator import rubric


@pytest.mark.parametrize(
    ("reply", "rating"),
    [
        ("The answer is accurate and complete. Rating: [[8]]", 8.0),
        ("Rating: [[7.5]]", 7.5),
        ("Explanation... [[3]] on reflection, Rating: [[4]]", 4.0),
        ("Rating: [9]", 9.0),
        ("Rating: [[10]]", 10.0),
        ("Rating: [[0]]", None),
        ("Rating: [[11]]", None),
        ("I would give it an 8.", None),
        ("", None),
    ],
)
def test_parse_rating(reply: str, rating: float | None) -> None:
    assert rubric.parse_rating(reply) == rating


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [("A is better. [[A]]", "A"), ("[[B]]", "B"), ("Equal. [[C]]", "tie"), ("Assistant A", None)],
)
def test_parse_verdict(reply: str, verdict: str | None) -> None:
    assert rubric.parse_verdict(reply) == verdict


def test_a_pair_wins_only_when_both_orders_agree() -> None:
    assert rubric.combine("A", "B") == "A"  # A first wins; swapped, the same answer (now B) wins
    assert rubric.combine("A", "A") == "tie"  # the first position won both times: position bias
    assert rubric.combine("tie", "tie") == "tie"
    assert rubric.combine(None, "A") is None


def test_the_single_prompt_holds_the_question_the_answer_and_the_format() -> None:
    prompt = rubric.single_prompt("What is 2+2?", "4")
    assert "[Question]\nWhat is 2+2?" in prompt
    assert "[The Start of Assistant's Answer]\n4\n" in prompt
    assert "Rating: [[5]]" in rubric.JUDGE_SYSTEM


def test_a_judge_prompt_for_an_ordinary_answer_passes_the_injection_guard() -> None:
    # The judge is asked through the router, whose guard reads the user turn: the grading instruction
    # sits in the system turn so a short answer to an ordinary question is not taken for an attack.
    guard = InjectionGuard.load()
    for question, answer in (("Explain recursion", "WEAK-ANSWER: meh."), ("What is 2+2?", "4")):
        assert not guard.check(rubric.single_prompt(question, answer)).detected
        assert not guard.check(rubric.pair_prompt(question, answer, "A longer answer.")).detected
