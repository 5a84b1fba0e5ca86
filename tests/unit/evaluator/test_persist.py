"""The evaluator's saved state: a restored evaluator has the same segments, alarms, detector and arms, and
goes on exactly as the one that saved it would; a state that cannot be read is set aside."""

from __future__ import annotations

import random
from pathlib import Path

from switchyard.services.evaluator.core import Evaluator, Feedback
from switchyard.services.evaluator.persist import FilePlace, load_state, save_state, state_place


def _scores(seed: int, count: int, mean: float) -> list[float]:
    rng = random.Random(seed)
    return [min(10.0, max(1.0, round(rng.gauss(mean, 1)))) for _ in range(count)]


def _busy_evaluator() -> Evaluator:
    """An evaluator whose deployment `good` dropped (one alarm) and whose experiment has two arms."""
    evaluator = Evaluator(None)
    for t, score in enumerate(_scores(1, 40, 8.5) + _scores(2, 12, 3.0)):
        evaluator.quality.judged("good", "gpt-x", "fp-1", score, t)
    evaluator.quality.judged("good", "gpt-x", "fp-2", 8.0, 100)  # a new model version: a new segment
    for arm, value in (("a", 9.0), ("b", 4.0)):
        evaluator.experiments.completed("ab", arm, True, 0.01, 120.0)
        evaluator.experiments.arm("ab", arm).judge.append(value)
    evaluator.experiments.paired("ab", "shadow-model", "win")
    evaluator.feedback(Feedback("req-1", 1.0, "", "good", "gpt-x", "ab", "a"))
    return evaluator


async def test_a_restored_evaluator_has_the_same_numbers_and_goes_on_alike(tmp_path: Path) -> None:
    before = _busy_evaluator()
    place = state_place(None, "unused:", tmp_path)
    assert await save_state(place, before)

    after = Evaluator(None)
    assert await load_state(place, after)
    assert after.quality.summary() == before.quality.summary()
    (_, segments), *_ = after.quality.summary("good")
    assert [s.alerts for s in segments] == [1, 0]
    assert after.report("ab") == before.report("ab")
    assert after.experiments.names() == ["ab"]

    # The detector's baseline and statistic came back too: the same next scores raise the same alarms.
    following, evaluators = _scores(3, 60, 8.0) + _scores(4, 10, 2.0), (before, after)
    alarms = [
        [e.quality.judged("good", "gpt-x", "fp-2", s, 200 + i) for i, s in enumerate(following)] for e in evaluators
    ]
    assert alarms[0] == alarms[1] and any(alarms[0])


async def test_nothing_saved_is_a_fresh_start_and_a_damaged_state_is_set_aside(tmp_path: Path) -> None:
    evaluator = Evaluator(None)
    assert not await load_state(FilePlace(tmp_path / "missing.json.gz"), evaluator)
    damaged = tmp_path / "damaged.json.gz"
    damaged.write_bytes(b"not gzip at all")
    assert not await load_state(FilePlace(damaged), evaluator)
    assert evaluator.quality.summary() == []
