"""Evaluates the semantic cache's near-miss guard against a plain embedding-threshold cache.

For each held-out set it prints the default operating point (the full cache decision: cosine >=
similarity floor AND the guard says same) and a precision-recall table over thresholds, for the
guard and for a plain cache that serves any candidate above a cosine threshold:
- PAWS held out: the 30 % of `cache/paws_dev.jsonl` that training never sees (split by source sentence);
- STS-B dev: `cache/stsb_dev.jsonl`, score >= 4.5 counts as the same question, < 4.0 as a different one;
- chat (held-out): chat-style cache queries from template families and pairs training never sees.
A false hit is a pair the cache would serve that is not the same question; false-hit rate = false
hits / pairs that are not the same; recall = served / pairs that are the same.

Usage: .venv/bin/python -m training.eval_nearmiss [--data ../shared/data] [--artifact PATH]
This file also holds the data loading, the PAWS split and the chat seeds the training script uses.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# Run as a file, Python puts scripts/ first on the path: put the repository before any installed copy.
import numpy as np
import numpy.typing as npt

from switchyard.ml.embedder import StaticEmbedder
from switchyard.ml.nearmiss import NearMissGuard, PairFeatures, pair_features
from switchyard.ml.normalise import semantic_text
from training import DATA, SEEDS

DEFAULT_DATA = DATA
HAND_WRITTEN = SEEDS / "cache"
PAWS_HELD_OUT_PERCENT = 30
STS_SAME, STS_DIFFERENT = 4.5, 4.0
PLAIN_THRESHOLDS = (0.80, 0.85, 0.90, 0.92, 0.95, 0.97, 0.98, 0.99)
GUARD_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class Pair:
    """Two texts, whether they ask the same, where the pair comes from and its group (for CV splits)."""

    a: str
    b: str
    same: bool
    source: str
    group: str


def read_jsonl(path: Path) -> list[dict[str, object]]:
    """Returns the records of a JSON Lines file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _bag(text: str) -> str:
    return " ".join(sorted(re.findall(r"\w+", text.lower())))


def paws_split(rows: Sequence[dict[str, object]]) -> tuple[list[Pair], list[Pair]]:
    """Returns (training, held-out) PAWS pairs; pairs sharing a sentence or a bag of words stay together."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for row in rows:
        a, b = str(row["a"]), str(row["b"])
        keys = [find(k) for k in ("s:" + a, "s:" + b, "w:" + _bag(a), "w:" + _bag(b))]
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    members: dict[str, list[str]] = {}
    for row in rows:
        members.setdefault(find("s:" + str(row["a"])), []).append(str(row["a"]))
    train: list[Pair] = []
    held_out: list[Pair] = []
    for row in rows:
        root = find("s:" + str(row["a"]))
        group = min(members[root])
        pair = Pair(str(row["a"]), str(row["b"]), bool(row["same"]), "paws", "paws:" + group)
        held = zlib.crc32(group.encode()) % 100 < PAWS_HELD_OUT_PERCENT
        (held_out if held else train).append(pair)
    return train, held_out


def stsb(rows: Sequence[dict[str, object]], source: str) -> list[Pair]:
    """Returns the STS-B pairs that are clearly the same (>= 4.5) or clearly not (< 4.0)."""
    pairs = []
    for row in rows:
        score = float(str(row["score"]))
        if STS_DIFFERENT <= score < STS_SAME:
            continue
        a, b = str(row["a"]), str(row["b"])
        pairs.append(Pair(a, b, score >= STS_SAME, source, f"{source}:{min(a, b)}"))
    return pairs


@dataclass(frozen=True)
class Family:
    """A family of chat-style cache queries: paraphrase templates and the values of their slots.

    Two templates with the same values ask the same; changing a value, swapping the two `roles`
    slots or using a `negated` template asks something else; swapping `symmetric` slots does not
    ("difference between X and Y"). `tied` slots take values at one shared index (miles with
    kilometers), except the number N.
    """

    templates: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]
    negated: tuple[str, ...] = ()
    roles: tuple[str, str] | None = None
    symmetric: tuple[str, str] | None = None
    tied: bool = False


CHAT_FAMILIES: dict[str, Family] = {
    "capital": Family(
        templates=(
            "What is the capital of {X}?",
            "what's the capital city of {X}",
            "capital of {X}?",
            "Which city is the capital of {X}?",
            "Tell me the capital of {X}.",
        ),
        slots={"X": ("France", "Germany", "Spain", "Italy", "Japan", "Canada", "Brazil", "Australia", "Kenya", "Peru")},
    ),
    "convert": Family(
        templates=("Convert {N} {U} to {V}", "How many {V} is {N} {U}?", "{N} {U} in {V}?", "what is {N} {U} in {V}"),
        slots={
            "N": ("3", "4", "5", "10", "12", "25", "42", "100"),
            "U": ("miles", "pounds", "feet", "gallons", "ounces"),
            "V": ("kilometers", "kilograms", "meters", "liters", "grams"),
        },
        roles=("U", "V"),
        tied=True,
    ),
    "code": Family(
        templates=(
            "How do I {T} in {L}?",
            "{L}: how to {T}?",
            "What's the best way to {T} in {L}?",
            "how can i {T} using {L}",
            "{T} in {L}",
        ),
        slots={
            "T": (
                "reverse a list",
                "sort a dictionary by value",
                "read a file line by line",
                "remove duplicates from a list",
                "convert a string to an integer",
                "check if a key exists in a map",
                "split a string on whitespace",
                "get the current date",
            ),
            "L": ("Python", "JavaScript", "Java", "Go", "Rust", "C#", "Ruby"),
        },
    ),
    "flights": Family(
        templates=(
            "Cheapest flights from {A} to {B}",
            "find me a cheap flight from {A} to {B}",
            "low-cost flights {A} to {B}",
            "What is the cheapest way to fly from {A} to {B}?",
        ),
        slots={
            "A": ("London", "Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Dublin"),
            "B": ("New York", "Tokyo", "Boston", "Chicago", "Toronto", "Sydney", "Miami"),
        },
        roles=("A", "B"),
    ),
    "translate": Family(
        templates=(
            "Translate '{P}' into {L}",
            "How do you say '{P}' in {L}?",
            "What is '{P}' in {L}?",
            "'{P}' in {L} please",
        ),
        slots={
            "P": ("good morning", "thank you very much", "where is the station", "I am hungry", "see you tomorrow"),
            "L": ("Spanish", "French", "German", "Italian", "Japanese", "Portuguese"),
        },
    ),
    "define": Family(
        templates=(
            "What does {T} mean?",
            "Define {T}.",
            "What is the meaning of {T}?",
            "{T} definition",
            "explain what {T} means",
        ),
        slots={
            "T": (
                "entropy",
                "photosynthesis",
                "inflation",
                "recursion",
                "opportunity cost",
                "osmosis",
                "irony",
                "latency",
            )
        },
    ),
    "recipe": Family(
        templates=("How do I make {D}?", "Recipe for {D}", "how to cook {D} at home", "What's a good {D} recipe?"),
        slots={"D": ("pancakes", "lasagna", "banana bread", "chicken curry", "guacamole", "risotto", "french toast")},
    ),
    "arithmetic": Family(
        templates=("What is {A} times {B}?", "Calculate {A} multiplied by {B}", "{A} x {B} = ?", "what's {A} * {B}"),
        slots={"A": ("7", "12", "15", "23", "48"), "B": ("8", "9", "14", "31", "56")},
        symmetric=("A", "B"),
    ),
    "weather": Family(
        templates=(
            "What's the weather in {C} {D}?",
            "weather forecast for {C} {D}",
            "{C} weather {D}",
            "How will the weather be in {C} {D}?",
        ),
        slots={
            "C": ("Paris", "Seattle", "Mumbai", "Cairo", "Oslo", "Denver", "Lagos"),
            "D": ("today", "tomorrow", "this weekend", "next week"),
        },
    ),
    "dogs": Family(
        templates=("Which foods are safe for {A} to eat?", "What food can {A} safely eat?", "what can {A} eat safely"),
        slots={"A": ("dogs", "cats", "rabbits", "parrots", "hamsters", "horses")},
        negated=("Which foods are not safe for {A} to eat?", "What food can {A} not eat?", "what should {A} never eat"),
    ),
    "difference": Family(
        templates=(
            "What is the difference between {X} and {Y}?",
            "{X} vs {Y}: what's the difference?",
            "How does {X} differ from {Y}?",
        ),
        slots={
            "X": ("TCP", "a virus", "weather", "affect", "stocks", "RAM", "an alligator"),
            "Y": ("UDP", "bacteria", "climate", "effect", "bonds", "ROM", "a crocodile"),
        },
        symmetric=("X", "Y"),
        tied=True,
    ),
    "lawsuit": Family(
        templates=("Why did {P} sue {Q}?", "What was the reason {P} sued {Q}?", "{P} lawsuit against {Q}: why?"),
        slots={
            "P": ("Apple", "Oracle", "Epic Games", "Microsoft", "Disney", "Nintendo"),
            "Q": ("Samsung", "Google", "Amazon", "Netflix", "Valve", "Sony"),
        },
        roles=("P", "Q"),
    ),
    # Held out: never used for training, reported as "chat (held-out)".
    "author": Family(
        templates=(
            "Who wrote {B}?",
            "Who is the author of {B}?",
            "{B} was written by whom?",
            "who's the writer of {B}",
        ),
        slots={"B": ("War and Peace", "Dune", "Pride and Prejudice", "The Hobbit", "Moby Dick", "Beloved", "Ulysses")},
    ),
    "compare": Family(
        templates=("Is {X} bigger than {Y}?", "Is {X} larger than {Y}?", "Does {X} have a larger area than {Y}?"),
        slots={
            "X": ("Texas", "France", "Alaska", "Mongolia", "Egypt", "Chile"),
            "Y": ("Germany", "Spain", "Mexico", "Iran", "Peru", "Norway"),
        },
        roles=("X", "Y"),
    ),
    "population": Family(
        templates=(
            "What is the population of {X}?",
            "How many people live in {X}?",
            "{X} population",
            "how many inhabitants does {X} have",
        ),
        slots={"X": ("Nigeria", "Vietnam", "Poland", "Argentina", "Tokyo", "Toronto", "Ireland")},
    ),
    "currency": Family(
        templates=(
            "What currency is used in {X}?",
            "What is the currency of {X}?",
            "{X} currency",
            "which money do they use in {X}",
        ),
        slots={"X": ("Thailand", "Sweden", "Morocco", "Chile", "Switzerland", "Turkey", "Hungary")},
    ),
    "timezone": Family(
        templates=("What time is it in {C} now?", "current time in {C}", "what's the local time in {C}?"),
        slots={"C": ("Sydney", "Chicago", "Dubai", "Seoul", "Lima", "Nairobi")},
        negated=("What time is it not in {C} now?",),
    ),
}
HELD_OUT_FAMILIES = ("author", "compare", "population", "currency", "timezone")

# Hand-written pairs: (a, b, same). Even positions train, odd positions are held out.
CHAT_PAIRS: tuple[tuple[str, str, bool], ...] = (
    ("how do I reverse a list in python", "python: reverse a list?", True),
    ("What's a good way to learn guitar as an adult?", "how should an adult start learning the guitar", True),
    ("Explain quantum entanglement in simple terms", "Can you explain quantum entanglement simply?", True),
    ("Summarize the plot of Hamlet", "Give me a summary of Hamlet's plot", True),
    ("how to center a div in css", "CSS: how do I center a div?", True),
    ("What are the symptoms of the flu?", "flu symptoms?", True),
    ("Write a haiku about autumn", "Compose a haiku about autumn.", True),
    ("What is the boiling point of water at sea level?", "At sea level, what temperature does water boil at?", True),
    ("best way to remove a red wine stain from carpet", "How do I get red wine out of a carpet?", True),
    ("How many days are in a leap year?", "number of days in a leap year", True),
    ("Why is the sky blue?", "what makes the sky blue", True),
    ("git undo last commit", "How do I undo my last git commit?", True),
    ("how do I exit vim", "How can I quit Vim?", True),
    ("How long should I boil an egg?", "boiling time for an egg", True),
    ("What is the speed of light?", "how fast does light travel", True),
    ("how to make cold brew coffee", "cold brew coffee recipe", True),
    ("What causes inflation?", "Why does inflation happen?", True),
    ("How do I install numpy?", "installing numpy", True),
    ("What year did the Berlin Wall fall?", "When did the Berlin Wall come down?", True),
    ("list comprehension python example", "Show me an example of a list comprehension in Python", True),
    ("Tips for improving sleep quality", "How can I improve the quality of my sleep?", True),
    ("what is the tallest mountain in the world", "Which mountain is the tallest in the world?", True),
    ("What is the capital of France?", "What is the capital of Germany?", False),
    ("convert 3 miles to km", "convert 4 miles to km", False),
    ("Alice sued Bob", "Bob sued Alice", False),
    ("How do I sort a list in ascending order?", "How do I sort a list in descending order?", False),
    ("Is coffee good for you?", "Is coffee bad for you?", False),
    ("What's the weather in Paris today?", "What's the weather in Paris tomorrow?", False),
    ("How do I install Python on Windows?", "How do I install Python on a Mac?", False),
    ("Can dogs eat grapes?", "Can cats eat grapes?", False),
    ("Who was the first president of the United States?", "Who was the second president of the United States?", False),
    ("How to lose weight fast", "How to gain weight fast", False),
    ("Python code to read a CSV file", "Python code to write a CSV file", False),
    ("What are the side effects of ibuprofen?", "What are the side effects of acetaminophen?", False),
    ("Is it safe to drink tap water in Mexico?", "Is it safe to drink tap water in Canada?", False),
    ("Write a poem about the sea", "Write a poem about the desert", False),
    ("Train from London to Paris", "Train from Paris to London", False),
    ("Does the iPhone 15 support USB-C?", "Does the iPhone 14 support USB-C?", False),
    ("What does HTTP 404 mean?", "What does HTTP 500 mean?", False),
    ("How to kill a Python process", "How to start a Python process", False),
    ("Why do cats purr?", "Why do cats hiss?", False),
    ("Will it rain tomorrow?", "Will it snow tomorrow?", False),
    ("the man bit the dog", "the dog bit the man", False),
    ("Give me a vegetarian lasagna recipe", "Give me a vegan lasagna recipe", False),
    ("How many calories are in an apple?", "How many calories are in a banana?", False),
    ("Who won the 2018 World Cup?", "Who won the 2022 World Cup?", False),
    ("Print hello world in Java", "Print hello world in JavaScript", False),
    ("I can't log in to my account", "I can log in to my account", False),
    ("Summarize this article in one sentence", "Summarize this article in three sentences", False),
    (
        "Which is heavier, a kilogram of feathers or of steel?",
        "Which is lighter, a kilogram of feathers or of steel?",
        False,
    ),
)


def _pick(family: Family, rng: random.Random) -> dict[str, str]:
    """Returns random values for every slot; `tied` slots share one index."""
    if not family.tied:
        return {slot: rng.choice(values) for slot, values in family.slots.items()}
    index = rng.randrange(min(len(values) for slot, values in family.slots.items() if slot != "N"))
    return {slot: rng.choice(values) if slot == "N" else values[index] for slot, values in family.slots.items()}


def family_pairs(name: str, family: Family, rng: random.Random, count: int = 40) -> list[Pair]:
    """Returns paraphrase, changed-value, swapped-role and negated pairs of one chat template family."""
    group = f"chat:{name}"
    pairs: list[Pair] = []
    for _ in range(count):
        values = _pick(family, rng)
        first, second = rng.sample(family.templates, 2)
        pairs.append(Pair(first.format(**values), second.format(**values), True, group, group))
        other = _pick(family, rng)
        changed = rng.choice([s for s in family.slots if other[s] != values[s]] or list(family.slots))
        moved = dict(values, **{changed: other[changed]})
        if family.tied and changed != "N":
            moved = {slot: values[slot] if slot == "N" else other[slot] for slot in family.slots}
        if moved != values:
            pairs.append(
                Pair(first.format(**values), rng.choice(family.templates).format(**moved), False, group, group)
            )
        for swap, same in ((family.roles, False), (family.symmetric, True)):
            if swap is not None:
                x, y = swap
                swapped = dict(values, **{x: values[y], y: values[x]})
                pairs.append(
                    Pair(first.format(**values), rng.choice(family.templates).format(**swapped), same, group, group)
                )
        if family.negated:
            pairs.append(Pair(first.format(**values), rng.choice(family.negated).format(**values), False, group, group))
    unique = {(p.a, p.b): p for p in pairs if p.a != p.b}
    return list(unique.values())


def chat_pairs(held_out: bool, seed: int = 7) -> list[Pair]:
    """Returns the chat-style seed pairs: the training families and pairs, or the held-out ones."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for name, family in CHAT_FAMILIES.items():
        if (name in HELD_OUT_FAMILIES) == held_out:
            pairs.extend(family_pairs(name, family, rng))
    for index, (a, b, same) in enumerate(CHAT_PAIRS):
        if (index % 2 == 1) == held_out:
            pairs.append(Pair(a, b, same, "chat:pairs", f"chat:pair:{index}"))
    return pairs


def hand_written(split: str) -> dict[str, list[Pair]]:
    """Returns the hand-written pairs of training/data/cache of one split, by file."""
    found: dict[str, list[Pair]] = {}
    for path in sorted(HAND_WRITTEN.glob("*.jsonl")):
        rows = [r for r in read_jsonl(path) if r["split"] == split]
        found[path.stem] = [
            Pair(str(r["a"]), str(r["b"]), bool(r["same"]), f"{path.stem}:{r['kind']}", f"{path.stem}:{r['family']}")
            for r in rows
        ]
    return found


def normalised(pairs: Sequence[Pair]) -> list[Pair]:
    """Returns the pairs as the cache compares them: both sides through normalise.semantic_text."""
    return [Pair(semantic_text(p.a), semantic_text(p.b), p.same, p.source, p.group) for p in pairs]


def load_eval_sets(data: Path) -> dict[str, list[Pair]]:
    """Returns the held-out evaluation sets by name, normalised as the cache normalises."""
    _, paws_held_out = paws_split(read_jsonl(data / "cache" / "paws_dev.jsonl"))
    sets = {
        "PAWS held out": paws_held_out,
        "STS-B dev": stsb(read_jsonl(data / "cache" / "stsb_dev.jsonl"), "stsb-dev"),
        "chat templates (held-out)": chat_pairs(held_out=True),
    }
    sets.update({f"{name} (held-out)": pairs for name, pairs in hand_written("heldout").items()})
    return {name: normalised(pairs) for name, pairs in sets.items()}


Vectors = dict[str, npt.NDArray[np.float32]]


def embed_texts(texts: Iterable[str]) -> Vectors:
    """Returns the shared static embedder's vector of every text (tens of microseconds each)."""
    embedder = StaticEmbedder.load()
    return {text: embedder.embed_one(text) for text in set(texts)}


@dataclass(frozen=True)
class Scored:
    """The guard's view of a set of pairs: labels, cosines, model probabilities and hard-rule vetoes."""

    same: npt.NDArray[np.bool_]
    cosine: npt.NDArray[np.float64]
    probability: npt.NDArray[np.float64]
    vetoed: npt.NDArray[np.bool_]
    # operating: the guard's default threshold for each pair (its length band's).
    operating: npt.NDArray[np.float64]

    def guard(self, floor: float, threshold: float | None) -> npt.NDArray[np.bool_]:
        """Returns which pairs the cache serves: cosine >= floor, no veto and P(same) >= threshold (None:
        each pair's default operating point)."""
        cut = self.operating if threshold is None else threshold
        return (self.cosine >= floor) & ~self.vetoed & (self.probability >= cut)

    def plain(self, threshold: float) -> npt.NDArray[np.bool_]:
        """Returns which pairs a plain embedding-threshold cache serves."""
        return self.cosine >= threshold


def features_of(pairs: Sequence[Pair], vectors: Vectors) -> list[PairFeatures]:
    """Returns the guard's features of every pair, as the cache computes them."""
    word_vector = StaticEmbedder.load().embed_one
    return [pair_features(p.a, p.b, vectors[p.a], vectors[p.b], word_vector) for p in pairs]


def score(guard: NearMissGuard, pairs: Sequence[Pair], vectors: Vectors) -> Scored:
    """Returns how the guard sees every pair."""
    features = features_of(pairs, vectors)
    return Scored(
        np.array([p.same for p in pairs], dtype=bool),
        np.array([f["cosine"] for f in features]),
        np.array([guard.probability(f) for f in features]),
        np.array([bool(f.veto()) for f in features], dtype=bool),
        np.array([guard.threshold_for(f) for f in features]),
    )


def rates(same: npt.NDArray[np.bool_], served: npt.NDArray[np.bool_]) -> tuple[float, float, float]:
    """Returns (false-hit rate, recall, precision) of serving `served` when `same` is the truth."""
    false_hits = float((served & ~same).sum() / max((~same).sum(), 1))
    recall = float((served & same).sum() / max(same.sum(), 1))
    precision = float((served & same).sum() / served.sum()) if served.any() else 1.0
    return false_hits, recall, precision


def plain_threshold_for(scored: Scored, budget: float) -> float:
    """Returns the least cosine threshold at which a plain cache's false-hit rate is within budget."""
    for threshold in np.round(np.arange(0.50, 1.0001, 0.0025), 4):
        if rates(scored.same, scored.plain(float(threshold)))[0] <= budget:
            return float(threshold)
    return 1.0


def _row(label: str, same: npt.NDArray[np.bool_], served: npt.NDArray[np.bool_]) -> str:
    fhr, recall, precision = rates(same, served)
    return f"| {label} | {100 * fhr:.2f} % | {100 * recall:.1f} % | {100 * precision:.1f} % |"


def report(guard: NearMissGuard, sets: Mapping[str, Sequence[Pair]], vectors: Vectors) -> str:
    """Returns the evaluation as Markdown: operating point, then guard and plain-cache tables per set."""
    short = f"; pairs of at most {guard.short[0]} words: P(same) >= {guard.short[1]:.3f}" if guard.short else ""
    lines = [
        f"similarity floor {guard.similarity_floor:.3f}, default threshold P(same) >= {guard.threshold:.3f}{short}",
        "",
        "## Default operating point (cosine >= floor AND guard says same)",
        "",
        "| set | pairs (same / not) | false-hit rate | recall | precision |",
        "|---|---|---|---|---|",
    ]
    scored = {name: score(guard, pairs, vectors) for name, pairs in sets.items()}
    for name, s in scored.items():
        fhr, recall, precision = rates(s.same, s.guard(guard.similarity_floor, None))
        counts = f"{int(s.same.sum())} / {int((~s.same).sum())}"
        lines.append(f"| {name} | {counts} | {100 * fhr:.2f} % | {100 * recall:.1f} % | {100 * precision:.1f} % |")
    for name, s in scored.items():
        lines += ["", f"## {name}", "", "| cache | false-hit rate | recall | precision |", "|---|---|---|---|"]
        lines.append(_row("guard, default operating points", s.same, s.guard(guard.similarity_floor, None)))
        for threshold in GUARD_THRESHOLDS:
            lines.append(_row(f"guard P >= {threshold:.3f}", s.same, s.guard(guard.similarity_floor, threshold)))
        for threshold in PLAIN_THRESHOLDS:
            lines.append(_row(f"plain cosine >= {threshold:.2f}", s.same, s.plain(threshold)))
        needed = plain_threshold_for(s, 0.01)
        lines.append(_row(f"plain cosine >= {needed:.4f} (least with <= 1 % false hits)", s.same, s.plain(needed)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data directory")
    parser.add_argument("--artifact", type=Path, default=None, help="a nearmiss.json other than the committed one")
    args = parser.parse_args()
    guard = NearMissGuard.load(args.artifact, StaticEmbedder.load().embed_one)
    sets = load_eval_sets(args.data)
    vectors = embed_texts({t for pairs in sets.values() for p in pairs for t in (p.a, p.b)})
    print(report(guard, sets, vectors))


if __name__ == "__main__":
    main()
