"""Detectors of secrets and credentials: private keys, API keys, JWTs, password and secret
assignments, and high-entropy tokens after a credential word."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterator

from switchyard.services.classifier.sensitivity.policy import Finding

_PLACEHOLDERS = frozenset(
    {
        "",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "undefined",
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "token",
        "your_password",
        "yourpassword",
        "your-password",
        "mypassword",
        "placeholder",
        "redacted",
        "required",
        "optional",
        "str",
        "string",
        "self",
        "env",
    }
)


def _placeholder(value: str) -> bool:
    """Returns whether an assigned value is a placeholder, a template, or a reference to something
    else rather than a literal credential."""
    v = value.strip()
    low = v.lower()
    if low in _PLACEHOLDERS or len(v) < 3:
        return True
    if set(v) <= set("*xX•.#-_?"):  # masked: ****, xxxx, ...
        return True
    if v[0] in "$<{[(" or "{{" in v or "${" in v or v.startswith(("%(", "%s")):
        return True
    return low.startswith(("os.", "process.env", "env.", "getenv", "settings.", "config.", "self.", "args."))


def _entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,.-]*)"
)


def private_keys(text: str) -> Iterator[Finding]:
    """Yields the PEM and PGP private key blocks of text, truncated blocks included."""
    if "PRIVATE KEY" not in text:
        return
    for m in _PRIVATE_KEY.finditer(text):
        yield Finding("private_key", m.start(), m.start() + len(m[0].rstrip()))


# Literal-led without a leading lookbehind (what precedes is checked in code) so `re` can skip ahead.
_API_KEY = re.compile(
    r"(?:"
    r"sk-ant-[A-Za-z0-9_-]{20,}"
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{36,}"
    r"|github_pat_[A-Za-z0-9_]{40,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[bpars]-[A-Za-z0-9-]{10,}"
    r"|AIza[A-Za-z0-9_-]{35}"
    r"|hf_[A-Za-z0-9]{30,}"
    r")(?![\w-])"
)


_API_KEY_MARKERS: tuple[str, ...] = (
    "sk-",
    "k_live_",
    "k_test_",
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",
    "gh",
    "github_pat_",
    "glpat-",
    "xox",
)
_API_KEY_MARKERS += ("AIza", "hf_")


def api_keys(text: str) -> Iterator[Finding]:
    """Yields the API keys of text that carry a known vendor prefix and look random."""
    if not any(marker in text for marker in _API_KEY_MARKERS):
        return
    for m in _API_KEY.finditer(text):
        value = m[0]
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_-"):
            continue  # inside a longer word: task-..., risk_live_...
        body = value.split("-", 1)[-1] if value.startswith(("sk-", "xox", "glpat")) else value
        # Real keys are random: "sk-this-is-not-a-key-but-a-slug" has no digit.
        if any(c.isdigit() for c in body) and any(c.isalpha() for c in body):
            yield Finding("api_key", m.start(), m.end())


_JWT = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")


def jwts(text: str) -> Iterator[Finding]:
    """Yields the JSON Web Tokens of text: base64url segments whose header decodes to JSON with alg or typ."""
    if "eyJ" not in text:
        return
    for m in _JWT.finditer(text):
        header = m[0].split(".", 1)[0]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except (ValueError, binascii.Error):
            continue
        if isinstance(decoded, dict) and ("alg" in decoded or "typ" in decoded):
            yield Finding("jwt", m.start(), m.end())


# Assignments are found from their key word: a literal-led pattern over the lower-cased text is
# several times faster than one case-insensitive pattern that also matches the key's prefix.
_ASSIGN_KEY = re.compile(
    r"(?:password|passwd|passphrase|pass|pwd|secret|api[_-]?key|apikey|access[_-]?key|auth[_-]?token"
    r"|access[_-]?token|refresh[_-]?token|token)(?:[_-]?key)?"
)
_ASSIGN_VALUE = re.compile(
    r"[\"']?[^\S\n]*(?P<op>:=|=>|=|:)[^\S\n]*"
    r"(?:(?P<q>[\"'`])(?P<quoted>[^\"'`\n]{1,200})(?P=q)|(?P<bare>[^\s\"'`,;&(){}\[\]]{1,200}))"
)
_PROSE_PW = re.compile(r"\b(?:password|passcode|passphrase|pwd)\s+(?:is|was)\s*:?\s*[\"'`]?(?P<value>[^\s\"'`]+)")
_URL_USERINFO = re.compile(r"://[^\s:/@]{1,64}:(?P<pw>[^\s/]{1,128})@[A-Za-z0-9.\[\]-]")


def assignments(text: str) -> Iterator[Finding]:
    """Yields the literal values of password and secret assignments, prose passwords and URL passwords."""
    low = text.lower()
    if not any(word in low for word in ("pass", "pwd", "secret", "key", "token", "://")):
        return
    # Lower-casing can change the length of a few characters (İ); offsets must stay the text's.
    keyed = low if len(low) == len(text) else text
    flags = 0 if keyed is low else re.IGNORECASE
    for k in re.finditer(_ASSIGN_KEY.pattern, keyed, flags) if flags else _ASSIGN_KEY.finditer(keyed):
        if k.start() and text[k.start() - 1].isalnum():
            continue  # bypass=, compass:, mypassword: not a credential key
        m = _ASSIGN_VALUE.match(text, k.end())
        if m is None:
            continue
        key = k[0].lower()
        kind = "password" if ("pass" in key or "pwd" in key) else "secret"
        if m["quoted"] is not None:
            value, start = m["quoted"], m.start("quoted")
            if " " in value.strip() and kind == "secret":
                continue  # prose in quotes: token = "see the docs"
        else:
            value, start = m["bare"], m.start("bare")
            if _bare_is_code_or_prose(text, m, value):
                continue
        if _placeholder(value) or value.lower() == key:
            continue
        if kind == "secret" and (len(value) < 8 or not any(c.isdigit() for c in value)):
            continue  # token: 5, key: value, api_key=my_key: identifiers, not secrets
        yield Finding(kind, start, start + len(value))
    if "pass" in low or "pwd" in low:
        for m in re.finditer(_PROSE_PW.pattern, keyed, flags) if flags else _PROSE_PW.finditer(keyed):
            value = text[m.start("value") : m.end("value")].rstrip(".,;:!?)")
            # "the password is incorrect": a literal password has a digit or a symbol in it.
            if len(value) >= 6 and not value.isalpha() and not _placeholder(value):
                yield Finding("password", m.start("value"), m.start("value") + len(value))
    if "://" in text:
        for m in _URL_USERINFO.finditer(text):
            if m.start() and text[m.start() - 1].isalnum() and not _placeholder(m["pw"]):
                yield Finding("password", m.start("pw"), m.end("pw"))


def _bare_is_code_or_prose(text: str, m: re.Match[str], value: str) -> bool:
    """Returns whether an unquoted assigned value is a reference (a variable, an attribute, a call)
    or the first word of a sentence ("reset your password: click below") rather than a literal."""
    end = m.end("bare")
    following = text[end : end + 1]
    if following in ("(", "["):
        return True
    if m["op"] == ":":
        rest = text[end : text.find("\n", end) if "\n" in text[end:] else len(text)]
        if rest.strip():  # more words on the line: a sentence, not "password: s3cret"
            return True
    if m["op"] in ("=", ":=", "=>") and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+", value):
        return True
    # A code assignment whose value is a plain identifier with an underscore: password = user_password.
    return bool(re.fullmatch(r"[a-z_]+_[a-z_]+", value))


# A token only counts within 30 characters after a credential word on the same line, so the text
# is searched for those words and one anchored match looks for the token after each.
_TOKEN_CONTEXT = re.compile(r"token|bearer|secret|key|credential|auth|passw|pwd|signature")
_TOKEN_AFTER = re.compile(r"[^\n]{0,30}?(?<![\w+/=.-])(?P<token>[A-Za-z0-9_-]{24,256})(?![\w+/=.-])")


def tokens(text: str) -> Iterator[Finding]:
    """Yields the random-looking tokens that follow a credential word on the same line."""
    low = text.lower()
    if len(low) != len(text):
        low = text  # offsets must stay the text's; mixed-case context words are then missed
    done = 0
    for k in _TOKEN_CONTEXT.finditer(low):
        if k.end() < done:
            continue
        m = _TOKEN_AFTER.match(text, k.end())
        if m is None:
            continue
        done = m.end()
        if _random_looking(m["token"]):
            yield Finding("secret", m.start("token"), m.end("token"))


def _random_looking(value: str) -> bool:
    """Returns whether value looks machine-generated: mixed case with digits scattered through it
    and high entropy. Hex digests (git SHAs, hashes, UUIDs) have no upper case and fail; so do
    identifiers (getUserAccountSettings2) whose digits do not alternate with letters."""
    digits = sum(c.isdigit() for c in value)
    if digits < 3 or not any(c.isupper() for c in value) or not any(c.islower() for c in value):
        return False
    switches = sum(a.isdigit() != b.isdigit() for a, b in itertools.pairwise(value))
    return switches >= 4 and _entropy(value) >= 3.8
