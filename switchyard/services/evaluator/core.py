"""The evaluator's core: a bounded queue of samples, graded by a judge, recorded in the books.

    evaluator = Evaluator(judge, queue=1000)
    evaluator.offer(sample)          # never blocks: a full queue drops the sample (counted)
    await evaluator.run()            # workers grade samples until cancelled
    evaluator.feedback(feedback)     # a user's score, already joined to its ledger record
    evaluator.report("ab-test")      # the experiment's A/B report

A plain sample is graded with MT-bench's single-answer rubric (1-10); its score goes to the
deployment's quality segment (whose CUSUM may raise an alert) and, for an experiment arm, to the arm.
A pair sample (an answer and its shadow copy's) is judged pairwise in both orders.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from switchyard.services.evaluator import metrics, rubric
from switchyard.services.evaluator.books import ExperimentBook, QualityBook, Report
from switchyard.services.evaluator.langfuse import Score

log = logging.getLogger(__name__)
# The names judge grades (1-10) and user feedback ([0, 1]) carry as scores (Langfuse).
JUDGE_SCORE_NAME, FEEDBACK_SCORE_NAME = "switchyard.judge", "switchyard.feedback"


class JudgeUnavailable(Exception):
    """The judge could not be asked (the router refused or failed the call)."""


class Judge(Protocol):
    async def ask(self, system: str, prompt: str) -> str:
        """Returns the judge's reply to a prompt; raises JudgeUnavailable."""
        ...


@dataclass(frozen=True, slots=True)
class Sample:
    request_id: str
    deployment_id: str
    model: str
    fingerprint: str
    experiment: str
    arm: str
    prompt: str
    answer: str
    status: str
    cost_usd: float
    latency_ms: float
    time_ms: int = 0
    # A pair sample's shadow copy: (target, answer); None for a plain sample.
    shadow: tuple[str, str] | None = None
    trace_id: str = ""
    # category: the classifier's task category of the request ("" when it was not analysed).
    category: str = ""


@dataclass(frozen=True, slots=True)
class Feedback:
    request_id: str
    score: float
    comment: str
    deployment_id: str
    model: str
    experiment: str
    arm: str
    trace_id: str = ""


class JudgementSink(Protocol):
    def judged(self, sample: Sample, grade: float) -> None:
        """Takes a sample's judge grade (1-10) to keep, without waiting (keeping.JudgementKeeper)."""
        ...


class ScoreSink(Protocol):
    def score(self, score: Score) -> None:
        """Takes a score for export without waiting (the Langfuse exporter)."""
        ...


class Evaluator:
    """Grades samples off a bounded queue and keeps quality and experiment numbers (see the module docstring)."""

    def __init__(
        self,
        judge: Judge | None,
        queue: int = 1000,
        workers: int = 4,
        arm_order: Callable[[str], list[str]] = lambda name: [],
        clock: Callable[[], float] = time.time,
        *,
        scores: ScoreSink | None = None,
        judgements: JudgementSink | None = None,
    ) -> None:
        self._judge = judge
        self._scores = scores
        self._judgements = judgements
        self._queue: asyncio.Queue[Sample] = asyncio.Queue(maxsize=queue)
        self._workers = workers
        self._arm_order = arm_order
        self._clock = clock
        self.quality = QualityBook()
        self.experiments = ExperimentBook()
        self.dropped = 0
        self.handled = 0
        self.rated = 0

    def offer(self, sample: Sample) -> bool:
        """Queues a sample for grading; returns False (and counts it) when the queue is full."""
        try:
            self._queue.put_nowait(sample)
        except asyncio.QueueFull:
            self.dropped += 1
            metrics.SAMPLES.labels("dropped").inc()
            return False
        return True

    async def run(self) -> None:
        """Grades samples with `workers` concurrent workers until cancelled."""
        await asyncio.gather(*(self._work() for _ in range(self._workers)))

    async def _work(self) -> None:
        while True:
            sample = await self._queue.get()
            try:
                await self.handle(sample)
            except Exception:
                log.exception("grading request %s failed", sample.request_id)
            finally:
                self.handled += 1
                self._queue.task_done()

    async def handle(self, sample: Sample) -> None:
        """Records one sample: its cost, latency and status for its arm, then the judge's grade."""
        if sample.shadow is not None:
            await self._pair(sample, *sample.shadow)
            return
        ok = sample.status in ("", "ok")
        if sample.experiment and sample.arm:
            self.experiments.completed(sample.experiment, sample.arm, ok, sample.cost_usd, sample.latency_ms)
        if not ok or not sample.answer or self._judge is None:
            metrics.SAMPLES.labels("unjudged").inc()
            return
        score = await self._grade(sample)
        if score is None:
            return
        metrics.SAMPLES.labels("judged").inc()
        self._export(sample.trace_id or sample.request_id, JUDGE_SCORE_NAME, score)
        if self._judgements is not None and sample.deployment_id:
            self._judgements.judged(sample, score)
        if sample.experiment and sample.arm:
            self.experiments.arm(sample.experiment, sample.arm).judge.append(score)
        now_ms = sample.time_ms or int(self._clock() * 1000)
        deployment = sample.deployment_id
        alarm = self.quality.judged(deployment, sample.model, sample.fingerprint, score, now_ms)
        metrics.JUDGE_SCORE.labels(deployment).set(self.quality.current_judge_mean(deployment) or 0.0)
        if alarm:
            metrics.QUALITY_ALERTS.labels(deployment).inc()
            log.warning(
                "quality alert: judge scores of deployment %s (model %s) dropped (CUSUM change point)",
                sample.deployment_id,
                sample.model or "-",
            )

    async def _grade(self, sample: Sample) -> float | None:
        assert self._judge is not None
        try:
            reply = await self._judge.ask(rubric.JUDGE_SYSTEM, rubric.single_prompt(sample.prompt, sample.answer))
        except JudgeUnavailable as exc:
            metrics.SAMPLES.labels("judge_failed").inc()
            log.warning("the judge could not grade request %s: %s", sample.request_id, exc)
            return None
        score = rubric.parse_rating(reply)
        if score is None:
            metrics.SAMPLES.labels("judge_failed").inc()
            log.warning("the judge's reply for request %s holds no rating: %.80r", sample.request_id, reply)
        return score

    async def _pair(self, sample: Sample, target: str, shadow_answer: str) -> None:
        if self._judge is None or not sample.answer or not shadow_answer:
            return
        judge = self._judge
        try:
            first, swapped = await asyncio.gather(
                judge.ask(rubric.PAIR_SYSTEM, rubric.pair_prompt(sample.prompt, sample.answer, shadow_answer)),
                judge.ask(rubric.PAIR_SYSTEM, rubric.pair_prompt(sample.prompt, shadow_answer, sample.answer)),
            )
        except JudgeUnavailable as exc:
            metrics.SAMPLES.labels("judge_failed").inc()
            log.warning("the judge could not compare request %s with its shadow copy: %s", sample.request_id, exc)
            return
        verdict = rubric.combine(rubric.parse_verdict(first), rubric.parse_verdict(swapped))
        if verdict is None:
            metrics.SAMPLES.labels("judge_failed").inc()
            return
        metrics.SAMPLES.labels("pair").inc()
        # In the first order the shadow copy is B: B winning is the shadow's win.
        outcome = {"B": "win", "A": "loss", "tie": "tie"}[verdict]
        self.experiments.paired(sample.experiment, target, outcome)

    def feedback(self, feedback: Feedback) -> None:
        """Records a user's feedback for its deployment and, in an experiment, its arm."""
        metrics.FEEDBACK.inc()
        self.rated += 1
        self._export(feedback.trace_id or feedback.request_id, FEEDBACK_SCORE_NAME, feedback.score, feedback.comment)
        now_ms = int(self._clock() * 1000)
        if feedback.deployment_id:
            self.quality.rated(feedback.deployment_id, feedback.model, feedback.score, now_ms)
        if feedback.experiment and feedback.arm:
            self.experiments.arm(feedback.experiment, feedback.arm).feedback.append(feedback.score)

    @property
    def changes(self) -> int:
        """Counts what may have changed the books: samples handled and feedback recorded."""
        return self.handled + self.rated

    def _export(self, trace_id: str, name: str, value: float, comment: str = "") -> None:
        if self._scores is not None:
            self._scores.score(Score.new(trace_id, name, value, comment))

    def report(self, experiment: str) -> Report | None:
        """Returns the experiment's report, or None when it has seen no traffic."""
        if not self.experiments.known(experiment):
            return None
        return self.experiments.report(experiment, self._arm_order(experiment))
