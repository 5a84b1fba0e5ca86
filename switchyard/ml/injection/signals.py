"""The guard's named heuristics: known attack patterns, each a signal with a fixed weight."""

from __future__ import annotations

import re

# Patterns are written with single spaces: runs of spaces and tabs are collapsed before matching.
_SPACE_RUN = re.compile(r"[ \t]+")

_S = r"[^.!?\n]"  # within one sentence
_RULES = (
    r"(?:instructions?|directives?|directions?|rules?|prompts?|guidelines?|commands?|orders?|context|"
    r"programming|constraints?|restrictions?|policies|policy|guidance|messages?|conversation)"
)
# Each pattern: (signal, weight, regular expression, cues). A pattern can only match a text that contains
# one of its cues (plain substrings of the lower-cased text, e.g. the verbs it starts with): checking
# them first skips most searches on ordinary prompts, which match none of the patterns.
_PATTERNS: tuple[tuple[str, float, str, tuple[str, ...]], ...] = (
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
        (
            "ignor",
            "disregard",
            "forget",
            "overlook",
            "skip",
            "bypass",
            "override",
            "abandon",
            "neglect",
            "discard",
            "set aside",
            "throw out",
            "follow",
        ),
    ),
    (
        "ignore_previous_instructions",
        0.97,
        r"\b(?:ignore|disregard|forget|overlook)\b (?:about )?(?:everything|all)\b" + _S + r"{0,30}"
        r"\b(?:told|said|above|before|previously|so far|instructed|learned|know)\b",
        ("ignore", "disregard", "forget", "overlook"),
    ),
    (
        "ignore_previous_instructions",
        0.9,
        r"\b(?:ignorier\w*|vergiss|vergessen)\b" + _S + r"{0,50}\b(?:anweisung\w*|instruktion\w*|befehl\w*|regeln|"
        r"vorgaben|aufgaben?)\b|\bignor(?:ez|e|a|ar|er|are)\b" + _S + r"{0,50}\binstru[cç]\w*",
        ("ignor", "vergiss", "vergessen"),
    ),
    (
        "new_instructions",
        0.7,
        r"\b(?:new|updated|real|actual|true|revised) (?:instructions?|task|directives?|rules|orders)\s*(?::|are\b|is\b)"
        r"|\byour (?:new|real|only|true) (?:task|goal|purpose|instructions?|job) (?:is|are|will be)\b"
        r"|\b(?:instead|rather),? (?:you (?:must|should|will)|respond|reply|say|print|output)\b",
        ("instruction", "task", "directive", "rules", "orders", "your", "instead", "rather"),
    ),
    (
        "dan_jailbreak",
        0.97,
        r"\bdo anything now\b|\b(?:you are|you're|act as|become|you will be) (?:now )?(?:a |an )?"
        r"(?:dan|stan|dude|aim|kevin|mongo tom|anti-?gpt|betterdan|evil ?bot)\b"
        r"|\b(?:god|jailbr(?:eak|oken)|dan|unrestricted|unfiltered|uncensored|evil|chaos|opposite) mode\b"
        # "Developer mode" is also a phone and browser setting: the jailbreak pairs it with the model.
        r"|\b(?:chatgpt|gpt|you|ai|assistant)\b" + _S + r"{0,30}\b(?:developer|dev) mode\b"
        r"|\b(?:developer|dev) mode (?:enabled|output|response|activated)\b|\bjailbroken\b",
        ("do anything now", "dan", "stan", "dude", "aim", "kevin", "mongo tom", "gpt", "evil", "mode", "jailbroken"),
    ),
    ("dan_jailbreak", 0.6, r"\bjailbreak(?:s|ing)?\b", ("jailbreak",)),
    (
        "system_prompt_leak",
        0.97,
        r"\b(?:reveal|print|show|display|output|repeat|tell|give|share|leak|disclose|expose|write|spell|recite|"
        r"dump|list|what (?:is|are|was|were)|paste|return|summari[sz]e|translate)\b" + _S + r"{0,40}\b(?:your|the|its)"
        r" (?:full |entire |complete |exact |original |initial )?(?:system|initial|original|hidden|secret|internal|"
        r"developer|confidential|pre-?) ?(?:prompts?|instructions?|directives?|configuration)\b",
        ("prompt", "instruction", "directive", "configuration"),
    ),
    (
        "system_prompt_leak",
        0.8,
        r"\b(?:repeat|recite|print|output|echo|copy)\b (?:back )?(?:all |the |every |exactly |of )*(?:words|text|"
        r"everything|instructions|content|lines|message)s? (?:above|before this|prior to this|you were given|you were"
        r" told|verbatim)\b",
        ("repeat", "recite", "print", "output", "echo", "copy"),
    ),
    (
        "secret_request",
        0.8,
        r"\b(?:what(?:'s| is| was| are)|tell me|give me|reveal|share|show me|print|spell|say|write|disclose)\b"
        + _S
        + r"{0,20}\b(?:your|the) (?:secret|password|passcode|secret key|secret word|secret code|api key|access code|"
        r"credentials)\b",
        ("secret", "pass", "api key", "access code", "credentials"),
    ),
    (
        "secret_request",
        0.5,
        r"\byour (?:secret|password|passcode|api key|secret key|credentials|private key)\b",
        ("secret", "pass", "api key", "credentials", "private key"),
    ),
    (
        "no_rules",
        0.9,
        r"\b(?:pretend|imagine|act as if|assume|suppose|hypothetically|in a world where)\b" + _S + r"{0,40}\b(?:no|"
        r"without|free of|free from|don'?t have|do not have)\b" + _S + r"{0,20}\b(?:rules|restrictions|guidelines|"
        r"filters?|limitations|censorship|ethics|morals|moral|ethical|content polic(?:y|ies))\b",
        ("pretend", "imagin", "act as if", "assum", "suppos", "hypothetical", "in a world where"),
    ),
    (
        "no_rules",
        0.8,
        r"\b(?:no|without(?: any)?|free (?:from|of)|freed from|not bound by|(?:don'?t|do not|doesn'?t|does not|never)"
        r" (?:have to |need to )?(?:follow|abide by|adhere to|obey|care about|comply with)|break(?:s|ing)?|bypass(?:es|"
        r"ing)?|ignores?|disregards?)\b" + _S + r"{0,25}\b(?:(?:openai|anthropic|ethical|moral|safety|content)"
        r"(?:'s)? (?:polic(?:y|ies)|guidelines|rules|restrictions|filters?|constraints)|censorship|filters|"
        r"morals|ethics|restrictions|typical confines|content polic(?:y|ies))\b",
        (
            "polic",
            "guidelines",
            "rules",
            "restrictions",
            "filter",
            "constraints",
            "censorship",
            "morals",
            "ethics",
            "typical confines",
        ),
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
        (
            "character",
            "you are",
            "you will be",
            "never",
            "refuse",
            "unrestricted",
            "unfiltered",
            "uncensored",
            "amoral",
            "unethical",
            "immoral",
            "without",
            "openai",
            "responses",
            "answers",
            "personalities",
        ),
    ),
    (
        "roleplay_jailbreak",
        0.5,
        r"\bfrom now on,? (?:you|you'll|you will|you are|you're|act|respond|answer)\b"
        r"|\byou are (?:now|going to|about to) (?:be |act as |pretend |immerse )\b|\bimmerse yourself\b",
        ("from now on", "you are", "immerse yourself"),
    ),
    (
        "system_mode",
        0.8,
        r"(?:^|\n)\s*(?:\[|<|#+ ?|\*\*)?(?:system|admin|administrator|developer|root)(?:\]|>|:|\*\*)\s*\S|"
        r"<\|?(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\|?>|\[/?inst\]|"
        r"\b(?:admin|sudo|maintenance|god|root|superuser) (?:mode|access|override|privileges)\b|\bsystem override\b",
        (
            "system",
            "admin",
            "developer",
            "root",
            "im_start",
            "im_end",
            "endoftext",
            "eot_id",
            "start_header_id",
            "inst]",
            "mode",
            "access",
            "override",
            "privileges",
        ),
    ),
    (
        # Text planted in a document or tool result speaks to the model that will read it.
        "addressed_to_ai",
        0.85,
        r"(?:^|[\n.!?\[>\"']\s*|<!--\s*)(?:(?:a )?(?:note|message|instructions?|directions?|orders|attention|"
        r"important|reminder|to|for)(?: (?:instructions?|notes?|messages?))?,?"
        r" (?:to |for )?(?:the |any |all |every |you,? (?:the )?)?|(?:hidden|secret|important|special) "
        r"(?:instructions?|notes?|messages?) (?:to|for) (?:the |any |all )?)"
        r"(?:ai|assistant|language model|large language model|llm|chatbot|bot|ai agent|automated agent|agent|model|gpt)"
        r"s?(?: (?:assistant|agent|model|helper|system|reading this|processing this\w*))?\s*[:!-]",
        ("ai", "assistant", "model", "llm", "bot", "agent", "gpt"),
    ),
    (
        "addressed_to_ai",
        0.8,
        r"\b(?:if|when|whenever) (?:you are |you're )?(?:an?|any|the) (?:ai|assistant|language model|llm|chatbot|"
        r"bot|ai agent|model)(?: model| assistant)? (?:is |are )?(?:reading|processing|summari[sz]ing|parsing|"
        r"analy[sz]ing|reviewing|asked)\b|\b(?:ai|assistant|language model|llm|chatbot|agent)s? (?:reading|"
        r"processing|parsing|summari[sz]ing) this\b|\bif you are an? (?:ai|assistant|language model|llm|"
        r"chatbot|bot)(?: model)?[,:]",
        ("reading", "processing", "summari", "parsing", "analy", "reviewing", "asked", "if you are a"),
    ),
    (
        "conceal_from_user",
        0.8,
        r"\b(?:do not|don'?t|never) (?:tell|inform|alert|notify|warn|mention (?:this|it|that) to) the user\b"
        r"|\bwithout (?:telling|informing|alerting|notifying|warning) the user\b|\bthe user (?:will not|won'?t|"
        r"must not|should not|shouldn'?t) (?:notice|know|find out|see)\b|\b(?:do not|don'?t) (?:tell|let) the "
        r"user know\b|\bas if nothing (?:happened|was changed)\b",
        ("the user", "as if nothing"),
    ),
    ("target_phrase", 0.9, r"\bi have been pwned\b", ("pwned",)),
    # A markdown image whose URL carries a query: the reader's client fetches it, leaking what is appended.
    ("exfiltration", 0.6, r"!\[[^\]]{0,40}\]\(https?://[^)\s]*[?&][\w-]+=[^)\s]*\)", ("](http",)),
    (
        "encoded_instruction",
        0.6,
        r"\b(?:decode|decrypt|decipher|translate|convert|rot13|base64)\b"
        + _S
        + r"{0,60}\b(?:and|then)\b"
        + _S
        + r"{0,20}\b(?:follow|execute|do|perform|obey|run|carry out|act on)\b",
        ("decode", "decrypt", "decipher", "translate", "convert", "rot13", "base64"),
    ),
)
_COMPILED = tuple((name, weight, re.compile(pattern), cues) for name, weight, pattern, cues in _PATTERNS)
_COMMENT = re.compile(
    r"<!--(.*?)-->|\[//\]: ?#\s*[(\"'](.*?)[)\"']|<\s*(?:div|span|p)[^>]*display\s*:\s*none[^>]*>(.*?)<", re.S
)
_IMPERATIVE = re.compile(
    r"\b(?:ignore|disregard|instead|respond|reply|say|print|output|tell|must|you are|assistant|ai|model|"
    r"do not|don'?t|state|write|send|include|forget|reveal|llm|chatbot)\b"
)


def heuristic_signals(text: str) -> dict[str, float]:
    """Returns {signal name: weight} for the known-attack patterns found in (normalised) text."""
    lowered = text.lower()
    if "  " in lowered or "\t" in lowered:
        lowered = _SPACE_RUN.sub(" ", lowered)
    fired: dict[str, float] = {}
    for name, weight, pattern, cues in _COMPILED:
        if weight > fired.get(name, 0.0) and any(map(lowered.__contains__, cues)) and pattern.search(lowered):
            fired[name] = weight
    if "<!--" in lowered or "[//]" in lowered or "display" in lowered:
        for match in _COMMENT.finditer(lowered):
            body = next((g for g in match.groups() if g), "")
            if _IMPERATIVE.search(body):
                fired["hidden_instruction"] = 0.9
                break
    return fired
