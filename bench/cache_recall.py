"""How often the semantic cache answers a reworded question, and how often it wrongly answers a
different one: `python -m bench.cache_recall`.

Through the edge, as a user meets it: the mesh (`switchyard up`, cache on, its defaults) in front of
the fake upstream, and for every labelled pair (a, b) a system prompt of its own (so pairs never see
each other's entries), `a` asked, then `b` asked `--gap` seconds later (0.5 by default: the answer to
`a` is stored off the response path). A pair counts as a hit when `b`'s x-switchyard-cache header says
hit. Pairs labelled the same should hit; the others should not.

Sets: the hand-written pairs in training/data/cache (`--split heldout` by default: the families no
tuning saw), PAWS and STS-B from the shared data when `--data` has them (PAWS' held-out part, as the
near-miss guard's training left it), and a control: each paraphrase's `a` asked again under another
system prompt, which must never hit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import run

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "training" / "data" / "cache"
SHARED = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    same: bool
    group: str  # the set and kind the pair is counted under


def hand_written(split: str) -> list[Pair]:
    """Returns the labelled pairs of training/data/cache of the split ("all" for every pair)."""
    pairs = []
    for path in sorted(SETS.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if split != "all" and row["split"] != split:
                continue
            pairs.append(Pair(row["a"], row["b"], bool(row["same"]), f"{path.stem}/{row['kind']}"))
    return pairs


def shared(data: Path, per_set: int, rng: random.Random) -> list[Pair]:
    """Returns a sample of PAWS (held-out part) and STS-B dev pairs, when the shared data is there."""
    pairs: list[Pair] = []
    paws = data / "cache" / "paws_dev.jsonl"
    if paws.is_file():
        from training.eval_nearmiss import paws_split, read_jsonl

        _, held = paws_split(read_jsonl(paws))  # the part the near-miss guard's training never saw
        for same in (True, False):
            chosen = rng.sample([p for p in held if p.same == same], per_set)
            pairs += [Pair(p.a, p.b, same, "paws/" + ("paraphrase" if same else "not")) for p in chosen]
    stsb = data / "cache" / "stsb_dev.jsonl"
    if stsb.is_file():
        scored = [json.loads(line) for line in stsb.read_text().splitlines()]
        for same in (True, False):
            # Clearly the same (>= 4.5 of 5) or clearly not (< 3): the ambiguous middle is left out.
            fitting = [r for r in scored if (float(r["score"]) >= 4.5 if same else float(r["score"]) < 3.0)]
            label = "stsb/" + ("same" if same else "different")
            pairs += [Pair(r["a"], r["b"], same, label) for r in rng.sample(fitting, min(per_set, len(fitting)))]
    return pairs


async def ask(client: httpx.AsyncClient, system: str, text: str) -> str:
    """Returns the x-switchyard-cache header of one chat completion."""
    body = {
        "model": "default",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": text}],
    }
    reply = await client.post("/chat/completions", json=body)
    if reply.status_code != 200:
        # A prompt the gateway refuses (the injection guard, residency): counted as refused, not as a miss.
        return f"refused {reply.status_code}: {reply.text[:200]}"
    return reply.headers.get("x-switchyard-cache", "")


async def play(client: httpx.AsyncClient, pair: Pair, gap: float, other_system: bool = False) -> bool | None:
    """Asks a, then b after gap seconds; returns whether b was a cache hit (None: the gateway refused one)."""
    system = f"You are a helpful assistant ({uuid.uuid4().hex[:12]})."
    first = await ask(client, system, pair.a)
    if first.startswith("refused"):
        return None
    await asyncio.sleep(gap)
    second = f"You are a helpful assistant ({uuid.uuid4().hex[:12]})." if other_system else system
    answer = await ask(client, second, pair.b)
    return None if answer.startswith("refused") else answer.startswith("hit")


async def measure(pairs: Sequence[Pair], gateway: str, gap: float, workers: int) -> dict[str, dict[str, Any]]:
    """Plays every pair (workers at a time) and returns hits per group."""
    queue: asyncio.Queue[tuple[Pair, bool]] = asyncio.Queue()
    for pair in pairs:
        queue.put_nowait((pair, False))
    for pair in pairs:
        if pair.same and pair.group.startswith("chat_paraphrases"):
            queue.put_nowait((Pair(pair.a, pair.a, False, "control/other system prompt"), True))
    results: dict[str, dict[str, Any]] = {}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            pair, other = queue.get_nowait()
            hit = await play(client, pair, gap, other_system=other)
            tally = results.setdefault(pair.group, {"same": pair.same, "pairs": 0, "hits": 0, "refused": 0})
            if hit is None:
                tally["refused"] += 1
                continue
            tally["pairs"] += 1
            tally["hits"] += int(hit)

    async with httpx.AsyncClient(base_url=gateway, timeout=30.0) as client:
        await asyncio.gather(*(worker(client) for _ in range(workers)))
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    """Returns the results as Markdown: per group, and the totals of should-hit and should-miss pairs."""
    lines = ["| pairs | labelled | asked | hits | hit rate | refused |", "|---|---|---|---|---|---|"]
    totals: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}
    for group in sorted(results):
        r = results[group]
        totals[r["same"]][0] += r["pairs"]
        totals[r["same"]][1] += r["hits"]
        label = "same" if r["same"] else "different"
        rate = 100 * r["hits"] / max(r["pairs"], 1)
        lines.append(f"| {group} | {label} | {r['pairs']} | {r['hits']} | {rate:.1f} % | {r['refused']} |")
    for same, (count, hits) in totals.items():
        label = "all that should hit" if same else "all that should miss"
        lines.append(f"| **{label}** | | {count} | {hits} | {100 * hits / max(count, 1):.1f} % | |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> str:
    rng = random.Random(7)
    pairs = hand_written(args.split) + shared(args.data, args.per_set, rng)
    if args.limit:
        pairs = rng.sample(pairs, min(args.limit, len(pairs)))
    options = run.parse_args(["--skip-direct", "--duration", "1"])
    with run.started(options) as (gateway, _, children):
        by_name = {c.name: c for c in children}
        await run.wait_ready(f"{gateway.removesuffix('/v1')}/readyz", by_name["switchyard-up"], 90.0)
        results = await measure(pairs, gateway, args.gap, args.workers)
    return table(results)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cache_recall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="heldout", choices=("heldout", "tune", "all"))
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data (PAWS, STS-B), when present")
    parser.add_argument("--per-set", type=int, default=150, help="PAWS and STS-B pairs per label")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between a pair's two questions")
    parser.add_argument("--workers", type=int, default=8, help="pairs in flight at once")
    parser.add_argument("--limit", type=int, default=0, help="play at most this many pairs (a random sample)")
    args = parser.parse_args(argv)
    print(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
