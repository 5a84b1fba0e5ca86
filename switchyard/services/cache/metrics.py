"""The cache's Prometheus metrics, read at scrape time from the counters in `stats.py` and the cache's status.

Lookups, hits by tier, misses, guard rejections, stores and refusals by reason, the best similarity
of each semantic search (a histogram, for tuning thresholds), tokens and cost saved, the semantic
index's size, cap and evictions, and whether the entry store (Redis) is up. `watch_cache(cache)` at start points the
collector at the running cache; nothing in the cache's request path changes for metrics.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from switchyard.runtime.metrics import REGISTRY, LoopCollector
from switchyard.services.cache.stats import Stats
from switchyard.services.cache.tiers import Status, TieredCache


def families(stats: Stats, status: Status | None) -> list[Metric]:
    """Returns the metrics the counters and status mean (no status: the store and index gauges have no sample)."""
    out: list[Metric] = [
        _counter("switchyard_cache_lookups", "Cache lookups.", stats.lookups),
        _counter("switchyard_cache_misses", "Lookups that found no answer to replay.", stats.misses),
        _counter(
            "switchyard_cache_guard_rejections",
            "Semantic candidates the near-miss guard rejected (similar wording, different question).",
            stats.guard_rejections,
        ),
        _counter(
            "switchyard_cache_semantic_skipped",
            "Lookups of comparable requests the semantic tier did not search (tier off, or the store down).",
            stats.semantic_skipped,
        ),
        _counter("switchyard_cache_stores", "Completions stored.", stats.stores),
        _counter("switchyard_cache_tokens_saved", "Tokens that cache hits spared the providers.", stats.tokens_saved),
        _counter("switchyard_cache_cost_saved_usd", "What cache hits saved in US dollars.", stats.cost_saved_usd),
    ]
    hits = CounterMetricFamily("switchyard_cache_hits", "Cache hits, by tier (exact or semantic).", labels=["tier"])
    hits.add_metric(["exact"], stats.exact_hits)
    hits.add_metric(["semantic"], stats.semantic_hits)
    refusals = CounterMetricFamily(
        "switchyard_cache_store_refusals", "Completions not stored, by reason.", labels=["reason"]
    )
    for reason, count in sorted(dict(stats.refusals).items()):
        refusals.add_metric([reason], count)
    out += [hits, refusals, _similarity(stats)]
    indexed, index_bytes, cap, up = (
        (None, None, None, None)
        if status is None
        else (status.indexed, status.index_bytes, status.index_max_entries, status.health.up)
    )
    out += [
        _gauge("switchyard_cache_indexed_entries", "Entries in this process's semantic index.", indexed),
        _gauge("switchyard_cache_index_bytes", "Memory the semantic index holds, in bytes.", index_bytes),
        _gauge("switchyard_cache_index_max_entries", "The cap on entries in the semantic index.", cap),
        _counter(
            "switchyard_cache_index_evictions",
            "Entries the semantic index forgot for its cap (least recently used; still in the store).",
            0 if status is None else status.index_evictions,
        ),
        _gauge("switchyard_cache_store_up", "1 while the entry store answers, 0 while it is down.", up),
    ]
    return out


def _similarity(stats: Stats) -> HistogramMetricFamily:
    """Returns the best-similarity histogram of semantic searches (cumulative buckets, no sum kept)."""
    family = HistogramMetricFamily(
        "switchyard_cache_semantic_similarity",
        "Best candidate similarity of each semantic search (cosine, 0 to 1).",
    )
    buckets: list[tuple[str, float]] = []
    total = 0
    for _, upper, count in stats.buckets():
        total += count
        buckets.append((repr(round(upper, 2)), float(total)))
    buckets.append(("+Inf", float(total)))
    family.add_metric([], buckets, None)
    return family


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


_COLLECTOR = LoopCollector(lambda: families(Stats(), None))
REGISTRY.register(_COLLECTOR)


def watch_cache(cache: TieredCache) -> None:
    """Makes scrapes read this cache's counters (call once at start, on the cache's event loop)."""
    _COLLECTOR.watch(lambda: families(cache.stats, cache.status()))
