"""Candidate filters run before every strategy, fallbacks included: residency, capability, window, health.

`Screen.run` sorts a request's candidates into those to rank first (`ready`), those near their rate
limits (`hot`: tried only after the others, never dropped), half-open circuits (`probes`: one probe
call, first in its tier: planning.py) and the skipped, each with an ErrorReason and a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from switchyard.common.v1 import errors_pb2 as E
from switchyard.config import DATA_CLASSES, DEFAULT_REGIONS, ModelEntry, ResidencySection
from switchyard.services.router.strategies.base import (
    TOKEN_FAMILY,
    Candidate,
    DeploymentStats,
    RequestFacts,
    Skip,
    prompt_tokens_for,
)

CLASS_RANK: dict[str, int] = {name: rank for rank, name in enumerate(DATA_CLASSES, start=1)}


@dataclass(frozen=True, slots=True)
class Profile:
    """What the filters need of one deployment, computed once per config."""

    region: str
    # regions: the request regions of the residency map this deployment lies in.
    regions: frozenset[str]
    max_class: int
    tools: bool
    vision: bool
    json: bool
    input_limit: int | None
    output_limit: int | None
    window: int | None
    # family: the classifier's tokens_by_family key for this deployment's tokenizer ("" for cl100k).
    family: str
    rpm: int | None
    tpm: int | None


def region_map(residency: ResidencySection) -> dict[str, list[str]]:
    """Returns the effective map of request regions to deployment-region patterns (built-in + configured)."""
    merged = {**DEFAULT_REGIONS, **residency.regions}
    return {key.lower(): [p.lower() for p in patterns] for key, patterns in merged.items()}


def _matches(region: str, pattern: str) -> bool:
    return region.startswith(pattern[:-1]) if pattern.endswith("*") else region == pattern


def in_region(deployment_region: str, request_region: str, patterns: Sequence[str] = ()) -> bool:
    """Returns whether a deployment region lies inside a request region ("eu-west-1" inside "eu")."""
    if not deployment_region:
        return False
    if deployment_region == request_region or deployment_region.startswith(request_region + "-"):
        return True
    return any(_matches(deployment_region, pattern) for pattern in patterns)


def profile_of(entry: ModelEntry, regions: Mapping[str, Sequence[str]], default_class: str) -> Profile:
    """Returns the filter profile of a deployment under a residency map."""
    info = entry.model_info
    window, output = info.max_tokens, info.max_output_tokens
    if window is not None and info.max_input_tokens is not None and window < info.max_input_tokens:
        # LiteLLM's older meaning of max_tokens: the completion cap, not the window.
        output, window = min(output or window, window), None
    return Profile(
        region=entry.region,
        regions=frozenset(key for key, patterns in regions.items() if in_region(entry.region, key, patterns)),
        max_class=CLASS_RANK[info.data_classification or default_class],
        tools=info.supports_function_calling is not False,
        vision=info.supports_vision is not False,
        json=info.supports_response_schema is not False,
        input_limit=info.max_input_tokens,
        output_limit=output,
        window=window,
        family=TOKEN_FAMILY.get(entry.provider, ""),
        rpm=entry.litellm_params.rpm,
        tpm=entry.litellm_params.tpm,
    )


def residency_problem(profile: Profile, facts: RequestFacts) -> str | None:
    """Returns why the request's data may not go to the deployment, or None when it may."""
    wanted = CLASS_RANK.get(facts.data_classification, 0)
    if wanted > profile.max_class:
        allowed = DATA_CLASSES[profile.max_class - 1]
        assumed = " (not analysed nor declared: assumed)" if facts.data_assumed else ""
        return f"may receive {allowed} data at most; the request is {facts.data_classification}{assumed}"
    region = facts.region
    if region and region not in profile.regions and not in_region(profile.region, region):
        where = f"runs in {profile.region}" if profile.region else "has no region"
        return f"{where}; the request's data must stay in {region}"
    return None


def capability_problem(profile: Profile, facts: RequestFacts) -> str | None:
    """Returns which needed capability the deployment lacks, or None."""
    if facts.needs_tools and not profile.tools:
        return "does not support tools (supports_function_calling: false)"
    if facts.needs_vision and not profile.vision:
        return "does not support images (supports_vision: false)"
    if facts.needs_json and not profile.json:
        return "does not support JSON output (supports_response_schema: false)"
    return None


def window_problem(entry: ModelEntry, profile: Profile, facts: RequestFacts) -> str | None:
    """Returns why the request does not fit the deployment's context window, or None when it fits."""
    prompt = prompt_tokens_for(entry, facts)
    output = facts.max_output_tokens or 0
    if profile.input_limit is not None and prompt > profile.input_limit:
        return f"prompt of ~{prompt} tokens exceeds max_input_tokens {profile.input_limit}"
    if profile.output_limit is not None and output > profile.output_limit:
        return f"max_tokens {output} exceeds max_output_tokens {profile.output_limit}"
    if profile.window is not None and prompt + output > profile.window:
        return f"~{prompt} prompt + {output} completion tokens exceed the {profile.window}-token window"
    capacity = profile.window or profile.input_limit
    if capacity is not None and capacity < facts.min_context_tokens:
        return f"window of {capacity} tokens is below the alias's min_context_tokens {facts.min_context_tokens}"
    return None


@dataclass
class Screened:
    """Candidates sorted by what the filters found."""

    ready: list[Candidate] = field(default_factory=list)
    hot: list[Candidate] = field(default_factory=list)
    probes: list[Candidate] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def _fits(profile: Profile, prompt: int, output: int, min_context: int) -> bool:
    """Returns whether window_problem() finds nothing (the hot-path form)."""
    if profile.input_limit is not None and prompt > profile.input_limit:
        return False
    if profile.output_limit is not None and output > profile.output_limit:
        return False
    if profile.window is not None and prompt + output > profile.window:
        return False
    capacity = profile.window or profile.input_limit
    return capacity is None or capacity >= min_context


CIRCUIT_OPEN = "circuit open: cooling down after failures"
_MEMO_LIMIT = 4096


class Screen:
    """The filters of one routing table: deployment profiles plus the utilisation threshold.

    The checks are the fast forms of the `*_problem` functions, which are asked for their sentence
    only when a check fails.
    """

    def __init__(
        self,
        profiles: dict[str, Profile],
        make_profile: Callable[[ModelEntry], Profile],
        region_keys: Collection[str],
        threshold: float,
    ) -> None:
        self._profiles, self._make = profiles, make_profile
        # The request regions whose deployments Profile.regions lists in full: no pattern match needed.
        self._region_keys = frozenset(region_keys)
        self.threshold = threshold
        self._skips: dict[tuple[str, str, str, bool, bool, bool, bool], Skip] = {}

    def profile(self, entry: ModelEntry) -> Profile:
        """Returns a deployment's profile (made and kept on first sight of a deployment not in the config)."""
        profile = self._profiles.get(entry.deployment_id)
        if profile is None:
            profile = self._profiles[entry.deployment_id] = self._make(entry)
        return profile

    def run(self, candidates: Sequence[Candidate], facts: RequestFacts, unavailable: Mapping[str, str]) -> Screened:
        """Returns the candidates sorted into ready, hot (utilisation >= threshold), probes and skipped."""
        result = Screened()
        wanted = CLASS_RANK.get(facts.data_classification, 0)
        region = facts.region
        listed = region in self._region_keys
        output = facts.max_output_tokens or 0
        base, families = facts.prompt_tokens, facts.tokens_by_family
        for candidate in candidates:
            entry, stats = candidate.entry, candidate.stats
            profile = self._profiles.get(entry.deployment_id) or self.profile(entry)
            prompt = families.get(profile.family, base) if families and profile.family else base
            allowed = wanted <= profile.max_class and (
                not region or region in profile.regions or (not listed and in_region(profile.region, region))
            )
            skip = None
            if not allowed or not _capable(profile, facts):
                skip = self._static_skip(entry, profile, facts)
            elif not _fits(profile, prompt, output, facts.min_context_tokens):
                detail = window_problem(entry, profile, facts) or ""
                skip = Skip(entry.deployment_id, E.ERROR_REASON_CONTEXT_WINDOW_EXCEEDED, detail)
            elif unavailable and entry.deployment_id in unavailable:
                skip = Skip(
                    entry.deployment_id, E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, unavailable[entry.deployment_id]
                )
            elif stats.circuit == "open":
                skip = Skip(entry.deployment_id, E.ERROR_REASON_DEPLOYMENT_UNAVAILABLE, CIRCUIT_OPEN)
            if skip is not None:
                result.skipped.append(skip)
            elif stats.circuit == "half_open":
                result.probes.append(candidate)
            elif utilisation(stats, profile, prompt) >= self.threshold:
                result.hot.append(candidate)
            else:
                result.ready.append(candidate)
        return result

    def _static_skip(self, entry: ModelEntry, profile: Profile, facts: RequestFacts) -> Skip:
        """Returns the skip for a residency or capability problem: these depend on the deployment and a
        few request traits only, so the same few recur and are kept."""
        key = (
            entry.deployment_id,
            facts.data_classification,
            facts.region,
            facts.needs_tools,
            facts.needs_vision,
            facts.needs_json,
            facts.data_assumed,
        )
        found = self._skips.get(key)
        if found is None:
            residency = residency_problem(profile, facts)
            if residency is not None:
                found = Skip(entry.deployment_id, E.ERROR_REASON_NO_ALLOWED_DEPLOYMENT, residency)
            else:
                found = Skip(
                    entry.deployment_id, E.ERROR_REASON_INVALID_REQUEST, capability_problem(profile, facts) or ""
                )
            if len(self._skips) < _MEMO_LIMIT:
                self._skips[key] = found
        return found


def _capable(profile: Profile, facts: RequestFacts) -> bool:
    return not (
        (facts.needs_tools and not profile.tools)
        or (facts.needs_vision and not profile.vision)
        or (facts.needs_json and not profile.json)
    )


def utilisation(stats: DeploymentStats, profile: Profile, prompt_tokens: int) -> float:
    """Returns the used share of the tighter of rpm and tpm this minute (1.0 when the provider says none
    is left); limits from the shared state, else the deployment's configured rpm/tpm."""
    if stats.remaining_requests == 0 or (stats.remaining_tokens is not None and stats.remaining_tokens < prompt_tokens):
        return 1.0
    used = 0.0
    rpm = stats.rpm_limit or profile.rpm
    if rpm:
        used = stats.rpm_used / rpm
    tpm = stats.tpm_limit or profile.tpm
    if tpm and stats.tpm_used / tpm > used:
        used = stats.tpm_used / tpm
    return used
