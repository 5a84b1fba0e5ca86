"""The CUSUM detector on simulated judge scores: how fast it sees a drop, how rarely it cries wolf."""

from __future__ import annotations

import random

from switchyard.services.evaluator.cusum import Cusum

# With the defaults (k=0.5, h=10, 30 warm-up scores) a simulation of 300 runs of N(8, 1) then N(5, 1)
# detects the drop after 4.7 scores on average (95th percentile 7, worst 8), and 20 runs of 10,000
# stable N(8, 1) scores raise 0.25 false alarms per 10,000 (README "Quality monitoring").
MAX_MEAN_DELAY = 6.0
MAX_DELAY = 10


def _delay(seed: int, before: int = 200) -> int | None:
    rng = random.Random(seed)
    detector = Cusum()
    for _ in range(before):
        if detector.update(rng.gauss(8, 1)):
            return None  # a false alarm before the change
    for index in range(1, 1000):
        if detector.update(rng.gauss(5, 1)):
            return index
    raise AssertionError("a drop from 8 to 5 was never detected")


def test_a_drop_of_three_points_is_caught_within_a_handful_of_scores() -> None:
    delays = [_delay(seed) for seed in range(200)]
    caught = [d for d in delays if d is not None]
    # 170 stable scores per run after warm-up: 34,000 in all, a few false alarms at most.
    assert len(caught) >= 195, "false alarms before the change"
    assert sum(caught) / len(caught) <= MAX_MEAN_DELAY
    assert max(caught) <= MAX_DELAY


def test_ten_thousand_stable_scores_raise_at_most_one_false_alarm() -> None:
    for seed in range(5):
        rng = random.Random(1000 + seed)
        detector = Cusum()
        alarms = sum(detector.update(rng.gauss(8, 1)) for _ in range(10_000))
        assert alarms <= 1, f"seed {seed}: {alarms} false alarms"


def test_a_rise_in_quality_is_no_alarm() -> None:
    rng = random.Random(7)
    detector = Cusum()
    assert not any(detector.update(rng.gauss(6, 1)) for _ in range(100))
    assert not any(detector.update(rng.gauss(9, 1)) for _ in range(1000))


def test_identical_scores_do_not_make_any_other_score_an_alarm() -> None:
    detector = Cusum()
    for _ in range(30):
        detector.update(8.0)
    assert not any(detector.update(score) for score in (7.0, 8.0, 7.0, 8.0, 9.0, 7.0))


def test_after_an_alarm_the_new_level_is_learnt_so_one_drop_is_one_alarm() -> None:
    rng = random.Random(3)
    detector = Cusum()
    for _ in range(100):
        detector.update(rng.gauss(8, 1))
    alarms = sum(detector.update(rng.gauss(5, 1)) for _ in range(2000))
    assert alarms == 1
