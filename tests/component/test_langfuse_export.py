"""The Langfuse exporter against a fake Langfuse over real HTTP: batches, retries, refusals, counted outcomes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from switchyard.config.evaluation import LangfuseSection
from switchyard.runtime.metrics import REGISTRY
from switchyard.services.evaluator.langfuse import LangfuseExporter, Score, secret_of
from tests.langfuse_fake import PUBLIC_KEY, SECRET_KEY, FakeLangfuse, fake_langfuse
from tests.support import wait_until


@pytest.fixture
def langfuse() -> Iterator[FakeLangfuse]:
    with fake_langfuse() as fake:
        yield fake


def _counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("switchyard_langfuse_scores_total", {"outcome": outcome}) or 0.0


def _section(url: str, **overrides: object) -> LangfuseSection:
    fields: dict[str, object] = {"host": url, "public_key": PUBLIC_KEY, "secret_key": SECRET_KEY, "flush_s": 0.05}
    return LangfuseSection.model_validate({**fields, **overrides})


async def _export(section: LangfuseSection, scores: list[Score], done: Callable[[], bool]) -> None:
    exporter = LangfuseExporter(section, section.secret_key)
    task = asyncio.create_task(exporter.run())
    try:
        for score in scores:
            exporter.score(score)
        await wait_until(done, 10.0, "the scores to be settled")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await exporter.close()


def _scores(count: int) -> list[Score]:
    return [Score.new(f"{i:032x}", "switchyard.judge", float(i % 10 + 1), "ok") for i in range(count)]


async def test_scores_arrive_in_batches_with_their_trace_ids(langfuse: FakeLangfuse) -> None:
    exported = _counted("exported")
    scores = _scores(25)
    await _export(_section(langfuse.url, batch=10), scores, lambda: _counted("exported") == exported + 25)
    assert {s["traceId"] for s in langfuse.scores.values()} == {s.trace_id for s in scores}
    assert langfuse.requests <= 5  # 25 scores in batches of at most 10, not 25 requests
    first = langfuse.scores[scores[0].id]
    assert (first["name"], first["value"], first["dataType"]) == ("switchyard.judge", 1.0, "NUMERIC")
    assert first["comment"] == "ok"


async def test_an_outage_is_retried_and_nothing_is_doubled(langfuse: FakeLangfuse) -> None:
    exported, failed = _counted("exported"), _counted("failed")
    langfuse.fail_next(2, 503)
    await _export(_section(langfuse.url), _scores(3), lambda: _counted("exported") == exported + 3)
    assert len(langfuse.scores) == 3 and langfuse.requests >= 3
    assert _counted("failed") == failed


async def test_wrong_credentials_are_counted_as_failed_not_retried(langfuse: FakeLangfuse) -> None:
    failed = _counted("failed")
    section = _section(langfuse.url, secret_key="sk-lf-wrong")
    await _export(section, _scores(2), lambda: _counted("failed") == failed + 2)
    assert langfuse.scores == {} and langfuse.requests == 1


async def test_an_unreachable_langfuse_fails_after_its_attempts() -> None:
    with fake_langfuse() as gone:
        url = gone.url
    failed = _counted("failed")
    await _export(_section(url, attempts=2), _scores(1), lambda: _counted("failed") == failed + 1)


def test_off_unless_a_host_is_set_and_keys_are_required_with_one() -> None:
    assert LangfuseExporter.of(LangfuseSection(), {}) is None
    with pytest.raises(ValueError, match="public_key and secret_key"):
        LangfuseSection(host="http://langfuse:3000", public_key=PUBLIC_KEY)


def test_the_secret_key_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "langfuse-secret"
    secret.write_text(SECRET_KEY + "\n")
    assert secret_of(f"file:{secret}", {}) == SECRET_KEY
    assert secret_of("os.environ/LF_SECRET", {"LF_SECRET": SECRET_KEY}) == SECRET_KEY
    with pytest.raises(ValueError, match="LF_SECRET"):
        secret_of("os.environ/LF_SECRET", {})


async def test_closing_sends_what_is_still_queued(langfuse: FakeLangfuse) -> None:
    section = _section(langfuse.url, batch=2)
    exporter = LangfuseExporter(section, section.secret_key)
    scores = _scores(3)
    for score in scores:
        exporter.score(score)
    await exporter.close()
    assert set(langfuse.scores) == {score.id for score in scores}
