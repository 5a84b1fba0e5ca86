"""`switchyard train-router --from-store` on a real SQLite analytics store: the refit, its guard and the artifact
the router reads over the configured quality."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from switchyard.cli import main
from switchyard.config import load_config
from switchyard.ml import quality_fit
from switchyard.services.router.analytics import open_store
from switchyard.services.router.analytics.base import Judgement
from switchyard.services.router.learned import ArtifactError, parse_artifact, read_artifact, with_learned
from switchyard.services.router.train import keep_retraining, retrain_once
from tests.support import wait_until

T0 = 1_780_000_000_000
CONFIG = """model_list:
  - model_name: pool-a
    litellm_params: {model: openai/fake-a, api_base: "http://127.0.0.1:9/v1", api_key: sk-fake}
    model_info: {id: pool-a, quality: 0.9, input_cost_per_token: 0.000001}
  - model_name: pool-a
    litellm_params: {model: openai/fake-b, api_base: "http://127.0.0.1:9/v1", api_key: sk-fake}
    model_info: {id: pool-b, quality: 0.8, input_cost_per_token: 0.000004}
switchyard:
  analytics: {url: "sqlite:///STORE"}
"""


@pytest.fixture
def config_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "switchyard.yaml"
    path.write_text(CONFIG.replace("STORE", str(tmp_path / "analytics.sqlite3")))
    return path


def seed(config_path: Path, judgements: list[Judgement]) -> None:
    url = load_config(config_path).switchyard.analytics.url

    async def write() -> None:
        store = open_store(url)
        await store.migrate()
        await store.judge(judgements)
        await store.close()

    asyncio.run(write())


def graded(deployment: str, category: str, grade: float, count: int, start_ms: int) -> list[Judgement]:
    """Returns count judge grades of deployment's answers in category, one a second from start_ms."""
    score = quality_fit.judge_score(grade)
    return [
        Judgement(f"{deployment}-{category}-{start_ms}-{n}", "judge", start_ms + n * 1000, deployment, category, score)
        for n in range(count)
    ]


def train(config_path: Path, *flags: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["train-router", "--from-store", "--config", str(config_path), *flags])
    return int(exit_.value.code or 0)


def test_a_deployment_judged_better_at_code_is_rated_above_the_other_for_code_only(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_path, graded("pool-a", "code", 2, 30, T0) + graded("pool-b", "code", 9, 30, T0 + 500))
    assert train(config_path) == 0
    out = capsys.readouterr().out
    assert "judgements: 60" in out and "before: agreement 0.000" in out and "after:  agreement 1.000" in out
    artifact = config_path.parent / "state" / "switchyard" / "router-quality.json"
    table = read_artifact(artifact)
    # 30 grades of 9 and of 2 (0.889 and 0.111 scaled), each shrunk towards its prior by 10 pseudo-judgements.
    assert table == {
        "pool-a": {"code": pytest.approx(0.3083, abs=1e-4)},
        "pool-b": {"code": pytest.approx(0.8667, abs=1e-4)},
    }
    routed = with_learned(load_config(config_path), table)
    a, b = routed.model_list
    assert b.quality_for("code") > a.quality_for("code")  # type: ignore[operator]
    assert (a.quality_for("chat"), b.quality_for("chat")) == (0.9, 0.8)  # other categories keep the configured


def test_a_refit_that_predicts_the_newest_judgements_worse_is_refused_and_the_artifact_kept(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = config_path.parent / "quality.json"
    # In force: B is the better coder. The older grades say A is; the newest (held out) agree with B.
    out.write_text(json.dumps({"format": "switchyard.quality/1", "deployments": {"pool-b": {"code": 0.95}}}))
    before = out.read_bytes()
    older = graded("pool-a", "code", 9, 40, T0) + graded("pool-b", "code", 2, 40, T0 + 500)
    newest = graded("pool-a", "code", 2, 10, T0 + 100_000) + graded("pool-b", "code", 9, 10, T0 + 100_500)
    seed(config_path, older + newest)
    assert train(config_path, "--out", str(out)) == 1
    captured = capsys.readouterr()
    assert "before: agreement 1.000" in captured.out and "after:  agreement 0.000" in captured.out
    assert "refused" in captured.err
    assert out.read_bytes() == before
    assert train(config_path, "--out", str(out), "--force") == 0  # an operator may overrule the guard
    assert read_artifact(out)["pool-a"]["code"] > read_artifact(out)["pool-b"]["code"]


def test_a_dry_run_writes_nothing_and_few_judgements_keep_the_configured_quality(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(config_path, graded("pool-a", "code", 2, 30, T0) + graded("pool-b", "chat", 9, 3, T0))
    out = config_path.parent / "quality.json"
    assert train(config_path, "--out", str(out), "--dry-run") == 0
    assert not out.exists() and "dry run" in capsys.readouterr().out
    assert train(config_path, "--out", str(out), "--min-samples", "5") == 0
    assert read_artifact(out) == {"pool-a": {"code": pytest.approx((30 / 9 + 10 * 0.9) / 40, abs=1e-4)}}


def test_without_a_store_or_judgements_it_says_why_and_fails(
    config_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text(config_path.read_text().split("switchyard:")[0])
    assert train(bare) == 2
    assert "no analytics store" in capsys.readouterr().err
    assert train(config_path) == 2
    assert "no judgements" in capsys.readouterr().err


def test_a_malformed_artifact_is_refused_with_its_reason() -> None:
    with pytest.raises(ArtifactError, match="not JSON"):
        parse_artifact(b"{", "q.json")
    with pytest.raises(ArtifactError, match="format"):
        parse_artifact(b'{"deployments": {}}', "q.json")
    with pytest.raises(ArtifactError, match=r"deployments\.a\.code must be a number between 0 and 1"):
        parse_artifact(b'{"format": "switchyard.quality/1", "deployments": {"a": {"code": 2}}}', "q.json")


async def test_the_scheduled_refit_deploys_a_better_fit_and_refuses_a_worse_one(config_path: Path) -> None:
    config = load_config(config_path)
    out = config_path.parent / "quality.json"
    store = open_store(config.switchyard.analytics.url)
    await store.migrate()
    try:
        await store.judge(graded("pool-a", "code", 2, 30, T0) + graded("pool-b", "code", 9, 30, T0 + 500))
        task = asyncio.create_task(keep_retraining(lambda: config, store, out, 0.05, 10))
        try:
            await wait_until(out.exists, 10.0, "the scheduled refit to write the artifact")
        finally:
            task.cancel()
        assert read_artifact(out)["pool-b"]["code"] > read_artifact(out)["pool-a"]["code"]
        deployed = out.read_bytes()
        # Many older grades that say the opposite, while the newest still agree with what is deployed: a refit
        # of the older part would pick A, which the held-out newest grades contradict.
        await store.judge(
            graded("pool-a", "code", 9, 200, T0 - 10_000_000) + graded("pool-b", "code", 2, 200, T0 - 9_000_000)
        )
        outcome = await retrain_once(config, store, out, 10)
        assert outcome is not None and outcome.worse
        assert out.read_bytes() == deployed
    finally:
        await store.close()
