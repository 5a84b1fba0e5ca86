"""How good a cost-quality router is, measured the way RouteLLM measures it.

Given, per prompt, the quality a cheap and a strong model reached (0-1: correct or not, or a judge's
grade) and the router's score (higher: more likely to need the strong model), routing the prompts
with the highest scores to the strong model traces a curve from "all cheap" to "all strong":

- the quality curve: mean quality against the share of calls sent to the strong model;
- PGR (performance gap recovered) at a share: (quality - cheap) / (strong - cheap);
- APGR: the area under the PGR curve over shares 0..1 (random routing scores 0.5 on average);
- CPT(x): the least strong-call share whose PGR reaches x (50 %, 80 %);
- share for 95 % of the strong model's quality: the least strong-call share whose quality reaches
  0.95 times the all-strong quality.

Ties in the score are broken at random (fixed seed) and averaged over repeats, so a router that
says nothing (a constant) scores like random routing rather than like the input order. Confidence
intervals come from a bootstrap over prompts. numpy only: the product runs it (`switchyard
eval-router`) and so do the training scripts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
# Per-prompt values: a list or an array.
Values = Sequence[float] | npt.NDArray[np.floating]
# Points on the share axis where the curve is sampled (0, 1 %, ..., 100 %).
SHARES = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class Curve:
    """A router's quality curve and its summary figures."""

    shares: Floats
    quality: Floats
    cheap: float
    strong: float
    apgr: float
    cpt50: float
    cpt80: float
    share_95: float


def curve(score: Values, cheap: Values, strong: Values, repeats: int = 8) -> Curve:
    """Returns the quality curve of routing by score (ties broken at random, averaged over repeats)."""
    s, c, g = (np.asarray(x, dtype=np.float64) for x in (score, cheap, strong))
    n = len(s)
    rng = np.random.default_rng(0)
    total = np.zeros(len(SHARES))
    for _ in range(repeats):
        order = np.lexsort((rng.random(n), -s))  # highest score first, random among equals
        gain = np.concatenate([[0.0], np.cumsum((g - c)[order])])
        counts = np.round(SHARES * n).astype(int)
        total += (c.sum() + gain[counts]) / max(n, 1)
    quality = total / repeats
    return _summary(quality, float(c.mean()) if n else 0.0, float(g.mean()) if n else 0.0)


def _summary(quality: Floats, cheap: float, strong: float) -> Curve:
    gap = strong - cheap
    pgr = (quality - cheap) / gap if abs(gap) > 1e-12 else np.zeros_like(quality)
    # Trapezoid rule over the sampled shares (numpy 2's trapezoid, spelled out to stay version-proof).
    apgr = float(np.sum((pgr[1:] + pgr[:-1]) / 2 * np.diff(SHARES)))

    def least(reached: npt.NDArray[np.bool_]) -> float:
        return float(SHARES[np.argmax(reached)]) if reached.any() else 1.0

    return Curve(
        SHARES,
        quality,
        cheap,
        strong,
        apgr,
        least(pgr >= 0.5),
        least(pgr >= 0.8),
        least(quality >= 0.95 * strong),
    )


@dataclass(frozen=True)
class Interval:
    """A figure and its 95 % bootstrap interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def bootstrap(score: Values, cheap: Values, strong: Values, rounds: int = 200) -> Mapping[str, Interval]:
    """Returns APGR, CPT(50 %), CPT(80 %) and the 95 %-quality share with 95 % intervals (prompts resampled)."""
    s, c, g = (np.asarray(x, dtype=np.float64) for x in (score, cheap, strong))
    point = curve(s, c, g)
    rng = np.random.default_rng(1)
    samples: dict[str, list[float]] = {"apgr": [], "cpt50": [], "cpt80": [], "share_95": []}
    for _ in range(rounds):
        pick = rng.integers(0, len(s), len(s))
        found = curve(s[pick], c[pick], g[pick], repeats=2)
        for name, values in samples.items():
            values.append(getattr(found, name))
    return {
        name: Interval(getattr(point, name), float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5)))
        for name, v in samples.items()
    }


def svg(curves: Mapping[str, Curve], title: str, width: int = 640, height: int = 420) -> str:
    """Returns an SVG line chart of quality against strong-call share, one line per router."""
    pad = 48
    first = next(iter(curves.values()))
    low = min(min(float(c.quality.min()), c.cheap) for c in curves.values())
    high = max(max(float(c.quality.max()), c.strong) for c in curves.values())
    span = max(high - low, 1e-9)

    def x(share: float) -> float:
        return pad + share * (width - 2 * pad)

    def y(value: float) -> float:
        return height - pad - (value - low) / span * (height - 2 * pad)

    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{_escape(title)}</text>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">share of calls to the strong model</text>',
        f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle">quality</text>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<text x="{x(tick)}" y="{height - pad + 16}" text-anchor="middle">{tick:.0%}</text>')
    for value, label in ((first.cheap, "cheap"), (first.strong, "strong")):
        parts.append(
            f'<line x1="{pad}" y1="{y(value)}" x2="{width - pad}" y2="{y(value)}" stroke="#999" stroke-dasharray="4"/>'
        )
        parts.append(f'<text x="{width - pad + 4}" y="{y(value) + 4}">{label} {value:.3f}</text>')
    for index, (name, c) in enumerate(curves.items()):
        colour = colours[index % len(colours)]
        points = " ".join(f"{x(float(s)):.1f},{y(float(q)):.1f}" for s, q in zip(c.shares, c.quality, strict=True))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(
            f'<text x="{pad + 8}" y="{pad + 14 + 16 * index}" fill="{colour}">'
            f"{_escape(name)} (APGR {c.apgr:.3f})</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
