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

When two detectors claim overlapping text, the more specific one wins (the order of
`policy.PRIORITY`): a card number is not also a phone number, a JWT is not also a generic token.

The detectors live by family: `credentials` (keys, tokens, passwords), `identifiers` (cards, IBANs,
national IDs), `contact` (emails, phones) and `network` (IPs, host names); `policy` holds `Finding`,
`CLASSIFICATION_OF`, `classify` and the overlap priority. Callers use this package: `scan`, `classify`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from switchyard.services.classifier.sensitivity.contact import emails, phones
from switchyard.services.classifier.sensitivity.credentials import api_keys, assignments, jwts, private_keys, tokens
from switchyard.services.classifier.sensitivity.identifiers import cards, dnis, ibans, ninos, nirs, ssns
from switchyard.services.classifier.sensitivity.network import hostnames, ips
from switchyard.services.classifier.sensitivity.policy import (
    CLASSIFICATION_OF,
    RANK,
    Classification,
    Finding,
    classify,
)

Detector = Callable[[str], Iterator[Finding]]

_DETECTORS: tuple[Detector, ...] = (
    private_keys,
    api_keys,
    jwts,
    assignments,
    cards,
    ibans,
    ssns,
    ninos,
    dnis,
    nirs,
    emails,
    phones,
    ips,
    hostnames,
    tokens,
)


# The fewest digits a finding of each detector holds, in all and in one unbroken run, as its pattern or
# its validator demands (JWTs are looked for only in a text with a digit). A text with fewer cannot hold
# one, so that detector's pass over it is skipped: most prompts have few digits, and most detectors
# need long runs of them.
_DIGITS_NEEDED: dict[Detector, tuple[int, int]] = {
    private_keys: (0, 0),
    api_keys: (1, 1),
    jwts: (1, 1),
    assignments: (0, 0),
    cards: (13, 1),
    ibans: (2, 2),
    ssns: (9, 4),
    ninos: (6, 2),
    dnis: (7, 7),
    nirs: (14, 3),
    emails: (0, 0),
    phones: (8, 1),
    ips: (1, 1),
    hostnames: (0, 0),
    tokens: (3, 1),
}
_DIGIT_RUN = re.compile(r"\d+")


def scan(text: str) -> list[Finding]:
    """Returns the sensitive spans of text, sorted by start, without overlaps (on overlap the more
    specific type wins, see `policy.PRIORITY`)."""
    if not text:
        return []
    candidates: list[Finding] = []
    runs = [len(run) for run in _DIGIT_RUN.findall(text)]
    digits, longest = sum(runs), max(runs, default=0)
    for detect in _DETECTORS:
        least, run = _DIGITS_NEEDED[detect]
        if digits >= least and longest >= run:
            candidates.extend(detect(text))
    if len(candidates) <= 1:
        return candidates
    candidates.sort(key=lambda f: (RANK[f.type], f.start))
    kept: list[Finding] = []
    for finding in candidates:
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    kept.sort(key=lambda f: f.start)
    return kept


__all__ = ["CLASSIFICATION_OF", "Classification", "Detector", "Finding", "classify", "scan"]
