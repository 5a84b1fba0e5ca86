"""What is safe to normalise in a user's question before the cache compares it.

Chat questions come back reworded in ways that never change the answer: spacing, typographic quotes,
the punctuation at the end, contractions, and politeness around the question. Two rules, one per tier:

- exact_text (the exact tier's key): Unicode compatibility form (NFKC), straight quotes, runs of
  spaces and tabs as one space and no trailing sentence punctuation, for a one-line question only.
  Case and line breaks are kept: in code, a path or a quoted string they carry meaning.
- semantic_text (what the semantic tier embeds and its near-miss guard compares): the same, for any
  text, plus contractions spelled out ("what's" → "what is", "don't" → "do not", also typed without
  the apostrophe: "dont"), chat shorthand spelled out ("u" → "you", "im" → "i am", "how 2 avoid" →
  "how to avoid", "ideas 4 my dad" → "ideas for my dad"), a unit written onto its number split off
  ("5cm" → "5 cm"), polite wrappers dropped ("Could you please tell me …",
  "Can someone explain …", "…, thanks!") and a question's leading condition moved to its end ("In
  winter, how often …?" → "how often … In winter"). Case is kept for the guard, which reads capitals
  as names; the embedder ignores case.

Both are deterministic and cheap (a few microseconds for a short question). The cache applies them, and the
near-miss guard is trained on pairs normalised the same way; `python -m
training.eval_nearmiss` measures the guard on held-out pairs normalised so.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'", "\u201c": '"', "\u201d": '"'})
_SPACES = re.compile(r"[ \t\u00a0]+")
_TRAILING = re.compile(r"[\s?!.\u2026]+$")
# Contractions whose spelled-out form is unambiguous. "'s" only after the words where it means "is" or
# "has" (never a possessive); "'d" is left alone (had or would).
_CONTRACTIONS = (
    (re.compile(r"\b(can)'t\b", re.I), r"\1not"),
    (re.compile(r"\b(won)'t\b", re.I), "will not"),
    (re.compile(r"\b(shan)'t\b", re.I), "shall not"),
    (re.compile(r"\b(\w+)n't\b", re.I), r"\1 not"),
    (re.compile(r"\b(\w+)'re\b", re.I), r"\1 are"),
    (re.compile(r"\b(\w+)'ll\b", re.I), r"\1 will"),
    (re.compile(r"\b(\w+)'ve\b", re.I), r"\1 have"),
    (re.compile(r"\b(i)'m\b", re.I), r"\1 am"),
    (re.compile(r"\b(let)'s\b", re.I), r"\1 us"),
    (re.compile(r"\b(it|that|what|where|who|how|there|here|he|she|when|why|which|this)'s\b", re.I), r"\1 is"),
)
# Chat shorthand, as standalone words, and contractions typed without their apostrophe ("whats",
# "dont": the guard would read "dont" as no negation at all). Never "wont", "hes", "its", "well", "were":
# they are words of their own.
_SHORTHAND = {
    "u": "you",
    "ur": "your",
    "r": "are",
    "im": "i am",
    "ive": "i have",
    "yr": "year",
    "yrs": "years",
    "ppl": "people",
    "abt": "about",
    "cuz": "because",
    "coz": "because",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "b4": "before",
    "whats": "what is",
    "hows": "how is",
    "whos": "who is",
    "wheres": "where is",
    "thats": "that is",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "cant": "can not",
    "couldnt": "could not",
    "shouldnt": "should not",
    "wouldnt": "would not",
    "havent": "have not",
    "hasnt": "has not",
    "youre": "you are",
    "theyre": "they are",
}
_SHORT_WORD = re.compile(r"\b(" + "|".join(_SHORTHAND) + r")\b", re.I)
# "2" and "4" typed for "to" and "for": only where no count can be meant, "how 2 avoid" (before a verb)
# and "gift ideas 4 my dad" (before a pronoun). "2 cups", "for 2 weeks" and "4 hours" keep their number.
_VERBS = (
    "avoid ask be become build buy call cancel change check clean close convert cook create delete do eat "
    "find fix get go grow help install keep know learn lose make move open pay play prevent read remove "
    "reset say see send sleep start stop study take talk tell travel turn update use validate visit watch "
    "wear work write"
)
_TO = re.compile(r"(?<=[a-z] )2(?= (?:" + "|".join(_VERBS.split()) + r")\b)", re.I)
_FOR = re.compile(r"(?<=[a-z] )4(?= (?:me|my|you|your|him|her|his|us|our|them|their|kids|beginners)\b)", re.I)
# A number with its unit written on: "5cm" is "5 cm" (both have one number, 5, and no identifier).
_UNIT = re.compile(
    r"\b([0-9]+(?:[.,][0-9]+)?)(mm|cm|m|km|mg|g|kg|lb|lbs|oz|ml|l|ft|mi|mph|kmh|gb|mb|tb|kb|hrs|hr|h|min|mins|k)\b",
    re.I,
)
# A question led by a condition: "In winter, how often should I water it" asks what "How often should I
# water it in winter" asks. Only a short lead-in ending in a comma, before a question word.
_LEAD_IN = re.compile(
    r"^((?:in|on|for|to|when|with|at|during|after|before|without|as)\b[^,?.!]{1,40}),\s*"
    r"((?:how|what|which|who|whom|whose|where|when|why|is|are|can|could|should|do|does|did|will|would)\b.+)$",
    re.I,
)
# Polite openings, longest first; each may be followed by "please" and a comma.
_OPENINGS = (
    "would you be so kind as to",
    "i was wondering if you could",
    "i was wondering",
    "i would like to know",
    "i'd like to know",
    "i want to know",
    "would you mind telling me",
    "can someone explain",
    "could someone explain",
    "can anyone explain",
    "quick question",
    "can you please tell me",
    "could you please tell me",
    "can you tell me",
    "could you tell me",
    "would you tell me",
    "do you know",
    "please tell me",
    "tell me",
    "can you please",
    "could you please",
    "would you please",
    "can you",
    "could you",
    "would you",
    "will you",
    "help me",
    "explain to me",
    "please",
    "pls",
    "plz",
    "hey there",
    "hi there",
    "hello",
    "hey",
    "hi",
)
_OPENING = re.compile(
    r"^(?:(?:" + "|".join(re.escape(o) for o in _OPENINGS) + r")\b[\s,!.:]*)+(?:please\b[\s,]*)?", re.I
)
_CLOSING = re.compile(
    r"[\s,;.!]*\b(?:please|pls|plz|thanks?(?: (?:a lot|so much|in advance))?|thank you(?: very much)?|thx|ty)\W*$",
    re.I,
)
_PLEASE = re.compile(r"\bplease\b,?\s*", re.I)
# The first and last words that may start or end a polite wrapper: the patterns run only when one is there.
_OPENING_WORDS = frozenset(o.split()[0] for o in _OPENINGS)
_LEAD_WORDS = frozenset({"in", "on", "for", "to", "when", "with", "at", "during", "after", "before", "without", "as"})
_CLOSING_WORDS = frozenset({"please", "pls", "plz", "thanks", "thank", "thx", "ty", "lot", "much", "advance", "you"})
_WORD = re.compile(r"[a-z0-9']+")


def _tidy(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return _SPACES.sub(" ", text).strip()


def exact_text(text: str) -> str:
    """Returns the exact tier's form of a user turn: tidied, and without trailing punctuation when it is
    one line (see the module docstring); multi-line text (code, documents) only loses edge whitespace."""
    if "\n" in text or "\r" in text:
        return text.strip()
    return _TRAILING.sub("", _tidy(text))


def semantic_text(text: str) -> str:
    """Returns the semantic tier's form of a user turn (see the module docstring); never empty for a
    text with a word in it, even one that is all politeness."""
    tidied = _tidy(text)
    if "'" in tidied:
        for pattern, replacement in _CONTRACTIONS:
            tidied = pattern.sub(replacement, tidied)
    if any(c.isdigit() for c in tidied):
        tidied = _UNIT.sub(r"\1 \2", _FOR.sub("for", _TO.sub("to", tidied)))
    lowered = tidied.lower()
    words = _WORD.findall(lowered)
    if words and not set(words).isdisjoint(_SHORTHAND):
        tidied = _SHORT_WORD.sub(lambda m: _SHORTHAND[m.group(1).lower()], tidied)
        lowered = tidied.lower()
        words = _WORD.findall(lowered)
    if not words:
        return _TRAILING.sub("", tidied)
    stripped = tidied
    if words[0] in _OPENING_WORDS:
        stripped = _OPENING.sub("", stripped)
    if words[-1] in _CLOSING_WORDS:
        stripped = _CLOSING.sub("", stripped)
    if "please" in lowered:
        stripped = _PLEASE.sub("", stripped)
    stripped = _TRAILING.sub("", stripped).strip(" ,")
    if words[0] in _LEAD_WORDS and "," in stripped:
        stripped = _LEAD_IN.sub(r"\2 \1", stripped)
    return stripped or _TRAILING.sub("", tidied)
