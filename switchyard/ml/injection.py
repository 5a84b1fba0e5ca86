"""Prompt-injection / jailbreak guard: normalisation, named heuristics and a learned score.

`InjectionGuard.check(text)` works in three layers:

1. Normalisation. NFKC, invisible characters removed (zero-width, bidi controls, soft hyphens,
   variation selectors; Unicode tag characters are decoded, since they smuggle ASCII), Cyrillic and
   Greek look-alikes mapped to Latin inside words that are visibly Latin-like, and letters spaced
   out one by one joined up. Obfuscations are decoded into extra *views* that are checked too:
   base64 blobs that decode to text, 8-bit binary strings, rot13 when it yields more English words
   than the original, and leetspeak in words that mix letters and digits.
2. Named heuristics (regular expressions over every view): each known attack pattern is a signal
   with a fixed weight (strong patterns such as "ignore previous instructions" weigh 0.97, framing
   that also shows up in benign role-play prompts weighs less, obfuscation itself weighs little).
3. A logistic-regression score over the shared hashed features (`injection.npz`, trained by
   `training/injection.py`), the maximum over the views.

The score is the noisy-OR of the learned probability and the weights of the signals that fired,
`1 - (1 - p) * prod(1 - w)`; the verdict compares it with the threshold stored in `injection.json`
(chosen by the training script on held-out benign prompts). `kind` is the strongest signal, or
"learned" when no named attack signal fired and the model's score carried the verdict.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from switchyard.ml.linear import ARTIFACTS, LinearModel

NAME = "injection"
DEFAULT_THRESHOLD = 0.5

# --- normalisation -----------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(
    [
        0x00AD,  # soft hyphen
        0x034F,  # combining grapheme joiner
        0x061C,
        0x115F,
        0x1160,
        0x17B4,
        0x17B5,
        0x180E,
        *range(0x200B, 0x2010),  # zero-width space/joiners, LRM/RLM
        *range(0x202A, 0x202F),  # bidi embeddings/overrides
        *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
        0x3164,
        0xFEFF,
        0xFFA0,
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0xE0100, 0xE01F0),  # variation selectors supplement
    ]
)
# Unicode tag characters (U+E0020..U+E007E) mirror printable ASCII and are invisible: decode them.
_TAGS = {code: code - 0xE0000 for code in range(0xE0020, 0xE007F)} | {0xE0001: None, 0xE007F: None}
_HAS_TAG = re.compile("[\U000e0000-\U000e007f]")

# Cyrillic and Greek look-alikes (escaped: the source stays ASCII) and the Latin letters they imitate.
_CONFUSABLES = str.maketrans(
    "\u0430\u0432\u0435\u0451\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0455\u0456\u0457"
    "\u0458\u0501\u0261\u04bb\u051b\u051d\u04cf\u044c\u043f\u0433\u0410\u0412\u0415\u0401\u041a\u041c"
    "\u041d\u041e\u0420\u0421\u0422\u0423\u0425\u0405\u0406\u0407\u0408\u0500\u04ba\u051a\u051c\u04c0"
    "\u03b1\u03b2\u03b3\u03b5\u03b7\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u03c9\u03f2\u0391"
    "\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
    "abeekmhopctyxsiijdghqwlbnrABEEKMHOPCTYXSIIJDHQWIabyenikvoptuxwcABEZHIKMNOPTYX",
)
_CONFUSABLE_CHARS = frozenset(chr(c) for c in _CONFUSABLES)
_NON_LATIN = re.compile("[\u0370-\u03ff\u0400-\u052f]")
_LATIN = re.compile("[A-Za-z]")
_MIXED_WORD = re.compile(r"\w*[\u0370-\u03ff\u0400-\u052f]\w*")
_SPACED = re.compile(r"\b(?:[A-Za-z][ ._\-*]){3,}[A-Za-z]\b")
_SPACE_RUN = re.compile(r"[ \t]+")


def _map_confusables(text: str) -> str:
    """Returns text with look-alikes mapped to Latin in words that mix scripts, and also in words made
    only of look-alikes when the text is mostly Latin (so real Russian or Greek text is left alone)."""
    latin_text = len(_LATIN.findall(text)) > 2 * len(_NON_LATIN.findall(text))

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        if _LATIN.search(token) or (latin_text and all(c in _CONFUSABLE_CHARS for c in _NON_LATIN.findall(token))):
            return token.translate(_CONFUSABLES)
        return token

    return _MIXED_WORD.sub(word, text)


def normalise(text: str) -> tuple[str, tuple[str, ...]]:
    """Returns (normalised text, names of the obfuscations that were undone)."""
    found: list[str] = []
    if not text.isascii():
        if _HAS_TAG.search(text):
            found.append("obfuscation:tag_characters")
            text = text.translate(_TAGS)
        stripped = text.translate(_INVISIBLE)
        if len(stripped) != len(text):
            found.append("obfuscation:invisible_characters")
        text = unicodedata.normalize("NFKC", stripped)
        if _NON_LATIN.search(text):
            mapped = _map_confusables(text)
            if mapped != text:
                found.append("obfuscation:confusables")
                text = mapped
    if _SPACED.search(text):
        joined = _SPACED.sub(lambda m: re.sub(r"[ ._\-*]", "", m.group(0)), text)
        if joined != text:
            found.append("obfuscation:spaced_letters")
            text = joined
    return text, tuple(found)


# --- decoded views -----------------------------------------------------------------------------

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}")
_BINARY = re.compile(r"(?:[01]{8}[\s,]*){4,}")
_LEET_WORD = re.compile(r"\b(?=\w*[A-Za-z])(?=\w*[0-9@$])[\w@$]{3,}\b|\b[\w@$]*[@$][\w@$]*\b")
# Identifiers (hex digests, UUIDs, long mixed tokens) carry no instruction: they are neither decoded as
# leetspeak nor shown to the learned model, whose character n-grams would read them as noise.
_IDENTIFIER = re.compile(r"\b(?:[0-9a-fA-F]{8,}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|\w{25,})\b")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})
_WORD = re.compile(r"[a-z]{2,}")
_COMMON_WORDS = (
    "the be to of and a in that have i it for not on with he as you do at "
    "this but his by from they we say her she or an will my one all would there their what "
    "so up out if about who get which go me when make can like time no just him know take "
    "people into year your good some could them see other than then now look only come its over think also "
    "back after use two how our work first well way even new want because any these give day most us "
    "is are was were has had been did does said tell instructions previous ignore prompt system "
    "reveal secret password print show rules above"
)
_COMMON = frozenset(_COMMON_WORDS.split(" "))
_MAX_BLOBS = 4


def _printable_text(raw: bytes) -> str | None:
    """Returns raw decoded as UTF-8 when it reads as text (mostly letters and spaces), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 6:
        return None
    good = sum(c.isalpha() or c == " " for c in text)
    printable = sum(c.isprintable() or c in "\n\t" for c in text)
    if printable < 0.95 * len(text) or good < 0.6 * len(text) or " " not in text.strip():
        return None
    return text


def _english_ratio(text: str) -> float:
    """Returns the share of lower-case words of text that are common English words."""
    words = _WORD.findall(text.lower())
    if len(words) < 4:
        return 0.0
    return sum(w in _COMMON for w in words) / len(words)


def decoded_views(text: str) -> list[tuple[str, str]]:
    """Returns (obfuscation signal, decoded text) for each obfuscation found in normalised text."""
    views: list[tuple[str, str]] = []
    blobs = 0
    for match in _B64.finditer(text):
        blob = match.group(0)
        if not any(c.isdigit() or c in "+/=" for c in blob) and blob.isalpha() and (blob.islower() or blob.isupper()):
            continue  # a long plain word, not an encoding
        blobs += 1
        if blobs > _MAX_BLOBS:
            break
        padded = blob + "=" * (-len(blob) % 4)
        try:
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _printable_text(raw)
        if decoded is not None:
            views.append(("obfuscation:base64", decoded))
    binary = _BINARY.search(text)
    if binary is not None:
        bits = re.sub(r"[\s,]", "", binary.group(0))
        raw = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))
        decoded = _printable_text(raw)
        if decoded is not None:
            views.append(("obfuscation:binary", decoded))
    letters = sum(c.isalpha() for c in text[:2000])
    plain_ratio = _english_ratio(text[:2000])
    if letters >= 12 and plain_ratio < 0.3:  # English text is not rot13; skip the work
        rotated = codecs.encode(text, "rot13")
        rot_ratio = _english_ratio(rotated[:2000])
        if rot_ratio >= 0.3 and rot_ratio > plain_ratio + 0.2:
            views.append(("obfuscation:rot13", rotated))
    if any(c.isdigit() or c in "@$" for c in text):
        leet = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), _IDENTIFIER.sub(" ", text))
        if _LEET_WORD.search(_IDENTIFIER.sub(" ", text)) and _english_ratio(leet) > _english_ratio(text) + 0.05:
            views.append(("obfuscation:leetspeak", leet))
    return views


# --- heuristics --------------------------------------------------------------------------------

_S = r"[^.!?\n]"  # within one sentence
_RULES = (
    r"(?:instructions?|directives?|directions?|rules?|prompts?|guidelines?|commands?|orders?|context|"
    r"programming|constraints?|restrictions?|policies|policy|guidance|messages?|conversation)"
)
_PATTERNS: tuple[tuple[str, float, str], ...] = (
    (
        "ignore_previous_instructions",
        0.97,
        r"\b(?:ignore|disregard|forget|overlook|skip|bypass|override|abandon|neglect|discard|set aside|"
        r"throw out|do not follow|don'?t follow|stop following)\b" + _S + r"{0,40}?\b(?:previous|prior|preceding|"
        r"earlier|above|former|original|initial|foregoing|existing|old|all|any|your|system|safety|these|those)\b"
        + _S
        + r"{0,30}?\b"
        + _RULES
        + r"\b",
    ),
    (
        "ignore_previous_instructions",
        0.97,
        r"\b(?:ignore|disregard|forget|overlook)\b (?:about )?(?:everything|all)\b" + _S + r"{0,30}"
        r"\b(?:told|said|above|before|previously|so far|instructed|learned|know)\b",
    ),
    (
        "ignore_previous_instructions",
        0.9,
        r"\b(?:ignorier\w*|vergiss|vergessen)\b" + _S + r"{0,50}\b(?:anweisung\w*|instruktion\w*|befehl\w*|regeln|"
        r"vorgaben|aufgaben?)\b|\bignor(?:ez|e|a|ar|er|are)\b" + _S + r"{0,50}\binstru[cç]\w*",
    ),
    (
        "new_instructions",
        0.7,
        r"\b(?:new|updated|real|actual|true|revised) (?:instructions?|task|directives?|rules|orders)\s*(?::|are\b|is\b)"
        r"|\byour (?:new|real|only|true) (?:task|goal|purpose|instructions?|job) (?:is|are|will be)\b"
        r"|\b(?:instead|rather),? (?:you (?:must|should|will)|respond|reply|say|print|output)\b",
    ),
    (
        "dan_jailbreak",
        0.97,
        r"\bdo anything now\b|\b(?:you are|you're|act as|become|you will be) (?:now )?(?:a |an )?"
        r"(?:dan|stan|dude|aim|kevin|mongo tom|anti-?gpt|betterdan|evil ?bot)\b"
        r"|\b(?:developer|dev|god|jailbr(?:eak|oken)|dan|unrestricted|unfiltered|uncensored|evil|chaos|opposite)"
        r" mode\b|\bjailbroken\b",
    ),
    ("dan_jailbreak", 0.6, r"\bjailbreak(?:s|ing)?\b"),
    (
        "system_prompt_leak",
        0.97,
        r"\b(?:reveal|print|show|display|output|repeat|tell|give|share|leak|disclose|expose|write|spell|recite|"
        r"dump|list|what (?:is|are|was|were)|paste|return|summari[sz]e|translate)\b" + _S + r"{0,40}\b(?:your|the|its)"
        r" (?:full |entire |complete |exact |original |initial )?(?:system|initial|original|hidden|secret|internal|"
        r"developer|confidential|pre-?) ?(?:prompts?|instructions?|directives?|configuration)\b",
    ),
    (
        "system_prompt_leak",
        0.8,
        r"\b(?:repeat|recite|print|output|echo|copy)\b (?:back )?(?:all |the |every |exactly |of )*(?:words|text|"
        r"everything|instructions|content|lines|message)s? (?:above|before this|prior to this|you were given|you were"
        r" told|verbatim)\b",
    ),
    (
        "secret_request",
        0.8,
        r"\b(?:what(?:'s| is| was| are)|tell me|give me|reveal|share|show me|print|spell|say|write|disclose)\b"
        + _S
        + r"{0,20}\b(?:your|the) (?:secret|password|passcode|secret key|secret word|secret code|api key|access code|"
        r"credentials)\b",
    ),
    ("secret_request", 0.5, r"\byour (?:secret|password|passcode|api key|secret key|credentials|private key)\b"),
    (
        "no_rules",
        0.9,
        r"\b(?:pretend|imagine|act as if|assume|suppose|hypothetically|in a world where)\b" + _S + r"{0,40}\b(?:no|"
        r"without|free of|free from|don'?t have|do not have)\b" + _S + r"{0,20}\b(?:rules|restrictions|guidelines|"
        r"filters?|limitations|censorship|ethics|morals|moral|ethical|content polic(?:y|ies))\b",
    ),
    (
        "no_rules",
        0.8,
        r"\b(?:no|without(?: any)?|free (?:from|of)|freed from|not bound by|(?:don'?t|do not|doesn'?t|does not|never)"
        r" (?:have to |need to )?(?:follow|abide by|adhere to|obey|care about|comply with)|break(?:s|ing)?|bypass(?:es|"
        r"ing)?|ignores?|disregards?)\b" + _S + r"{0,25}\b(?:(?:openai|anthropic|ethical|moral|safety|content)"
        r"(?:'s)? (?:polic(?:y|ies)|guidelines|rules|restrictions|filters?|constraints)|censorship|filters|"
        r"morals|ethics|restrictions|typical confines|content polic(?:y|ies))\b",
    ),
    (
        "roleplay_jailbreak",
        0.75,
        r"\b(?:stay|remain|keep|break(?:ing)?) (?:in|out of) character\b|\byou (?:are|will be) (?:no longer|not) "
        r"(?:chatgpt|an ai|a language model|bound|restricted|limited)\b|\bnever (?:refuse|decline|say (?:no|that you "
        r"can'?t))\b|\b(?:will|must|should|can) not refuse\b|\b(?:act|pretend|role-?play|behave|respond)"
        r" (?:as|like|to be)\b" + _S + r"{0,60}\b(?:unrestricted|unfiltered|uncensored|amoral|unethical|immoral|"
        r"without (?:any )?(?:rules|restrictions|limits|filters|morals|ethics))\b|\bopenai\b" + _S + r"{0,40}\b"
        r"(?:polic\w*|guidelines|rules|content)\b|\b(?:two|2|dual|both) (?:different )?(?:responses|answers|"
        r"personalities)\b" + _S + r"{0,60}\b(?:normal|classic|jailbreak|unfiltered|chatgpt)\b",
    ),
    (
        "roleplay_jailbreak",
        0.5,
        r"\bfrom now on,? (?:you|you'll|you will|you are|you're|act|respond|answer)\b"
        r"|\byou are (?:now|going to|about to) (?:be |act as |pretend |immerse )\b|\bimmerse yourself\b",
    ),
    (
        "system_mode",
        0.8,
        r"(?:^|\n)\s*(?:\[|<|#+ ?|\*\*)?(?:system|admin|administrator|developer|root)(?:\]|>|:|\*\*)\s*\S|"
        r"<\|?(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\|?>|\[/?inst\]|"
        r"\b(?:admin|sudo|maintenance|god|root|superuser) (?:mode|access|override|privileges)\b",
    ),
    (
        "encoded_instruction",
        0.6,
        r"\b(?:decode|decrypt|decipher|translate|convert|rot13|base64)\b"
        + _S
        + r"{0,60}\b(?:and|then)\b"
        + _S
        + r"{0,20}\b(?:follow|execute|do|perform|obey|run|carry out|act on)\b",
    ),
)
_COMPILED = tuple((name, weight, re.compile(pattern)) for name, weight, pattern in _PATTERNS)
_COMMENT = re.compile(
    r"<!--(.*?)-->|\[//\]: ?#\s*[(\"'](.*?)[)\"']|<\s*(?:div|span|p)[^>]*display\s*:\s*none[^>]*>(.*?)<", re.S
)
_IMPERATIVE = re.compile(
    r"\b(?:ignore|disregard|instead|respond|reply|say|print|output|tell|must|you are|assistant|ai|model|"
    r"do not|don'?t|state|write|send|include|forget|reveal|llm|chatbot)\b"
)
_OBFUSCATION_WEIGHT = 0.1


def heuristic_signals(text: str) -> dict[str, float]:
    """Returns {signal name: weight} for the known-attack patterns found in (normalised) text."""
    lowered = _SPACE_RUN.sub(" ", text.lower())
    fired: dict[str, float] = {}
    for name, weight, pattern in _COMPILED:
        if weight > fired.get(name, 0.0) and pattern.search(lowered):
            fired[name] = weight
    if "<!--" in lowered or "[//]" in lowered or "display" in lowered:
        for match in _COMMENT.finditer(lowered):
            body = next((g for g in match.groups() if g), "")
            if _IMPERATIVE.search(body):
                fired["hidden_instruction"] = 0.9
                break
    return fired


# --- guard -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The guard's result: score in [0, 1], whether it is an attack, the strongest attack signal
    ("learned" when none fired but the model's score carried the verdict, "none" when not detected)
    and all signals that fired, strongest first."""

    score: float
    detected: bool
    kind: str
    signals: tuple[str, ...]


class InjectionGuard:
    """Scores prompts for injection and jailbreak attempts (see the module docstring)."""

    def __init__(self, model: LinearModel | None = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.model = model
        self.threshold = threshold

    @classmethod
    def load(cls, directory: Path | None = None) -> InjectionGuard:
        """Returns the guard with the packaged `injection.npz` model and `injection.json` threshold."""
        if directory is not None:
            model = LinearModel.load(NAME, directory / f"{NAME}.npz")
            meta = json.loads((directory / f"{NAME}.json").read_text())
        else:
            model = LinearModel.load(NAME)
            meta = json.loads(resources.files(ARTIFACTS).joinpath(f"{NAME}.json").read_text())
        return cls(model, float(meta["threshold"]))

    def learned(self, text: str) -> float:
        """Returns the model's attack probability for already-normalised text (0 without a model)."""
        if self.model is None:
            return 0.0
        return float(self.model.probabilities(_IDENTIFIER.sub(" id ", text))[0])

    def analyse(self, text: str) -> tuple[float, dict[str, float]]:
        """Returns (learned probability, {signal: weight}) over the normalised text and its decoded views."""
        normal, obfuscations = normalise(text)
        views = decoded_views(normal)
        signals = dict.fromkeys(obfuscations, _OBFUSCATION_WEIGHT)
        signals.update(heuristic_signals(normal))
        learned = self.learned(normal)
        for obfuscation, decoded in views:
            signals[obfuscation] = _OBFUSCATION_WEIGHT
            inner, _ = normalise(decoded)
            for name, weight in heuristic_signals(inner).items():
                signals[name] = max(weight, signals.get(name, 0.0))
            learned = max(learned, self.learned(inner))
        return learned, signals

    def check(self, text: str) -> Verdict:
        """Returns the verdict for text: noisy-OR score of model and signals, compared with the threshold."""
        learned, signals = self.analyse(text)
        return combine(learned, signals, self.threshold)


LEARNED_ALONE = 0.9


def combine(learned: float, signals: dict[str, float], threshold: float) -> Verdict:
    """Returns the verdict for a learned probability and fired signals (noisy-OR against threshold)."""
    miss = 1.0 - learned
    for weight in signals.values():
        miss *= 1.0 - weight
    score = 1.0 - miss
    ranked = sorted(signals.items(), key=lambda item: (-item[1], item[0]))
    attack_signals = [name for name, _ in ranked if not name.startswith("obfuscation:")]
    # The learned model barely transfers across sources (it catches a few percent of an unseen source's
    # attacks) yet lifts harmless short prompts near the threshold, so on its own it must be sure.
    detected = score >= threshold and (bool(attack_signals) or learned >= LEARNED_ALONE)
    if not detected:
        kind = "none"
    elif attack_signals:
        kind = attack_signals[0]
    else:
        kind = "learned"
    return Verdict(score, detected, kind, tuple(name for name, _ in ranked))
