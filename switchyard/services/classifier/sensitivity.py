"""Rule-based sensitivity detection: PII and secrets with their spans, and a data classification.

`scan(text)` returns the sensitive spans of a text as `Finding(type, start, end)` (character
offsets, end exclusive), sorted by start and never overlapping. A finding never carries the matched
value, so findings can be logged and sent to the router without leaking what they point at.

Every detector is a precompiled regular expression that proposes candidates in one pass, followed
by a validator that rejects what the shape alone cannot: Luhn and issuer prefixes for cards, mod-97
and country lengths for IBANs, check letters/keys for national IDs, octet ranges for IPv4,
`ipaddress` for IPv6, a JSON header for JWTs, entropy and character-mix guards for generic tokens.
Cheap substring checks skip detectors that cannot match (no "@" means no email), which keeps a
500-token prompt well under a millisecond.

Types found (the classification each maps to is in `CLASSIFICATION_OF`):
    private_key   PEM / PGP "BEGIN ... PRIVATE KEY" blocks (truncated blocks too)
    api_key       keys with a known prefix: sk-, sk-ant-, sk_live_, AKIA/ASIA, ghp_/gho_/ghu_/ghs_/ghr_,
                  github_pat_, glpat-, xoxb-/xoxp-/xoxa-/xoxr-/xoxs-, AIza, hf_
    jwt           three base64url segments whose first decodes to a JSON object with "alg" or "typ"
    password      the value of password assignments (password = "...", passwd:, pwd=), of
                  "my password is ..." in prose, and the password in URL userinfo (scheme://u:p@host)
    secret        the value of secret/token/api_key assignments, and high-entropy tokens after a
                  credential word (token, bearer, secret, key, ...)
    payment_card  13-19 digits, optional consistent separators, known IIN prefix and length, Luhn
    us_ssn        AAA-GG-SSSS (or bare 9 digits after "SSN"), excluding 000/666/9xx areas, 00 groups,
                  0000 serials and the known advertising numbers
    uk_nino       UK National Insurance number (two prefix letters minus the excluded ones, suffix A-D)
    es_dni        Spanish DNI and NIE with the mod-23 check letter
    fr_nir        French social security number (NIR) with the mod-97 key, Corsica 2A/2B included
    iban          country code, check digits valid under mod-97, and the country's length
    email         addresses, except RFC 2606/6761 reserved documentation domains (example.com,
                  *.example, *.test, *.invalid, *.localhost) and retina-image names like icon@2x.png
    phone         E.164 / 00-prefixed international numbers (8-15 digits) and national formats: NANP
                  (valid area and exchange) and trunk-0 numbers (UK, FR, DE, ...) with separators;
                  a bare digit run only right after a phone word
    ip_address    IPv4 with valid octets (not part of a longer dotted run such as 10.0.0.1.2, not a
                  version string, not 0.0.0.0/127.x/broadcast/netmask) and IPv6 (validated)
    hostname      internal host names: *.internal, *.corp, *.lan, *.intranet, *.intra, *.local
                  (the last only with two labels or more, so threading.local is not one)

When two detectors claim overlapping text, the more specific one wins (the order of `_PRIORITY`): a
card number is not also a phone number, a JWT is not also a generic token.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import itertools
import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

Classification = Literal["public", "internal", "confidential", "restricted"]

# Policy: anything that grants access or is regulated as high-risk on its own (credentials, keys,
# card data, government identifiers) is restricted and must stay on providers allowed for
# restricted data; direct personal contact and bank details are confidential; infrastructure
# details that reveal the internal network are internal; nothing found means public.
CLASSIFICATION_OF: dict[str, Classification] = {
    "private_key": "restricted",
    "api_key": "restricted",
    "jwt": "restricted",
    "password": "restricted",
    "secret": "restricted",
    "payment_card": "restricted",
    "us_ssn": "restricted",
    "uk_nino": "restricted",
    "es_dni": "restricted",
    "fr_nir": "restricted",
    "iban": "confidential",
    "email": "confidential",
    "phone": "confidential",
    "ip_address": "internal",
    "hostname": "internal",
}
_LEVELS: tuple[Classification, ...] = ("public", "internal", "confidential", "restricted")

# Overlap resolution: earlier types win.
_PRIORITY: tuple[str, ...] = (
    "private_key",
    "password",
    "api_key",
    "jwt",
    "payment_card",
    "iban",
    "us_ssn",
    "uk_nino",
    "es_dni",
    "fr_nir",
    "email",
    "phone",
    "ip_address",
    "hostname",
    "secret",
)
_RANK = {name: i for i, name in enumerate(_PRIORITY)}


@dataclass(frozen=True, slots=True)
class Finding:
    """A sensitive span of a text: its type and its character offsets [start, end)."""

    type: str
    start: int
    end: int


class _Typed(Protocol):
    @property
    def type(self) -> str: ...


def classify(findings: Iterable[_Typed]) -> Classification:
    """Returns the data classification of a text (or a whole request) from its findings (anything
    with a `type`, e.g. this module's or the domain's Finding): the most sensitive level any
    finding maps to, "public" when there are none. An unknown type counts as confidential, so a new
    detector cannot lower a classification by accident."""
    level = 0
    for finding in findings:
        level = max(level, _LEVELS.index(CLASSIFICATION_OF.get(finding.type, "confidential")))
        if level == len(_LEVELS) - 1:
            break
    return _LEVELS[level]


# --- helpers -------------------------------------------------------------------------------------


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_brand_ok(digits: str) -> bool:
    """Returns whether digits has a known issuer prefix and a length that issuer uses."""
    n = len(digits)
    p2, p3, p4, p6 = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # American Express
        return n == 15
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65:  # Discover
        return 16 <= n <= 19
    if 3528 <= p4 <= 3589:  # JCB
        return 16 <= n <= 19
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):  # Diners Club
        return 14 <= n <= 19
    if p2 == 62:  # UnionPay
        return 16 <= n <= 19
    if p2 in (50, 56, 57, 58) or p4 in (6304, 6759) or p6 in (676770, 676774):  # Maestro
        return 13 <= n <= 19
    return False


def _entropy(s: str) -> float:
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


# Country code and IBAN length (ISO 13616 registry).
_IBAN_TABLE = (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 "
    "EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 "
    "KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 "
    "PS29 PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20"
)
_IBAN_LENGTHS = {item[:2]: int(item[2:]) for item in _IBAN_TABLE.split()}


def _iban_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"

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


# --- detectors -----------------------------------------------------------------------------------

Detector = Callable[[str], Iterator[Finding]]

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,.-]*)"
)


def _private_keys(text: str) -> Iterator[Finding]:
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


def _api_keys(text: str) -> Iterator[Finding]:
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


def _jwts(text: str) -> Iterator[Finding]:
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


def _assignments(text: str) -> Iterator[Finding]:
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


# Patterns start with a character class and check what precedes with a lookbehind after it: a
# leading lookbehind stops `re` from skipping ahead to candidate characters, which is 2-3x slower.
_CARD = re.compile(r"\d(?<![\w.-]\d)(?<!\d[ -]\d)(?:[ -]?\d){12,18}(?![\w-]|[ -]\d)")


def _cards(text: str) -> Iterator[Finding]:
    for m in _CARD.finditer(text):
        raw = m[0]
        seps = {c for c in raw if not c.isdigit()}
        if len(seps) > 1:
            continue
        digits = raw.replace(" ", "").replace("-", "")
        if seps and len(raw.split(next(iter(seps)))) < 3:
            continue  # one separator: "20240115-1234567" is an id, cards print in groups
        if _card_brand_ok(digits) and _luhn_ok(digits):
            yield Finding("payment_card", m.start(), m.end())


_IBAN = re.compile(r"[A-Z](?<![A-Za-z0-9].)[A-Z]\d{2}(?: ?[A-Z0-9]){11,30}")


def _ibans(text: str) -> Iterator[Finding]:
    for m in _IBAN.finditer(text):
        length = _IBAN_LENGTHS.get(m[0][:2])
        if length is None:
            continue
        chars: list[str] = []
        i = m.start()
        while i < len(text) and len(chars) < length:
            ch = text[i]
            if ch.isalnum():
                chars.append(ch)
            elif ch != " " or not text[i + 1 : i + 2].isalnum():
                break
            i += 1
        if len(chars) != length or text[i : i + 1].isalnum():
            continue
        candidate = "".join(chars)
        if all(c.isdigit() or c.isupper() for c in candidate) and _iban_ok(candidate):
            yield Finding("iban", m.start(), i)


_SSN = re.compile(r"\d(?<![\w-]\d)\d\d([- ]?)(\d{2})\1(\d{4})(?![\w-])")
_SSN_CONTEXT = re.compile(r"(?i)(?:ssn|social security|soc\.? sec)[^\n]{0,25}\Z")


def _ssns(text: str) -> Iterator[Finding]:
    for m in _SSN.finditer(text):
        area, sep, group, serial = int(m[0][:3]), m[1], int(m[2]), int(m[3])
        if area in (0, 666) or area >= 900 or group == 0 or serial == 0:
            continue
        if m[0].replace("-", "").replace(" ", "") in ("078051120", "219099999", "123456789"):
            continue
        if not sep and not _SSN_CONTEXT.search(text, max(0, m.start() - 40), m.start()):
            continue  # nine bare digits are anything; only trust them after "SSN"
        yield Finding("us_ssn", m.start(), m.end())


_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z](?<!\w.)[A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_NINO_BAD_PREFIX = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def _ninos(text: str) -> Iterator[Finding]:
    for m in _NINO.finditer(text):
        if m[0][:2] not in _NINO_BAD_PREFIX:
            yield Finding("uk_nino", m.start(), m.end())


_DNI = re.compile(r"[XYZ\d](?<![\w-].)(?:(?<=[XYZ])-?\d{7}|(?<=\d)\d{7})-?[A-Z](?![\w-])")


def _dnis(text: str) -> Iterator[Finding]:
    for m in _DNI.finditer(text):
        value = m[0].replace("-", "")
        number = str("XYZ".index(value[0])) + value[1:-1] if value[0] in "XYZ" else value[:-1]
        if _DNI_LETTERS[int(number) % 23] == value[-1]:
            yield Finding("es_dni", m.start(), m.end())


_NIR = re.compile(
    r"([1278])(?<![\w-].) ?(\d{2}) ?(0[1-9]|1[0-2]|[2-9]\d) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})(?![\w-])"
)


def _nirs(text: str) -> Iterator[Finding]:
    for m in _NIR.finditer(text):
        dept = m[4]
        body = m[1] + m[2] + m[3] + dept.replace("2A", "19").replace("2B", "18") + m[5] + m[6]
        number = int(body) - (1_000_000 if dept == "2A" else 2_000_000 if dept == "2B" else 0)
        key = int(m[7])
        if 1 <= key <= 97 and key == 97 - number % 97:
            yield Finding("fr_nir", m.start(), m.end())


_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-]|\.[A-Za-z0-9])"
)
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})
_FILE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "pdf"})


def _emails(text: str) -> Iterator[Finding]:
    # Search only around each "@" (local parts are at most 64 characters), not the whole text.
    at, done = text.find("@"), 0
    while at != -1:
        window_end = min(len(text), at + 256)
        m = _EMAIL.search(text, max(done, at - 64), window_end)
        if m is None:
            at = text.find("@", at + 1)
            continue
        done = m.end()
        at = text.find("@", max(at + 1, done))
        if m.end() == window_end < len(text):
            continue  # a 190-character domain cut by the window: not an address worth guessing at
        domain, tld = m[1].lower(), m[2].lower()
        if tld in _RESERVED_TLDS or tld in _FILE_EXTENSIONS or domain.endswith(_RESERVED_DOMAINS):
            continue
        if text[m.end() : m.end() + 1] == ":" and text[m.end() + 1 : m.end() + 2] not in ("", " ", "\n"):
            continue  # git@github.com:org/repo.git is an SSH remote, not a mailbox
        yield Finding("email", m.start(), m.end())


_PHONE = re.compile(r"[+(\d](?<![\w+/.:@-].)[\d ()./-]{5,22}\d(?![\w/-]|\.\d)")
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text|ring|dial|contact)\b[^\n]{0,20}\Z"
)
_NANP = re.compile(r"1?[2-9]\d\d[2-9]\d{6}")


def _phones(text: str) -> Iterator[Finding]:
    for m in _PHONE.finditer(text):
        raw = m[0]
        before = text[max(0, m.start() - 12) : m.start()]
        previous = before.rsplit(None, 1)[-1] if before.endswith(" ") and before.strip() else ""
        if any(c.isdigit() for c in previous) or (len(previous) == 4 and previous.isupper()):
            continue  # the tail of a longer grouped code (an IBAN, a tracking number), not a phone
        # A greedy run can swallow a following number ("0958 2024"): retry without trailing groups.
        while raw:
            if _phone_ok(raw, text, m.start()):
                yield Finding("phone", m.start(), m.start() + len(raw))
                break
            cut = raw.rfind(" ")
            raw = raw[:cut].rstrip(" (") if cut > 0 else ""


def _phone_ok(raw: str, text: str, start: int) -> bool:
    digits = "".join(c for c in raw if c.isdigit())
    n = len(digits)
    if raw[0] in "+(" and not raw[1].isdigit():
        return False
    if raw.count("(") != raw.count(")") or not raw[-1].isdigit():
        return False
    groups = [g for g in re.split(r"[ ()./-]+", raw.lstrip("+")) if g]
    if raw.startswith("+"):
        return 8 <= n <= 15 and digits[0] != "0" and len(groups) <= 6
    if digits.startswith("00") and len(groups) > 1:
        return 10 <= n <= 17 and digits[2] != "0"
    lens = [len(g) for g in groups]
    if len(groups) == 1:
        # A bare digit run is a phone number only right after a phone word.
        if not _PHONE_CONTEXT.search(text, max(0, start - 30), start):
            return False
        return (n in (10, 11) and _NANP.fullmatch(digits) is not None) or (
            n in (10, 11) and digits[0] == "0" and digits[1] != "0"
        )
    separators = {c for c in raw if not c.isdigit() and c not in "()"}
    if len(separators) > 2:
        return False
    if _NANP.fullmatch(digits) and lens in ([3, 3, 4], [1, 3, 3, 4], [3, 7], [1, 3, 7]):
        return True
    return digits[0] == "0" and digits[1] != "0" and 10 <= n <= 12 and min(lens) >= 2 and len(groups) <= 5


_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_VERSION_CONTEXT = re.compile(r"(?i)(?:\b(?:version|ver\.?|release|build)|\bv)\s*[:=]?\s*\Z")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:|\d{1,3}(?:\.\d{1,3}){3})(?![\w:.])")


def _ips(text: str) -> Iterator[Finding]:
    if "." in text:
        for m in _IPV4.finditer(text):
            value = m[0]
            before, after = text[m.start() - 1 : m.start()], text[m.end() : m.end() + 2]
            if before.isalnum() or before in ("_", ".") or after[:1].isalnum() or after[:1] == "_":
                continue  # part of a longer token: v1.2.3.4, 1234.1.1.1
            if after[:1] == "." and after[1:].isdigit():
                continue  # a longer dotted run: 10.0.0.1.2 is a version, 1.3.6.1.4.1 an OID
            if any((len(o) > 1 and o[0] == "0") or int(o) > 255 for o in value.split(".")):
                continue
            if value == "0.0.0.0" or value.startswith(("127.", "255.")):
                continue  # loopback, unspecified, broadcast and netmasks name no host
            if _VERSION_CONTEXT.search(text, max(0, m.start() - 12), m.start()):
                continue
            yield Finding("ip_address", m.start(), m.end())
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            value = m[0]
            try:
                address = ipaddress.IPv6Address(value)
            except ValueError:
                continue
            if address.is_loopback or address.is_unspecified:
                continue
            groups = [g for g in value.split(":") if g]
            # "x[1::2]" is a slice: compressed addresses need a real first group or three groups.
            if "::" in value and len(groups[0] if groups else "") < 3 and len(groups) < 3:
                continue
            if not any(c.isdigit() for c in value):
                continue
            yield Finding("ip_address", m.start(), m.end())


# Found from the suffix backwards: a pattern that starts at the labels tries every word of the text.
_HOST_SUFFIX = re.compile(r"(?i)\.(?:internal|corp|lan|intranet|intra|local)(?![\w(-]|\.\w)")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_HOST_CHARS = frozenset(string.ascii_letters + string.digits + ".-")


def _hostnames(text: str) -> Iterator[Finding]:
    low = text.lower()
    if not any(suffix in low for suffix in (".internal", ".corp", ".lan", ".intra", ".local")):
        return
    for m in _HOST_SUFFIX.finditer(text):
        start = m.start()
        while start > 0 and text[start - 1] in _HOST_CHARS and m.start() - start < 253:
            start -= 1
        if start > 0 and text[start - 1] == "_":
            continue
        labels = text[start : m.start()].split(".")
        if not labels[0] or not all(_HOST_LABEL.fullmatch(label) for label in labels):
            continue
        if m[0].lower() == ".local" and len(labels) < 2:
            continue  # threading.local, self.local: attributes, not hosts
        yield Finding("hostname", start, m.end())


# A token only counts within 30 characters after a credential word on the same line, so the text
# is searched for those words and one anchored match looks for the token after each.
_TOKEN_CONTEXT = re.compile(r"token|bearer|secret|key|credential|auth|passw|pwd|signature")
_TOKEN_AFTER = re.compile(r"[^\n]{0,30}?(?<![\w+/=.-])(?P<token>[A-Za-z0-9_-]{24,256})(?![\w+/=.-])")


def _tokens(text: str) -> Iterator[Finding]:
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


_DETECTORS: tuple[Detector, ...] = (
    _private_keys,
    _api_keys,
    _jwts,
    _assignments,
    _cards,
    _ibans,
    _ssns,
    _ninos,
    _dnis,
    _nirs,
    _emails,
    _phones,
    _ips,
    _hostnames,
    _tokens,
)


_DIGIT = re.compile(r"\d")


def scan(text: str) -> list[Finding]:
    """Returns the sensitive spans of text, sorted by start, without overlaps (on overlap the more
    specific type wins, see `_PRIORITY`)."""
    if not text:
        return []
    candidates: list[Finding] = []
    has_digit = _DIGIT.search(text) is not None
    for detect in _DETECTORS:
        # Every detector but keys and emails needs a digit; most prompts have few.
        if not has_digit and detect not in (_private_keys, _assignments, _emails, _hostnames):
            continue
        candidates.extend(detect(text))
    if len(candidates) <= 1:
        return candidates
    candidates.sort(key=lambda f: (_RANK[f.type], f.start))
    kept: list[Finding] = []
    for finding in candidates:
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    kept.sort(key=lambda f: f.start)
    return kept
