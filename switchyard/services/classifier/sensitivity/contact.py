"""Detectors of personal contact data: email addresses and phone numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator

from switchyard.services.classifier.sensitivity.policy import Finding

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-]|\.[A-Za-z0-9])"
)
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})
_FILE_EXTENSIONS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tif", "tiff", "pdf"})


def emails(text: str) -> Iterator[Finding]:
    """Yields the email addresses of text, except reserved documentation domains and image names."""
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


# A character class first and the lookbehind after it, as in `identifiers`: `re` can then skip ahead.
_PHONE = re.compile(r"[+(\d](?<![\w+/.:@-].)[\d ()./-]{5,22}\d(?![\w/-]|\.\d)")
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|fax|whatsapp|sms|text|ring|dial|contact)\b[^\n]{0,20}\Z"
)
_NANP = re.compile(r"1?[2-9]\d\d[2-9]\d{6}")


def phones(text: str) -> Iterator[Finding]:
    """Yields the phone numbers of text: international, NANP and trunk-0 national formats."""
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
    if raw[0] in "+(" and not raw[1:2].isdigit():
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
