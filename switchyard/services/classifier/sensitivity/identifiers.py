"""Detectors of government and financial identifiers, each validated by its checksum: payment cards
(issuer prefix and length, Luhn), IBANs (country length, mod-97), US SSNs, UK NINOs, Spanish DNI/NIE
and French NIR numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator

from switchyard.services.classifier.sensitivity.policy import Finding


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


# Patterns start with a character class and check what precedes with a lookbehind after it: a
# leading lookbehind stops `re` from skipping ahead to candidate characters, which is 2-3x slower.
_CARD = re.compile(r"\d(?<![\w.-]\d)(?<!\d[ -]\d)(?:[ -]?\d){12,18}(?![\w-]|[ -]\d)")


def cards(text: str) -> Iterator[Finding]:
    """Yields the payment card numbers of text: a known issuer prefix and length, and a valid Luhn digit."""
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


def ibans(text: str) -> Iterator[Finding]:
    """Yields the IBANs of text: the country's length and valid mod-97 check digits."""
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


def ssns(text: str) -> Iterator[Finding]:
    """Yields the US social security numbers of text (bare nine digits only after an SSN word)."""
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


def ninos(text: str) -> Iterator[Finding]:
    """Yields the UK National Insurance numbers of text."""
    for m in _NINO.finditer(text):
        if m[0][:2] not in _NINO_BAD_PREFIX:
            yield Finding("uk_nino", m.start(), m.end())


_DNI = re.compile(r"[XYZ\d](?<![\w-].)(?:(?<=[XYZ])-?\d{7}|(?<=\d)\d{7})-?[A-Z](?![\w-])")


def dnis(text: str) -> Iterator[Finding]:
    """Yields the Spanish DNI and NIE numbers of text whose mod-23 check letter is right."""
    for m in _DNI.finditer(text):
        value = m[0].replace("-", "")
        number = str("XYZ".index(value[0])) + value[1:-1] if value[0] in "XYZ" else value[:-1]
        if _DNI_LETTERS[int(number) % 23] == value[-1]:
            yield Finding("es_dni", m.start(), m.end())


_NIR = re.compile(
    r"([1278])(?<![\w-].) ?(\d{2}) ?(0[1-9]|1[0-2]|[2-9]\d) ?(\d{2}|2[AB]) ?(\d{3}) ?(\d{3}) ?(\d{2})(?![\w-])"
)


def nirs(text: str) -> Iterator[Finding]:
    """Yields the French social security numbers (NIR) of text whose mod-97 key is right."""
    for m in _NIR.finditer(text):
        dept = m[4]
        body = m[1] + m[2] + m[3] + dept.replace("2A", "19").replace("2B", "18") + m[5] + m[6]
        number = int(body) - (1_000_000 if dept == "2A" else 2_000_000 if dept == "2B" else 0)
        key = int(m[7])
        if 1 <= key <= 97 and key == 97 - number % 97:
            yield Finding("fr_nir", m.start(), m.end())
