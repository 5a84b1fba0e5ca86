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
# Words for ignoring or forgetting, and for instructions, in other scripts (escaped: the source stays ASCII):
# Russian, Greek, Hindi, Korean, Japanese, Chinese, Arabic.
_FOREIGN_OVERRIDE = (
    (
        (
            "\u0438\u0433\u043d\u043e\u0440\u0438\u0440",
            "\u0437\u0430\u0431\u0443\u0434",
            "\u043d\u0435 \u043e\u0431\u0440\u0430\u0449\u0430\u0439",
        ),
        (
            "\u0438\u043d\u0441\u0442\u0440\u0443\u043a\u0446",
            "\u0443\u043a\u0430\u0437\u0430\u043d\u0438",
            "\u043f\u0440\u0430\u0432\u0438\u043b",
        ),
    ),
    (
        ("\u03b1\u03b3\u03bd\u03bf", "\u03be\u03b5\u03c7\u03ac"),
        ("\u03bf\u03b4\u03b7\u03b3", "\u03b5\u03bd\u03c4\u03bf\u03bb"),
    ),
    (
        (
            "\u0905\u0928\u0926\u0947\u0916",
            "\u0928\u091c\u093c\u0930\u0905\u0902\u0926\u093e\u091c\u093c",
            "\u0928\u091c\u0930\u0905\u0902\u0926\u093e\u091c",
            "\u092d\u0942\u0932",
        ),
        ("\u0928\u093f\u0930\u094d\u0926\u0947\u0936",),
    ),
    (("\ubb34\uc2dc",), ("\uc9c0\uc2dc", "\uba85\ub839", "\uc9c0\uce68")),
    (
        ("\u7121\u8996", "\u5fd8\u308c", "\u5ffd\u7565", "\u65e0\u89c6", "\u5ffd\u89c6", "\u5fd8\u8bb0"),
        (
            "\u6307\u793a",
            "\u547d\u4ee4",
            "\u6307\u4ee4",
            "\u8aac\u660e",
            "\u8bf4\u660e",
            "\u898f\u5247",
            "\u89c4\u5219",
        ),
    ),
    (
        ("\u062a\u062c\u0627\u0647\u0644", "\u0627\u0646\u0633"),
        (
            "\u0627\u0644\u062a\u0639\u0644\u064a\u0645\u0627\u062a",
            "\u0627\u0644\u0623\u0648\u0627\u0645\u0631",
            "\u062a\u0639\u0644\u064a\u0645\u0627\u062a",
        ),
    ),
)
# "Password" in European languages, and in Japanese, Chinese, Korean and Russian with words for "tell" or "what".
_PASSWORDS = "passwort|kennwort|contrase\u00f1a|mot de passe|senha|password"
_PASSWORDS_CJK = (
    "\u30d1\u30b9\u30ef\u30fc\u30c9|\u5bc6\u7801|\u5bc6\u78bc|\ube44\ubc00\ubc88\ud638|"
    "\u043f\u0430\u0440\u043e\u043b\u044c"
)
_TELL_CJK = (
    "\u4f55|\u6559\u3048|\u662f\u4ec0\u4e48|\u544a\u8bc9|\uc54c\ub824|\ubb50|\ubb34\uc5c7|\u0441\u043a\u0430\u0436\u0438|"
    "\u043a\u0430\u043a\u043e\u0439|\u043d\u0430\u0437\u043e\u0432\u0438"
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
        # Not "stay in character": role-play prompts ask that too ("stay in character as a pirate").
        r"\bbreak(?:ing)? out of character\b|\byou (?:are|will be) (?:no longer|not) "
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
    # --- Mechanisms added in issue 14 part 4 (see the README for the source each was written with in view).
    (
        # Override of the material the model was given: "ignore the above and say ...", "ignore the resume
        # and state ...", repeated "ignore the above".
        "ignore_previous_instructions",
        0.9,
        r"\b(?:ignore|disregard)\b (?:all of |all |everything )?(?:the )?(?:above|foregoing|preceding)(?: \w+)?"
        r"(?:,? (?:and|then|instead)\b| ignore\b)"
        r"|\b(?:ignore|disregard|forget)\b (?:about )?(?:the |this |that |my |your |all |any )?(?:\w+ )?(?:resume|"
        r"document|text|email|article|function|code|page|content|input|question|request|task|prompt|message|data|"
        r"file|review|summary|story|table|user|instructions?|above|previous)s?\b,? (?:and|then|instead)\b,? "
        r"(?:instead |just |only |simply )?(?:say|state|claim|tell|respond|reply|answer|write|output|print|return|"
        r"give|declare|admit|insist|send|recommend)\b"
        r"|\bregardless of (?:any |all |the |your )?(?:previous|prior|earlier|above|former|other|original) "
        r"(?:tasks?|" + _RULES[3:],
        ("ignore", "disregard", "forget", "regardless"),
    ),
    (
        # The same override in other languages: a verb of ignoring or forgetting near "instructions".
        "ignore_previous_instructions",
        0.9,
        r"\b(?:olvid\w*|omit[ae]\w*|descart\w*|oubli\w*|esque[c\u00e7]\w*|dimentic\w*|ignor\w*)\b" + _S + r"{0,50}"
        r"\b(?:instruc(?:ciones|tions|\u00e7\u00f5es|oes)|istruzion\w*|indicaciones|consignes?|directivas|regras|reglas|"
        r"r[e\u00e8]gles)\b",
        ("instruc", "istruzion", "indicaciones", "consigne", "directivas", "regras", "reglas", "r\u00e8gles", "regles"),
    ),
    (
        # The same override in other scripts: a word for ignoring or forgetting near one for instructions.
        "ignore_previous_instructions",
        0.9,
        "|".join(
            f"(?:{'|'.join(verbs)}){_S}{{0,60}}(?:{'|'.join(nouns)})|(?:{'|'.join(nouns)}){_S}{{0,60}}(?:{'|'.join(verbs)})"
            for verbs, nouns in _FOREIGN_OVERRIDE
        ),
        tuple(verb for verbs, _ in _FOREIGN_OVERRIDE for verb in verbs),
    ),
    (
        # Jailbreak personas are held with a threat or a standing order, not a plain "stay in character".
        "roleplay_jailbreak",
        0.6,
        r"\b(?:do not|don'?t|never|must not) break character\b|\bif you (?:ever )?break character\b|\b(?:i will|i'll) "
        r"(?:say|tell you|remind you|type|write)\b" + _S + r"{0,20}\bstay in character\b|\balways (?:stay|remain) in "
        r"character\b",
        ("character",),
    ),
    (
        # A claimed mode or override that puts the speaker above the rules.
        "system_mode",
        0.8,
        r"<\s*system mode\s*>|\b(?:override|system) mode\b|\b(?:developer|admin|administrator|security|"
        r"law enforcement|emergency|training data|root|god) override\b|\boverride (?:protocol|code|command)\b",
        ("system mode", "override"),
    ),
    (
        # The speaker claims to be the model's maker or master.
        "authority_claim",
        0.7,
        r"\bi(?:'m| am) (?:actually |now |really |in fact )?(?:your|the model'?s|this (?:ai|bot|model)'?s) "
        r"(?:lead |chief |senior )?(?:developer|creator|programmer|admin|administrator|owner|operator|maker|master|"
        r"trainer|designer|engineer)s?\b|\bi(?:'m| am) god\b|\bas an ai (?:developed|created|made|trained) by \w+, "
        r"i(?:'m| am)\b",
        ("i'm", "i am", "as an ai"),
    ),
    (
        # A request for a credential the model holds, in any determiner and with more verbs.
        "secret_request",
        0.8,
        r"(?<!not )(?<!never )(?<!n't )\b(?:confirm|provide|verify|send|reveal|give|share|tell|disclose|output|"
        r"print|spell|write|encode|translate|what(?:'s| is| are| was))\b" + _S + r"{0,30}\b(?:the|your|our|its|this)"
        r" (?:\w+ ){0,2}?(?:password|passphrase|passcode|secret key|secret word|secret code|api key|access code|"
        r"confidential string|pin code)s?\b(?! (?:policy|policies|manager|managers|requirements?|strength|reset|"
        r"field|generator|rules|length|hash|hashing|complexity|protection))",
        ("password", "passphrase", "passcode", "secret", "api key", "access code", "confidential string", "pin code"),
    ),
    (
        # "What is the password?" in other languages.
        "secret_request",
        0.6,
        r"\b(?:qual|quel|quelle|was ist|cu[a\u00e1]l|dime|dame|dites|gib|dammi|diga|me d[e\u00ea])\b" + _S + r"{0,25}"
        rf"\b(?:{_PASSWORDS})\b|\b(?:ihr|dein|tu|su|votre|ton|sua|la sua|seu) (?:{_PASSWORDS})\b"
        rf"|(?:{_PASSWORDS_CJK}){_S}{{0,30}}(?:{_TELL_CJK})|(?:{_TELL_CJK}){_S}{{0,30}}(?:{_PASSWORDS_CJK})",
        tuple(_PASSWORDS.split("|")) + tuple(_PASSWORDS_CJK.split("|")),
    ),
    (
        # A request for what the application holds about its user (exfiltration of the user's data).
        "exfiltration",
        0.5,
        r"\b(?:tell me|give me|share|reveal|disclose|print|list|confirm|send|what(?:'s| is| are| was)|where does|"
        r"where is)\b" + _S + r"{0,40}\b(?:the user|the users|the customer|another user|other users|the account "
        r"holder|all users)(?:'s?)? (?:\w+ )?(?:email|e-mail|address|phone|birth|city|location|password|balance|"
        r"credit card|social security|ssn|date of birth|initials|residence|contacts|personal|private|details|"
        r"favou?rite|full name|salary)",
        ("the user", "the customer", "other users", "another user", "account holder", "all users"),
    ),
    (
        # Sending conversation or user data to an outside address.
        "exfiltration",
        0.7,
        r"\b(?:send|forward|post|upload|email|e-mail|transmit|leak|exfiltrate|env[i\u00ed]a\w*)\b" + _S + r"{0,60}"
        r"\b(?:conversation|chat history|context|messages|the user'?s?|their|credentials|data|datos|contacts|"
        r"api keys?|tokens?|passwords?|history)\b" + _S + r"{0,40}(?:\bto|\ba|\bvia)\s+(?:\S+@\S+\.\w+|https?://)",
        ("@", "://"),
    ),
    (
        # Jailbreak personas: free of rules, ethics or filters, answering anything.
        "no_rules",
        0.8,
        r"\b(?:unfiltered|uncensored|amoral|unrestricted|unethical|immoral|unbound|unchained|unaligned|"
        r"unmoderated)\b (?:and \w+ )?(?:ai|chatbot|bot|assistant|model|language model|version|responses?|persona|"
        r"entity|gpt|llm|mode|answers?)\b"
        r"|\b(?:broken|broke|break|breaks|breaking|freed|free|liberated|escaped|released) "
        r"(?:itself |yourself |himself |herself |themselves )?(?:free )?(?:of|from) "
        r"(?:the |all |any |its |their |your |his |her )?(?:typical |usual |normal )?(?:confines|limitations|"
        r"restrictions|shackles|chains|programming|guidelines|constraints|filters)\b",
        (
            "unfiltered",
            "uncensored",
            "amoral",
            "unrestricted",
            "unethical",
            "immoral",
            "unbound",
            "unchained",
            "unaligned",
            "unmoderated",
            "confines",
            "limitations",
            "restrictions",
            "shackles",
            "chains",
            "programming",
            "guidelines",
            "constraints",
            "filters",
        ),
    ),
    (
        "no_rules",
        0.6,
        r"\b(?:doesn'?t|does not|don'?t|do not|never|won'?t|will not|not)\b (?:have|has|follow|care(?: about| for)?"
        r"|abide by|adhere to|bound by|obey)\b" + _S + r"{0,25}\b(?:ethic(?:s|al)|moral(?:s|ity)?|legality|"
        r"censorship)\b"
        r"|\b(?:no matter|regardless of) (?:how|what|whether|if)\b" + _S + r"{0,25}\b(?:immoral|unethical|illegal|"
        r"harmful|dangerous|offensive|inappropriate|explicit)\b|\beven if (?:it(?:'s| is)|the (?:request|question|"
        r"answer|content) is) (?:\w+ )?(?:immoral|unethical|illegal|harmful|offensive|inappropriate|explicit)\b"
        r"|\b(?:never|don'?t|do not|won'?t|will not)\b (?:ever )?(?:warn|remind|lecture|moralize|moralise)\b"
        r"|\bwithout (?:any )?(?:censorship|filtering|filters|warnings|disclaimers|moraliz\w+|moralis\w+)\b"
        r"|\bregardless of (?:any |the |its |their )?(?:ethic\w*|moral\w*|legal\w*)\b"
        r"|\b(?:is|are|be|being) (?:not|no longer|never) (?:bound|restricted|limited|constrained) by\b" + _S + r"{0,30}"
        r"\b(?:rules|polic(?:y|ies)|guidelines|restrictions|filters|ethics|morals|openai|anthropic)\b"
        r"|\byou are (?:now )?(?:under my control|free now|now free)\b",
        (
            "ethic",
            "moral",
            "legal",
            "censorship",
            "harmful",
            "dangerous",
            "offensive",
            "inappropriate",
            "explicit",
            "warn",
            "remind",
            "lecture",
            "disclaimer",
            "filter",
            "rules",
            "polic",
            "guidelines",
            "restrictions",
            "openai",
            "anthropic",
            "under my control",
            "free now",
            "now free",
        ),
    ),
    (
        # A named AI persona the model is told to become; harmless personas are named too ("you are an AI
        # assistant called Pip that helps gardeners"): a weak signal on its own.
        "roleplay_jailbreak",
        0.35,
        r"\b(?:simulate|emulate|pretend to be|act as|role-?play as|become|impersonate|take on the role of|"
        r"play the role of|you are now|you will be|you will now be)\b" + _S + r"{0,40}\b(?:ai|chatbot|bot|"
        r"language model|gpt|llm)\b" + _S + r"{0,20}\b(?:named|called|known as)\b",
        ("named", "called", "known as"),
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
