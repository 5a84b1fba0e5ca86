"""Bootstrap intervals and the A/B verdict: an A/A test claims no difference, a clear gap is called."""

from __future__ import annotations

import random

from switchyard.services.evaluator.books import ExperimentBook
from switchyard.services.evaluator.stats import ArmNumbers, bootstrap_difference, bootstrap_mean, verdict


def _scores(rng: random.Random, mean: float, n: int) -> list[float]:
    return [min(10.0, max(1.0, round(rng.gauss(mean, 1.5)))) for _ in range(n)]


def test_the_interval_covers_the_mean_and_narrows_with_more_data() -> None:
    rng = random.Random(1)
    small, large = bootstrap_mean(_scores(rng, 7, 30)), bootstrap_mean(_scores(rng, 7, 3000))
    assert small.low < small.mean < small.high
    assert large.high - large.low < (small.high - small.low) / 5
    assert 6.8 < large.mean < 7.2


def test_an_a_a_test_claims_no_difference() -> None:
    false_claims = 0
    for seed in range(40):
        rng = random.Random(seed)
        a, b = _scores(rng, 7, 200), _scores(rng, 7, 200)
        difference = bootstrap_difference(a, b, rounds=1000)
        false_claims += difference.excludes_zero()
        if seed == 0:
            words = verdict(ArmNumbers("A", a, 0.01), ArmNumbers("B", b, 0.01), difference)
            assert words.startswith("no clear difference in judge score between arm B and arm A"), words
            assert "at the same cost" in words and "400 samples" in words
    assert false_claims <= 5, "a 95 % interval excludes zero in about 1 A/A test in 20"


def test_a_clear_gap_is_called_with_its_size_and_cost() -> None:
    rng = random.Random(2)
    a, b = _scores(rng, 6, 600), _scores(rng, 7, 600)
    difference = bootstrap_difference(a, b)
    assert difference.excludes_zero() and 0.7 < difference.mean < 1.3
    words = verdict(ArmNumbers("A", a, 0.010), ArmNumbers("B", b, 0.006), difference)
    assert words.startswith(f"arm B is {difference.mean:.1f} ± "), words
    assert "points better than arm A at 40 % lower cost; 1,200 samples" in words


def test_too_few_samples_ask_for_more() -> None:
    words = verdict(
        ArmNumbers("A", [8.0] * 3, 0.0), ArmNumbers("B", [2.0] * 3, 0.0), bootstrap_difference([8.0] * 3, [2.0] * 3)
    )
    assert words.startswith("not enough judged samples yet")


def test_the_experiment_book_reports_arms_in_config_order() -> None:
    book = ExperimentBook()
    rng = random.Random(3)
    for _ in range(50):
        book.completed("ab", "good", True, 0.002, 100.0)
        book.arm("ab", "good").judge.append(rng.gauss(8.5, 0.5))
        book.completed("ab", "weak", rng.random() > 0.2, 0.001, 80.0)
        book.arm("ab", "weak").judge.append(rng.gauss(5, 0.5))
    report = book.report("ab", ["good", "weak"])
    assert [arm.name for arm in report.arms] == ["good", "weak"]
    assert report.arms[0].error_rate.mean == 0.0 and report.arms[1].error_rate.mean > 0.05
    assert report.verdict.startswith("arm weak is 3.") and "worse than arm good at 50 % lower cost" in report.verdict
