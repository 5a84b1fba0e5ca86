"""The labelled prompts the task-category model learns from, each tagged with the source it came from.

Public data (the shared data folder, `../shared/data` by default):
- `categories/train.jsonl`: code, math, creative_writing, summarization, extraction, classification and
  knowledge prompts from arena-hard-auto v2.0, HumanEval, GSM8K, self-instruct seed tasks and T0 prompt
  templates. The T0 templates are machine-made and some are mislabelled: `T0_DROP` and `T0_RELABEL`
  list each template that is fixed, with the reason.
- `router/outcomes.jsonl`: task prompts of other benchmarks, labelled by task (`OUTCOME_TASKS`), and
  298 Chatbot Arena prompts (arena-hard v0.1) that carry no category: `arena_labels.jsonl` here
  labels 247 of them by hand (keyed by a hash of the prompt; the other 51 fit no category cleanly).
- `router/mmlu_train.jsonl`: MMLU questions, labelled by subject (`mmlu_category`), at most
  `MMLU_PER_SUBJECT` per subject, most of them without their answer options.

Seeds written by hand for this project (`training/data/`): the shared data has no reasoning,
roleplay or chat prompts and few of the shapes users type (short questions, follow-ups, everyday
requests), so `category_seeds.jsonl` carries them in families of one style each (the `source`),
held out one family at a time (`seed-varied`: creative writing in many forms and languages, and
questions answered from a given passage, the two weakest categories on held-out sources);
`category_multilingual.jsonl` holds prompts in ten other languages (`lang`), and
`category_holdout.jsonl` a family written last and used only to measure, never to tune or train.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from training import DATA, SEEDS

Row = dict[str, str]

SEED_FILE = SEEDS / "category_seeds.jsonl"
MULTILINGUAL_FILE = SEEDS / "category_multilingual.jsonl"
HOLDOUT_FILE = SEEDS / "category_holdout.jsonl"
ARENA_LABELS = SEEDS / "arena_labels.jsonl"
MMLU_PER_SUBJECT = 20

# T0 templates whose instruction does not match the label and fits no category cleanly: dropped.
T0_DROP: dict[str, str] = {
    "t0/cnn_dailymail_3_0_0_spice_up_story": "asks which details would make a storyline engaging, not a summary",
    "t0/gigaword_reverse_writing": "a bare 'Title: ...' line with no instruction at all",
    "t0/adversarial_qa_dbert_generate_question": "question writing, not answer extraction",
    "t0/adversarial_qa_dbidaf_generate_question": "question writing, not answer extraction",
    "t0/adversarial_qa_droberta_generate_question": "question writing, not answer extraction",
    "t0/duorc_ParaphraseRC_generate_question": "question writing, not answer extraction",
    "t0/duorc_SelfRC_generate_question": "question writing, not answer extraction",
    "t0/duorc_ParaphraseRC_generate_question_by_answer": "question writing, not answer extraction",
    "t0/duorc_SelfRC_generate_question_by_answer": "question writing, not answer extraction",
    "t0/wiki_qa_Generate_Question_from_Topic": "question writing, not knowledge",
    "t0/wiki_qa_Jeopardy_style": "question writing, not knowledge",
    "t0/wiki_qa_Decide_good_answer": "judges whether a given sentence answers a question (yes/no), not knowledge",
    "t0/wiki_qa_Is_This_True_": "judges whether a given sentence answers a question (yes/no), not knowledge",
    "t0/wiki_qa_automatic_system": "judges whether a given sentence answers a question (yes/no), not knowledge",
    "t0/wiki_qa_exercise": "judges whether a given sentence answers a question (yes/no), not knowledge",
    "t0/wiki_qa_found_on_google": "judges whether a given sentence answers a question (yes/no), not knowledge",
}
# ROPES ("reasoning over paragraph effects in situations") asks to apply a background fact to a new
# situation ("is Martin more or less likely than Jacob to ..."): inference dressed as reading
# comprehension, neither a look-up (extraction) nor a puzzle (reasoning). Every template is dropped.
T0_DROP_DATASETS: dict[str, str] = {
    "t0/ropes": "applies a background fact to a new situation: neither extraction nor reasoning",
}
# T0 templates whose instruction clearly asks for another category: relabelled.
T0_RELABEL: dict[str, tuple[str, str]] = {
    "t0/cnn_dailymail_3_0_0_generate_story": ("creative_writing", "'Generate a story from key plot points'"),
    "t0/multi_news_expand_reverse_task_": ("creative_writing", "expand a summary into an article"),
    "t0/gigaword_write_an_article": ("creative_writing", "'Write an article with the given title'"),
    "t0/samsum_Write_a_dialogue_that_match_this_summary": ("creative_writing", "write a dialogue from a summary"),
    "t0/duorc_ParaphraseRC_build_story_around_qa": ("creative_writing", "'Build a movie plot around this'"),
    "t0/duorc_SelfRC_build_story_around_qa": ("creative_writing", "'Build a movie plot around this'"),
    "t0/app_reviews_generate_review": ("creative_writing", "'Generate a 5-star review', not classification"),
    "t0/wiki_qa_Topic_Prediction_Answer_Only": ("classification", "'Determine the topic of the passage'"),
    "t0/wiki_qa_Topic_Prediction_Question_Only": ("classification", "'Determine the topic of the question'"),
    "t0/wiki_qa_Topic_Prediction_Question_and_Answer_Pair": ("classification", "'Determine the topic'"),
    "t0/duorc_ParaphraseRC_title_generation": ("summarization", "title a plot, as gigaword titles are"),
    "t0/duorc_SelfRC_title_generation": ("summarization", "title a plot, as gigaword titles are"),
    "t0/quoref_Guess_Title_For_Context": ("summarization", "title a passage, as gigaword titles are"),
}
T0_DATASETS = (
    "adversarial_qa",
    "ag_news",
    "amazon_polarity",
    "app_reviews",
    "cnn_dailymail",
    "dbpedia_14",
    "duorc",
    "gigaword",
    "imdb",
    "kilt_tasks_hotpotqa",
    "multi_news",
    "quoref",
    "ropes",
    "rotten_tomatoes",
    "samsum",
    "trec",
    "wiki_qa",
    "xsum",
    "yelp_review_full",
)
# Benchmark tasks of router/outcomes.jsonl and their category, at most `cap` rows each. Left out:
# gsm8k and human_eval (already in categories/train.jsonl), commongen (a bare word list with no
# instruction), commonsense_qa (short riddles that read as trivia: no single category) and gpqa
# (graduate science that is half knowledge, half calculation).
OUTCOME_TASKS: dict[str, tuple[str, int]] = {
    "agentverse-logicgrid": ("reasoning", 200),
    "arc_challenge": ("knowledge", 250),
    "openbook_qa": ("knowledge", 150),
    "natural_qa": ("knowledge", 250),
    "trivia_qa": ("knowledge", 250),
    "math": ("math", 250),
    "mbpp": ("code", 250),
}
_MMLU_MATH = frozenset(
    (
        "abstract_algebra",
        "college_mathematics",
        "elementary_mathematics",
        "high_school_mathematics",
        "high_school_statistics",
    )
)
_MMLU_LOGIC = frozenset(("formal_logic", "logical_fallacies"))
# Left out: moral_scenarios (one fixed two-scenario template), the computer science subjects (code
# snippets mixed with theory) and the physics, chemistry, econometrics and electrical engineering
# subjects, whose questions are as often calculations as knowledge.
_MMLU_SKIP = frozenset(
    (
        "moral_scenarios",
        "college_computer_science",
        "high_school_computer_science",
        "college_physics",
        "high_school_physics",
        "college_chemistry",
        "high_school_chemistry",
        "econometrics",
        "electrical_engineering",
    )
)


@dataclass(frozen=True)
class Example:
    """A labelled prompt: its text, category, source (what is held out together) and language."""

    prompt: str
    category: str
    source: str
    lang: str = "en"


def read_jsonl(path: Path) -> list[Row]:
    """Returns the rows of a JSON Lines file."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def stable_hash(text: str) -> str:
    """Returns 16 hex digits of the SHA-1 of text: how prompts are keyed and sampled reproducibly."""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def group_of(source: str) -> str:
    """Returns the held-out group of a source: the underlying dataset for T0 templates, else the source."""
    if not source.startswith("t0/"):
        return source
    name = source.removeprefix("t0/")
    for dataset in T0_DATASETS:
        if name.startswith(dataset):
            return f"t0/{dataset}"
    raise ValueError(f"unknown T0 dataset in {source}")


def clean_t0(rows: list[Row]) -> tuple[list[Example], Counter[str]]:
    """Returns the category rows with mislabelled T0 templates dropped or relabelled, and what each rule did."""
    kept: list[Example] = []
    touched: Counter[str] = Counter()
    for row in rows:
        source, label = row["source"], row["category"]
        if source in T0_DROP or group_of(source) in T0_DROP_DATASETS:
            touched[f"drop     {source}"] += 1
            continue
        new = T0_RELABEL.get(source, (label, ""))[0]
        if new != label:
            touched[f"relabel  {source} {label} -> {new}"] += 1
        kept.append(Example(row["prompt"], new, group_of(source)))
    return kept, touched


def capped(examples: list[Example], cap: int) -> list[Example]:
    """Returns at most cap examples, the same ones on every run (those with the smallest prompt hash)."""
    return sorted(examples, key=lambda e: stable_hash(e.prompt))[:cap]


def outcome_examples(data: Path) -> list[Example]:
    """Returns the labelled benchmark prompts and hand-labelled arena prompts of router/outcomes.jsonl."""
    rows = read_jsonl(data / "router" / "outcomes.jsonl")
    out: list[Example] = []
    for task, (category, cap) in sorted(OUTCOME_TASKS.items()):
        chosen = [Example(r["prompt"], category, f"bench/{task}") for r in rows if r["task"] == task]
        out += capped(chosen, cap)
    labels = {row["sha1"]: row["category"] for row in read_jsonl(ARENA_LABELS)}
    arena = [r["prompt"] for r in rows if r["source"] == "arena-bench-v1"]
    out += [Example(p, labels[stable_hash(p)], "arena-bench-v1") for p in arena if stable_hash(p) in labels]
    return out


def mmlu_category(subject: str) -> str | None:
    """Returns the category of an MMLU subject's questions, or None when the subject is left out."""
    if subject in _MMLU_SKIP:
        return None
    if subject in _MMLU_MATH:
        return "math"
    return "reasoning" if subject in _MMLU_LOGIC else "knowledge"


def mmlu_examples(data: Path) -> list[Example]:
    """Returns up to MMLU_PER_SUBJECT questions per kept subject; two in three lose their answer options.

    Without its options an MMLU question reads as a user would ask it; the third that keeps them
    teaches that options do not change the category.
    """
    by_subject: defaultdict[str, list[Example]] = defaultdict(list)
    for row in read_jsonl(data / "router" / "mmlu_train.jsonl"):
        category = mmlu_category(row["subject"])
        if category is None:
            continue
        prompt = row["prompt"]
        if int(stable_hash(prompt), 16) % 3:
            prompt = prompt.split("\nA.")[0].strip()
        by_subject[row["subject"]].append(Example(prompt, category, "mmlu"))
    return [e for subject in sorted(by_subject) for e in capped(by_subject[subject], MMLU_PER_SUBJECT)]


def seed_examples(path: Path) -> list[Example]:
    """Returns the hand-written seed prompts of a seed file."""
    return [Example(r["prompt"], r["category"], r["source"], r.get("lang", "en")) for r in read_jsonl(path)]


@dataclass(frozen=True)
class Corpus:
    """Everything the trainer reads: training examples, other-language prompts and the untouched holdout."""

    train: list[Example]
    multilingual: list[Example]
    holdout: list[Example]
    t0_rules: Counter[str]


def load(data: Path = DATA) -> Corpus:
    """Returns the corpus read from the shared data folder and the seed files."""
    t0, rules = clean_t0(read_jsonl(data / "categories" / "train.jsonl"))
    train = t0 + outcome_examples(data) + mmlu_examples(data) + seed_examples(SEED_FILE)
    return Corpus(train, seed_examples(MULTILINGUAL_FILE), seed_examples(HOLDOUT_FILE), rules)
