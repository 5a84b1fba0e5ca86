"""`switchyard train-router --from-store`: refit the router's per-deployment quality from its own judgements.

Reads the judge grades and user feedback in the analytics store, refits each deployment's quality
per classifier category (switchyard.ml.quality_fit), and checks the refit before deploying it: the
quality in force now (config plus the current artifact) and a refit of the older judgements both
predict the newest ones, and a refit that does worse is refused (exit 1, nothing written) unless
forced. A refit that passes is made again from every judgement and written to the artifact the
router reloads (routing.quality_file). With routing.retrain.every set, the router runs the same
guarded refit on that schedule (keep_retraining).

    switchyard train-router --from-store [--config FILE] [--store-url URL] [--out PATH]
                            [--min-samples N] [--dry-run] [--force]
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from switchyard.config import Config, ConfigError, load_config
from switchyard.config.routing import alias_pool
from switchyard.config.secrets import resolve_secret
from switchyard.ml import quality_fit
from switchyard.services.router.analytics import open_store
from switchyard.services.router.analytics.base import HistoryStore, HistoryUnavailable, Judgement
from switchyard.services.router.learned import (
    ArtifactError,
    Table,
    artifact_path,
    read_artifact,
    with_learned,
    write_artifact,
)

log = logging.getLogger(__name__)
DEFAULT_MIN_SAMPLES = 10
EXIT_WORSE, EXIT_ERROR = 1, 2


@dataclass(frozen=True, slots=True)
class Options:
    config: str = ""
    store_url: str = ""
    out: str = ""
    min_samples: int = DEFAULT_MIN_SAMPLES
    dry_run: bool = False
    force: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """A refit's evaluation against the quality in force, and what it would deploy."""

    before: quality_fit.Evaluation
    after: quality_fit.Evaluation
    table: Table
    judgements: int

    @property
    def worse(self) -> bool:
        return self.after.worse_than(self.before)


def _prior(config: Config) -> quality_fit.Prior:
    entries = {entry.deployment_id: entry for entry in config.model_list}

    def quality(deployment: str, category: str) -> float | None:
        entry = entries.get(deployment)
        return entry.quality_for(category) if entry is not None else None

    return quality


def pools(config: Config) -> dict[str, set[str]]:
    """Returns the sets of deployment ids the router chooses among: each model group's and each alias's pool."""
    chosen = {name: {e.deployment_id for e in entries} for name, entries in config.groups().items()}
    for name, alias in config.switchyard.aliases.items():
        chosen[f"alias {name}"] = {e.deployment_id for e in alias_pool(config.model_list, alias)}
    return chosen


def assess(config: Config, current: Table, judgements: list[Judgement], min_samples: int) -> Outcome:
    """Returns the refit of judgements over config and current, and both tables' held-out evaluations."""
    deployments = {entry.deployment_id for entry in config.model_list}
    known = [j for j in judgements if j.deployment in deployments]
    groups = pools(config)
    in_force = with_learned(config, current)
    prior = _prior(in_force)
    older, newest = quality_fit.split(known)
    before = quality_fit.evaluate(prior, newest, groups)
    candidate = quality_fit.refit(older, prior, min_samples)
    after = quality_fit.evaluate(_prior(with_learned(in_force, candidate)), newest, groups)
    refitted = quality_fit.refit(known, prior, min_samples)
    table = {d: {**current.get(d, {}), **refitted.get(d, {})} for d in {*current, *refitted}}
    return Outcome(before, after, table, len(known))


def store_url(config: Config, given: str) -> str:
    """Returns the analytics store to read: --store-url, else the config's analytics.url; raises ValueError."""
    if given:
        return given
    url, missing = resolve_secret(config.switchyard.analytics.url, os.environ)
    if missing:
        raise ValueError(f"analytics.url: the environment variable {missing} is not set")
    if not url:
        raise ValueError("no analytics store: set switchyard.analytics.url in the config or pass --store-url")
    return url


async def _judgements(url: str) -> list[Judgement]:
    store = open_store(url)
    try:
        await store.migrate()
        return await store.judgements()
    finally:
        await store.close()


def deploy(out: Path, outcome: Outcome) -> None:
    """Writes the outcome's quality table to the artifact at out, with its evaluation."""
    facts = {"trained_ms": int(time.time() * 1000), "judgements": outcome.judgements}
    write_artifact(out, outcome.table, **facts, before=asdict(outcome.before), after=asdict(outcome.after))


def run(options: Options) -> int:
    """Refits, prints both evaluations, writes the artifact unless refused; returns the exit status."""
    try:
        config = load_config(options.config)
        out = Path(options.out) if options.out else artifact_path(config)
        current = read_artifact(out)
        judgements = asyncio.run(_judgements(store_url(config, options.store_url)))
    except (ConfigError, ArtifactError, HistoryUnavailable, ValueError) as exc:
        print(f"switchyard train-router: {exc}", file=sys.stderr)
        return EXIT_ERROR
    outcome = assess(config, current, judgements, options.min_samples)
    if not outcome.judgements:
        print("switchyard train-router: the store holds no judgements of this config's deployments", file=sys.stderr)
        return EXIT_ERROR
    print(f"judgements: {outcome.judgements} ({len(judgements) - outcome.judgements} of unknown deployments)")
    print(f"before: {outcome.before}")
    print(f"after:  {outcome.after}")
    if outcome.worse and not options.force:
        print(f"refused: the refit evaluates worse than the quality in force; {out} is unchanged", file=sys.stderr)
        return EXIT_WORSE
    if options.dry_run:
        print(f"dry run: {out} not written")
        return 0
    deploy(out, outcome)
    print(f"wrote {out}: quality of {len(outcome.table)} deployments")
    return 0


async def retrain_once(config: Config, store: HistoryStore, out: Path, min_samples: int) -> Outcome | None:
    """The scheduled refit: deploys the refit when it evaluates no worse; returns the outcome (None: nothing
    to learn from). Raises HistoryUnavailable or ArtifactError."""
    current = await asyncio.to_thread(read_artifact, out)
    judgements = await store.judgements()
    outcome = assess(config, current, judgements, min_samples)
    if not outcome.judgements:
        return None
    if outcome.worse:
        log.warning("scheduled refit refused: %s, where the quality in force has %s", outcome.after, outcome.before)
        return outcome
    await asyncio.to_thread(deploy, out, outcome)
    log.info("scheduled refit deployed to %s: %s (before: %s)", out, outcome.after, outcome.before)
    return outcome


async def keep_retraining(
    config: Callable[[], Config], store: HistoryStore, out: Path, every_s: float, min_samples: int
) -> None:
    """Runs retrain_once on the current config every every_s seconds until cancelled (the router's
    LearnedWatcher then picks the artifact up like one the command wrote)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await retrain_once(config(), store, out, min_samples)
        except (HistoryUnavailable, ArtifactError) as exc:
            log.warning("scheduled refit skipped: %s", exc)
