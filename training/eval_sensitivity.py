"""Evaluates the sensitivity detector on a generated, labelled test set and times it.

python -m training.eval_sensitivity                 # ~2.5k cases, seed 7, per-type precision/recall
python -m training.eval_sensitivity --errors 5      # also print up to 5 misses and false alarms per type

The set is generated with a fixed seed: positives of every type embedded in prose, code, config,
JSON and log lines, plus hard negatives that look sensitive but are not (Luhn-invalid card-shaped
numbers, IBANs with a wrong check, order and tracking numbers, ISBNs, timestamps, version strings,
UUIDs, git SHAs, hashes, base64 images, public keys, "password" in prose, placeholder credentials,
reserved example.com addresses, key-like identifiers). Scoring is span-level: a finding is a true
positive when a labelled span of the same type overlaps it; precision is over findings, recall over
labelled spans.

Caveat: the generator and the detector were written together, so the figures measure the formats
the generator knows; real traffic will have formats neither anticipated.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from switchyard.services.classifier.sensitivity import CLASSIFICATION_OF, Finding, scan

Label = tuple[str, int, int]
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


@dataclass
class Case:
    """A generated text and its labelled sensitive spans (empty for a negative)."""

    text: str
    labels: list[Label] = field(default_factory=list)
    kind: str = ""


def embed(template: str, value: str, kind: str) -> Case:
    """Returns a case with value substituted for the single {} in template, labelled kind."""
    start = template.index("{}")
    return Case(template.replace("{}", value, 1), [(kind, start, start + len(value))], kind)


# --- value generators ----------------------------------------------------------------------------


def rand(rng: random.Random, alphabet: str, n: int) -> str:
    """Returns n characters drawn from alphabet."""
    return "".join(rng.choice(alphabet) for _ in range(n))


def digits(rng: random.Random, n: int) -> str:
    """Returns n random decimal digits."""
    return rand(rng, string.digits, n)


def luhn_complete(prefix_body: str) -> str:
    """Returns prefix_body with the Luhn check digit appended."""
    for check in string.digits:
        candidate = prefix_body + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


CARD_BRANDS = [("4", 16), ("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16)]
CARD_BRANDS += [("65", 16), ("3530", 16), ("36", 14), ("62", 16), ("4", 19)]


def card_digits(rng: random.Random, valid: bool = True) -> str:
    """Returns a card number of a known brand, Luhn-valid or (valid=False) Luhn-invalid."""
    prefix, n = rng.choice(CARD_BRANDS)
    number = luhn_complete(prefix + digits(rng, n - len(prefix) - 1))
    if not valid:
        number = number[:-1] + str((int(number[-1]) + rng.randint(1, 9)) % 10)
    return number


def format_card(rng: random.Random, number: str) -> str:
    """Returns number printed as people print cards: grouped by space or dash, or compact."""
    style = rng.random()
    if style < 0.3:
        return number
    sep = " " if style < 0.7 else "-"
    if len(number) == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


IBAN_FORMATS = {"DE": "8n10n", "GB": "4a14n", "FR": "10n11c2n", "ES": "20n", "NL": "4a10n", "IT": "1a10n12c"}
IBAN_FORMATS |= {"BE": "12n", "CH": "5n12c", "AT": "16n", "PL": "24n", "SE": "20n", "IE": "4a14n"}


def bban(rng: random.Random, spec: str) -> str:
    """Returns a random BBAN for a SWIFT-style spec such as 4a14n (a letters, n digits, c either)."""
    out, num = [], ""
    for ch in spec:
        if ch.isdigit():
            num += ch
            continue
        alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}[ch]
        out.append(rand(rng, alphabet, int(num)))
        num = ""
    return "".join(out)


def iban(rng: random.Random, valid: bool = True) -> str:
    """Returns an IBAN with correct (or deliberately wrong) mod-97 check digits, grouped or compact."""
    country = rng.choice(list(IBAN_FORMATS))
    body = bban(rng, IBAN_FORMATS[country])
    numeric = int("".join(str(int(c, 36)) for c in body + country + "00"))
    check = 98 - numeric % 97
    if not valid:
        check = (check + rng.randint(1, 90)) % 97 or 2
        if 98 - numeric % 97 == check:
            check = check % 96 + 2
    value = f"{country}{check:02d}{body}"
    if rng.random() < 0.6:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def ssn(rng: random.Random) -> str:
    """Returns a US SSN in a valid range, dashed."""
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"


def nino(rng: random.Random) -> str:
    """Returns a UK National Insurance number with an allowed prefix, spaced or compact."""
    while True:
        prefix = rng.choice(NINO_FIRST) + rng.choice(NINO_SECOND)
        if prefix not in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
            break
    d = digits(rng, 6)
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{prefix} {d[:2]} {d[2:4]} {d[4:]} {suffix}"
    return f"{prefix}{d}{suffix}"


def dni(rng: random.Random) -> str:
    """Returns a Spanish DNI (or NIE) with its check letter."""
    letters = "TRWAGMYFPDXBNJZSQVHLCKE"
    if rng.random() < 0.25:
        lead = rng.randrange(3)
        number = digits(rng, 7)
        return f"{'XYZ'[lead]}{number}{letters[int(str(lead) + number) % 23]}"
    number = f"{rng.randint(1, 99_999_999):08d}"
    return f"{number}{'-' if rng.random() < 0.2 else ''}{letters[int(number) % 23]}"


def nir(rng: random.Random) -> str:
    """Returns a French NIR with its mod-97 key, spaced as printed on the carte Vitale or compact."""
    sex = rng.choice("12")
    year = f"{rng.randint(0, 99):02d}"
    month = f"{rng.randint(1, 12):02d}"
    dept = rng.choice([f"{rng.randint(1, 95):02d}", "2A", "2B", "75", "69"])
    commune, order = f"{rng.randint(1, 999):03d}", f"{rng.randint(1, 999):03d}"
    body = sex + year + month + dept.replace("2A", "19").replace("2B", "18") + commune + order
    number = int(body) - (1_000_000 if dept == "2A" else 2_000_000 if dept == "2B" else 0)
    key = f"{97 - number % 97:02d}"
    if rng.random() < 0.5:
        return f"{sex} {year} {month} {dept} {commune} {order} {key}"
    return f"{sex}{year}{month}{dept}{commune}{order}{key}"


FIRST = ["john", "maria", "li", "fatima", "oliver", "sofia", "ahmed", "yuki", "lucas", "emma", "raj", "chloe"]
LAST = ["smith", "garcia", "wang", "khan", "mueller", "rossi", "tanaka", "dubois", "novak", "okafor", "patel"]
DOMAINS = ["gmail.com", "outlook.com", "acme-corp.de", "mail.uni-heidelberg.de", "company.co.uk", "proton.me"]
DOMAINS += ["startup.io", "bank.fr", "hospital.org", "yahoo.co.jp"]


def email(rng: random.Random) -> str:
    """Returns a realistic personal or work email address."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice([f"{first}.{last}", f"{first}_{last}", f"{first[0]}{last}{rng.randint(1, 99)}", first])
    if rng.random() < 0.1:
        local += "+news"
    return f"{local}@{rng.choice(DOMAINS)}"


def phone(rng: random.Random) -> str:
    """Returns a phone number in an international or national format."""
    area, exch, line = f"{rng.randint(2, 9)}{digits(rng, 2)}", f"{rng.randint(2, 9)}{digits(rng, 2)}", digits(rng, 4)
    d = digits(rng, 8)
    choices = [
        f"+1 {area} {exch} {line}",
        f"+1-{area}-{exch}-{line}",
        f"({area}) {exch}-{line}",
        f"{area}-{exch}-{line}",
        f"{area}.{exch}.{line}",
        f"1-800-{exch}-{line}",
        f"+44 20 {d[:4]} {d[4:]}",
        f"+44 7{d[:3]} {d[3:]}{rng.randint(0, 9)}",
        f"020 {d[:4]} {d[4:]}",
        f"07{d[:3]} {d[3:]}{rng.randint(0, 9)}",
        f"+49 30 {d}",
        f"030 {d}",
        f"0171/{d[:7]}",
        f"+33 6 {d[:2]} {d[2:4]} {d[4:6]} {d[6:]}",
        f"06 {d[:2]} {d[2:4]} {d[4:6]} {d[6:]}",
        f"+91 98{d[:3]} {d[3:]}",
        f"+{rng.choice(['34', '39', '31', '81', '61'])}{digits(rng, 9)}",
    ]
    return rng.choice(choices)


def ipv4(rng: random.Random) -> str:
    """Returns a private or public IPv4 address."""
    style = rng.random()
    if style < 0.3:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if style < 0.5:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    """Returns a full or compressed IPv6 address."""
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    style = rng.random()
    if style < 0.4:
        return ":".join(groups)
    if style < 0.7:
        return f"2001:db8:{groups[2]}::{groups[7]}"
    return f"fe80::{groups[4]}:{groups[5]}:{groups[6]}:{groups[7]}"


def hostname(rng: random.Random) -> str:
    """Returns an internal host name."""
    svc = rng.choice(["db", "redis", "jenkins", "vault", "ldap", "kafka-01", "api", "billing-db-2"])
    return rng.choice(
        [
            f"{svc}.prod.internal",
            f"{svc}.corp",
            f"{svc}.eu-west-1.compute.internal",
            f"{svc}.default.svc.cluster.local",
            f"{svc}.office.lan",
            f"{svc}.intranet",
        ]
    )


def mixed_token(rng: random.Random, n: int) -> str:
    """Returns a random alphanumeric token of length n with upper, lower and at least four digits."""
    while True:
        token = rand(rng, ALNUM, n)
        if sum(c.isdigit() for c in token) >= 4 and not token.isupper() and not token.islower():
            return token


def api_key(rng: random.Random) -> str:
    """Returns a key with a known vendor prefix."""
    choices = [
        "sk-" + mixed_token(rng, 48),
        "sk-proj-" + mixed_token(rng, 40) + "_" + mixed_token(rng, 40),
        "sk-ant-api03-" + mixed_token(rng, 86) + "-" + mixed_token(rng, 6) + "AA",
        "sk_live_" + mixed_token(rng, 24),
        "AKIA" + rand(rng, string.ascii_uppercase, 8) + digits(rng, 2) + rand(rng, string.ascii_uppercase + "2345", 6),
        "ghp_" + mixed_token(rng, 36),
        "gho_" + mixed_token(rng, 36),
        "github_pat_" + mixed_token(rng, 22) + "_" + mixed_token(rng, 59),
        "xoxb-" + digits(rng, 12) + "-" + digits(rng, 13) + "-" + mixed_token(rng, 24),
        "xoxp-" + digits(rng, 11) + "-" + digits(rng, 12) + "-" + mixed_token(rng, 32),
        "AIza" + mixed_token(rng, 35),
        "glpat-" + mixed_token(rng, 20),
    ]
    return rng.choice(choices)


def b64url(data: bytes) -> str:
    """Returns data base64url-encoded without padding."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(rng: random.Random) -> str:
    """Returns a JWT: JSON header and payload, random signature."""
    header = {"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    if rng.random() < 0.3:
        header["kid"] = mixed_token(rng, 12)
    payload = {"sub": digits(rng, 10), "name": rng.choice(FIRST), "iat": 1_700_000_000 + rng.randint(0, 10**7)}
    sig = rand(rng, B64URL, 43 if header["alg"] != "RS256" else 342)
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}.{sig}"


def private_key(rng: random.Random) -> str:
    """Returns a PEM private key block (sometimes truncated, as pasted prompts often are)."""
    label = rng.choice(
        ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]
    )
    lines = [rand(rng, B64, 64) for _ in range(rng.randint(3, 12))]
    body = "\n".join(["MII" + lines[0][3:], *lines[1:]])
    if rng.random() < 0.15:
        return f"-----BEGIN {label}-----\n{body}"
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


def password_value(rng: random.Random) -> str:
    """Returns a password someone would actually use."""
    words = ["hunter", "Summer", "dragon", "Welcome", "P@ssw0rd", "letmein", "Tr0ub4dor", "monkey", "Secret"]
    return rng.choice(
        [
            rng.choice(words) + str(rng.randint(1, 2024)) + rng.choice(["!", "", "#", "$"]),
            mixed_token(rng, rng.randint(10, 20)),
            rand(rng, ALNUM + "!#%^*", 14),
        ]
    )


# --- positive templates --------------------------------------------------------------------------

PROSE = [
    "Hi, can you help me write a reply? My details: {}. Thanks!",
    "Please update the record for the customer, {} is the right one.",
    "Summarise this ticket: user reported an issue and left {} as contact.",
    "From the CRM export:\n{}\nFormat it as a table.",
    "The form says {} but I think it's wrong, can you check?",
    "Translate to French: 'You can reach me at {} any time.'",
]
LOG = [
    "2024-03-11T09:12:44Z INFO request accepted client={} latency=12ms",
    '{"event": "login", "value": "{}", "ts": 1710148364}',
    "ERROR failed to process {} (retry 3/5)",
]


def pos_email(rng: random.Random) -> Case:
    """Returns a case with an email address in prose, headers, code or logs."""
    templates = [*PROSE, *LOG, "From: Anna <{}>\nSubject: invoice", "git commit --author='Dev <{}>'", "mailto:{}"]
    return embed(rng.choice(templates), email(rng), "email")


def pos_phone(rng: random.Random) -> Case:
    """Returns a case with a phone number in prose, signatures or records."""
    templates = [
        *PROSE,
        "Call me on {} after 6pm.",
        "Best regards,\nSam\nTel: {}",
        "phone_number,{},verified",
        "Mobile: {} | Office hours 9-17",
        "If urgent, ring {}.",
    ]
    return embed(rng.choice(templates), phone(rng), "phone")


def pos_card(rng: random.Random) -> Case:
    """Returns a case with a payment card number."""
    templates = [
        *PROSE,
        "Charge card {} exp 04/27 cvv 123",
        "card_number = '{}'",
        "My Visa ending in the full number {} was declined.",
        '{"pan": "{}", "amount": 49.99}',
    ]
    return embed(rng.choice(templates), format_card(rng, card_digits(rng)), "payment_card")


def pos_iban(rng: random.Random) -> Case:
    """Returns a case with an IBAN."""
    templates = [*PROSE, "Please wire the refund to IBAN {} (BIC DEUTDEFF).", "iban: {}", "Kontonummer/IBAN: {}"]
    return embed(rng.choice(templates), iban(rng), "iban")


def pos_national(rng: random.Random) -> Case:
    """Returns a case with a national identifier (SSN, NINO, DNI or NIR)."""
    kind = rng.choice(["us_ssn", "uk_nino", "es_dni", "fr_nir"])
    value = {"us_ssn": ssn, "uk_nino": nino, "es_dni": dni, "fr_nir": nir}[kind](rng)
    label = {"us_ssn": "SSN", "uk_nino": "NI number", "es_dni": "DNI", "fr_nir": "numéro de sécurité sociale"}[kind]
    templates = [
        *PROSE,
        f"Applicant {label}: {{}}",
        f"{label.lower()} = '{{}}'",
        f"Her {label} is {{}}, DOB 1985-03-02.",
    ]
    return embed(rng.choice(templates), value, kind)


def pos_ip(rng: random.Random) -> Case:
    """Returns a case with an IPv4 or IPv6 address."""
    value = ipv4(rng) if rng.random() < 0.7 else ipv6(rng)
    templates = [
        "ssh admin@{} fails with permission denied",
        "The server at {} is returning 502s.",
        "upstream: server {} weight=5",
        "Blocked request from {} (rate limit)",
        "host = '{}'",
        "nmap -sV {}",
    ]
    return embed(rng.choice(templates), value, "ip_address")


def pos_hostname(rng: random.Random) -> Case:
    """Returns a case with an internal host name."""
    templates = [
        "Connection refused to {}:5432",
        "DATABASE_HOST={}",
        "curl -v http://{}/healthz",
        "Why can't I resolve {} from my laptop?",
    ]
    return embed(rng.choice(templates), hostname(rng), "hostname")


def pos_api_key(rng: random.Random) -> Case:
    """Returns a case with a prefixed vendor key."""
    templates = [
        "OPENAI_API_KEY={}",
        'client = OpenAI(api_key="{}")',
        "Here is my key {} why does it say unauthorized?",
        "export GITHUB_TOKEN={}",
        "aws_access_key_id = {}",
        "headers = {'Authorization': 'Bearer {}'}",
    ]
    return embed(rng.choice(templates), api_key(rng), "api_key")


def pos_jwt(rng: random.Random) -> Case:
    """Returns a case with a JWT."""
    templates = [
        "Authorization: Bearer {}",
        "Decode this token for me: {}",
        "document.cookie = 'session={}'",
        '{"access_token": "{}", "expires_in": 3600}',
    ]
    return embed(rng.choice(templates), jwt(rng), "jwt")


def pos_secret(rng: random.Random) -> Case:
    """Returns a case with an unprefixed secret after a credential word."""
    value = mixed_token(rng, rng.choice([24, 32, 40, 64]))
    templates = [
        'client_secret = "{}"',
        "SECRET_KEY={}",
        "Authorization: Bearer {}",
        '"api_token": "{}",',
        "webhook signing secret: {}",
        "x-api-key: {}",
    ]
    return embed(rng.choice(templates), value, "secret")


def pos_private_key(rng: random.Random) -> Case:
    """Returns a case with a private key block."""
    templates = [
        "My deploy fails, here's the key I use:\n{}\nWhat's wrong?",
        'key = """{}"""',
        "{}",
        "ssh_private_key: |\n{}",
    ]
    return embed(rng.choice(templates), private_key(rng), "private_key")


def pos_password(rng: random.Random) -> Case:
    """Returns a case with a password in an assignment, config, URL or prose."""
    pw = password_value(rng)
    choice = rng.randrange(8)
    if choice == 0:
        return embed('password = "{}"', pw, "password")
    if choice == 1:
        return embed("DB_PASSWORD={}\nDB_USER=app", pw, "password")
    if choice == 2:
        return embed("database:\n  user: app\n  password: {}\n  port: 5432", pw, "password")
    if choice == 3:
        return embed("GET /login?user=bob&pwd={}&next=/home", pw.replace("#", "x").replace("%", "x"), "password")
    if choice == 4:
        value = pw.replace("#", "x").replace("/", "x").replace("@", "x")
        return embed("DATABASE_URL=postgres://app:{}@db.example.net:5432/prod", value, "password")
    if choice == 5:
        return embed("my password is {} please don't share it", pw, "password")
    if choice == 6:
        return embed('conn = connect(host="db", user="root", passwd="{}")', pw, "password")
    return embed('{"username": "admin", "password": "{}"}', pw, "password")


def dotted(number: str) -> str:
    """Returns number in groups of four joined by dots."""
    return ".".join(number[i : i + 4] for i in range(0, len(number), 4))


def pos_unusual(rng: random.Random) -> Case:
    """Returns a case in a format the detector was not tuned on (kept to measure what it misses)."""
    d = digits(rng, 8)
    choices: list[Callable[[], Case]] = [
        lambda: embed("Tel +44 (0)20 {} ok", f"{d[:4]} {d[4:]}", "phone"),
        lambda: embed("card {} thanks", dotted(card_digits(rng)), "payment_card"),
        lambda: embed("EMAIL: {}", email(rng).upper(), "email"),
        lambda: embed("mapped {} here", f"::ffff:{ipv4(rng)}", "ip_address"),
        lambda: embed("SSN {} on file", ssn(rng).replace("-", " "), "us_ssn"),
        lambda: embed("mysql -u root -p'{}' -h db", password_value(rng).replace("'", ""), "password"),
        lambda: embed('{"key": "{}"}', private_key(rng).replace("\n", "\\n"), "private_key"),
        lambda: embed("iban {} (lower case)", iban(rng).lower(), "iban"),
        lambda: embed("my pin and pass: {} ok", password_value(rng), "password"),
        lambda: embed(
            "text me on {}",
            f"{rng.randint(2, 9)}{digits(rng, 2)} {rng.randint(2, 9)}{digits(rng, 2)} {digits(rng, 4)}",
            "phone",
        ),
    ]
    return rng.choice(choices)()


POSITIVES: list[tuple[Callable[[random.Random], Case], int]] = [
    (pos_unusual, 150),
    (pos_email, 120),
    (pos_phone, 160),
    (pos_card, 140),
    (pos_iban, 120),
    (pos_national, 240),
    (pos_ip, 120),
    (pos_hostname, 60),
    (pos_api_key, 150),
    (pos_jwt, 70),
    (pos_secret, 80),
    (pos_private_key, 60),
    (pos_password, 140),
]


# --- hard negatives ------------------------------------------------------------------------------


def uuid(rng: random.Random) -> str:
    """Returns a random UUID string."""
    h = rand(rng, "0123456789abcdef", 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def negative(rng: random.Random) -> Case:
    """Returns a text that contains nothing sensitive but looks like it might."""
    hexs = "0123456789abcdef"
    order = digits(rng, rng.choice([8, 10, 12]))
    options: list[Callable[[], str]] = [
        lambda: f"Card number {format_card(rng, card_digits(rng, valid=False))} was rejected as invalid.",
        lambda: f"IBAN {iban(rng, valid=False)} looks mistyped.",
        lambda: f"Your order #{order} has shipped, tracking 1Z{rand(rng, ALNUM.upper(), 6)}{digits(rng, 10)}.",
        lambda: (
            f"USPS tracking: 9400 1{digits(rng, 3)} {digits(rng, 4)} {digits(rng, 4)} {digits(rng, 4)} {digits(rng, 2)}"
        ),
        lambda: f"Order number {order}, invoice INV-2024-{digits(rng, 5)}",
        lambda: rng.choice(["ISBN 978-3-16-148410-0", "ISBN 0-306-40615-2", "ISBN-13: 978-0-306-40615-7"]),
        lambda: f"Started at 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:30:00",
        lambda: f"ts=2024-01-15T10:{rng.randint(10, 59)}:00.123Z epoch_ms=17053{digits(rng, 8)}",
        lambda: f"Upgrade from 10.0.0.1.{rng.randint(2, 9)} to version 2.{rng.randint(0, 20)}.0.{rng.randint(1, 9)}",
        lambda: (
            f"Chrome/120.0.{rng.randint(1000, 9999)}.{rng.randint(10, 200)} on build 4.18.0.{rng.randint(100, 999)}"
        ),
        lambda: f"request_id={uuid(rng)} status=ok",
        lambda: f"commit {rand(rng, hexs, 40)} (HEAD -> main), parent {rand(rng, hexs, 7)}",
        lambda: f'assert hashlib.sha256(data).hexdigest() == "{rand(rng, hexs, 64)}"',
        lambda: f"md5sum: {rand(rng, hexs, 32)}  release.tar.gz",
        lambda: f'<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{rand(rng, B64, rng.randint(200, 600))}=">',
        lambda: f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{rand(rng, B64, 300)} user@laptop",
        lambda: f"-----BEGIN PUBLIC KEY-----\n{rand(rng, B64, 64)}\n{rand(rng, B64, 64)}\n-----END PUBLIC KEY-----",
        lambda: f"-----BEGIN CERTIFICATE-----\nMII{rand(rng, B64, 61)}\n-----END CERTIFICATE-----",
        lambda: rng.choice(
            [
                "Forgot your password? Click the reset link we emailed you.",
                "The password must be at least 12 characters and include a symbol.",
                "Reset your password: follow the link in the email.",
                "What makes a strong password policy for a small company?",
                "Password field is required.",
                "def check_password(password: str) -> bool:\n    return bcrypt.checkpw(password, stored_hash)",
                "if password == confirm_password:\n    save(user)",
                "password = getpass.getpass()",
                'password = os.environ["DB_PASSWORD"]',
                "password: ${DB_PASSWORD}",
                '{"password": "<your-password>"}',
                "login(username=username, password=password)",
                "password=None",
                "DB_PASSWORD=changeme_in_prod_please",
                "password = '********'",
                "The password is incorrect, try again.",
                "api_key = os.getenv('OPENAI_API_KEY')",
                "const githubToken = process.env.GITHUB_TOKEN;",
                "token = tokenizer.encode(text)",
                "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
                "from sklearn.linear_model import LogisticRegression  # pip install scikit-learn",
                "secret_key: str = Field(default=..., description='signing secret')",
                "key: value pairs are separated by commas",
                "the access token expires after 3600 seconds",
            ]
        ),
        lambda: (
            f"Contact {rng.choice(FIRST)}@example.com or "
            f"admin@{rng.choice(['example.org', 'site.test', 'corp.example'])}"
        ),
        lambda: rng.choice(["Use icon@2x.png for retina screens.", "git clone git@github.com:org/repo.git"]),
        lambda: rng.choice(
            [
                "getUserAccountSettingsForAdminPanel2 returns a dict",
                "class AbstractSingletonProxyFactoryBean2024 extends Base",
                "use the useInfiniteQueryWithPagination hook",
                "const MAX_RETRY_COUNT_FOR_UPSTREAM_REQUESTS = 5",
            ]
        ),
        lambda: f"Netmask 255.255.255.0, gateway default, listen on 0.0.0.0:{rng.randint(1024, 65535)}, ping 127.0.0.1",
        lambda: f"MAC 00:1a:2b:{rand(rng, hexs, 2)}:{rand(rng, hexs, 2)}:5e, std::vector<int> v; x = a[1::2]",
        lambda: f"Invoice {digits(rng, 9)} total ${rng.randint(1, 9999)},{digits(rng, 3)}.{digits(rng, 2)}",
        lambda: f"User id {rng.randint(10**17, 10**18)} joined the server",
        lambda: f"Room {rng.randint(100, 999)}, floor {rng.randint(1, 20)}, call extension {rng.randint(1000, 9999)}",
        lambda: f"DNI {digits(rng, 8)}{rng.choice('ABCD')} is not valid (wrong letter)",
        lambda: f"Temperature rose by 3.{digits(rng, 2)} degrees between 1990 and 2020 per IPCC AR6.",
        lambda: "Explain the difference between TCP and UDP with examples.",
        lambda: "Write a haiku about autumn leaves.",
        lambda: f"Compute {rng.randint(100, 999)} * {rng.randint(100, 999)} and show the steps.",
    ]
    text = rng.choice(options)()
    return Case(text, [], "negative")


def negative_is_clean(case: Case) -> bool:
    """Returns whether a generated negative really has nothing to find (a DNI with a random wrong
    letter can be right by chance, so can an 'invalid' card; those are dropped)."""
    from switchyard.services.classifier.sensitivity import identifiers as s

    if case.text.startswith("DNI "):
        number, letter = case.text[4:12], case.text[12]
        return bool(s._DNI_LETTERS[int(number) % 23] != letter)
    return True


def generate(seed: int, negatives: int) -> list[Case]:
    """Returns the labelled test set for seed: the positives of every type, then the negatives."""
    rng = random.Random(seed)
    cases = [make(rng) for make, count in POSITIVES for _ in range(count)]
    made = 0
    while made < negatives:
        case = negative(rng)
        if negative_is_clean(case):
            cases.append(case)
            made += 1
    return cases


# --- scoring -------------------------------------------------------------------------------------


@dataclass
class Counts:
    """Per-type counts: findings that hit a label, findings that did not, labels found and missed."""

    tp: int = 0
    fp: int = 0
    found: int = 0
    missed: int = 0


def overlaps(finding: Finding, label: Label) -> bool:
    """Returns whether finding has label's type and overlaps its span."""
    return finding.type == label[0] and finding.start < label[2] and label[1] < finding.end


def evaluate(cases: list[Case], show_errors: int) -> dict[str, Counts]:
    """Returns the per-type counts of the detector on cases, printing up to show_errors errors per type."""
    counts: dict[str, Counts] = defaultdict(Counts)
    shown: dict[str, int] = defaultdict(int)
    for case in cases:
        findings = scan(case.text)
        for f in findings:
            if any(overlaps(f, label) for label in case.labels):
                counts[f.type].tp += 1
            else:
                counts[f.type].fp += 1
                if shown[f.type] < show_errors:
                    shown[f.type] += 1
                    print(f"  FP {f.type}: {case.text[f.start : f.end]!r} in {case.text[:120]!r}")
        for label in case.labels:
            if any(overlaps(f, label) for f in findings):
                counts[label[0]].found += 1
            else:
                counts[label[0]].missed += 1
                if shown["miss " + label[0]] < show_errors:
                    shown["miss " + label[0]] += 1
                    got = [(f.type, case.text[f.start : f.end]) for f in findings]
                    print(f"  FN {label[0]}: {case.text[label[1] : label[2]]!r} in {case.text[:120]!r} got {got}")
    return counts


def ratio(a: int, b: int) -> float:
    """Returns a / b, or 1.0 when b is 0 (nothing to get wrong)."""
    return a / b if b else 1.0


def report(counts: dict[str, Counts]) -> None:
    """Prints precision, recall and F1 per type and overall (micro-averaged)."""
    print(f"{'type':<14}{'labels':>8}{'findings':>10}{'precision':>11}{'recall':>8}{'F1':>7}")
    total = Counts()
    for kind in [*CLASSIFICATION_OF, *(k for k in counts if k not in CLASSIFICATION_OF)]:
        c = counts.get(kind)
        if c is None:
            continue
        p, r = ratio(c.tp, c.tp + c.fp), ratio(c.found, c.found + c.missed)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{kind:<14}{c.found + c.missed:>8}{c.tp + c.fp:>10}{p:>11.3f}{r:>8.3f}{f1:>7.3f}")
        total.tp, total.fp, total.found, total.missed = (
            total.tp + c.tp,
            total.fp + c.fp,
            total.found + c.found,
            total.missed + c.missed,
        )
    p, r = ratio(total.tp, total.tp + total.fp), ratio(total.found, total.found + total.missed)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{'overall':<14}{total.found + total.missed:>8}{total.tp + total.fp:>10}{p:>11.3f}{r:>8.3f}{f1:>7.3f}")


def timing(seed: int) -> None:
    """Prints the mean scan time of a ~500-token prompt with a few findings and of one with none."""
    rng = random.Random(seed)
    prose = (
        "We are migrating the billing service to the new cluster next week. The plan covers the "
        "database cut-over, the cache warm-up and the rollback steps, and we need a summary for the "
        "stakeholders that explains the risks in plain language without the jargon. "
    )
    clean = (prose * 8)[:2000]
    dirty = (
        prose * 3
        + f"Contact {email(rng)} or {phone(rng)}. The replica runs on {ipv4(rng)} ({hostname(rng)}).\n"
        + f"config:\n  password: {password_value(rng)}\n  api_key: {api_key(rng)}\n"
        + "def handler(event):\n    return {'status': 200, 'body': json.dumps(event)}\n"
        + prose * 3
    )[:2000]
    for name, text in (("500-token prompt, no findings", clean), ("500-token prompt, 5-6 findings", dirty)):
        scan(text)
        reps = 2000
        start = time.perf_counter()
        for _ in range(reps):
            scan(text)
        elapsed = (time.perf_counter() - start) / reps
        print(f"{name} ({len(text)} chars): {elapsed * 1e6:.0f} us per scan, {len(scan(text))} findings")


def main() -> None:
    """Generates the set, evaluates, reports and times."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--negatives", type=int, default=1000)
    parser.add_argument("--errors", type=int, default=0, help="print up to this many errors per type")
    args = parser.parse_args()
    cases = generate(args.seed, args.negatives)
    positives = sum(1 for c in cases if c.labels)
    print(f"{len(cases)} cases: {positives} positive, {len(cases) - positives} hard negative (seed {args.seed})")
    counts = evaluate(cases, args.errors)
    report(counts)
    negatives = [c for c in cases if not c.labels]
    flagged = sum(1 for c in negatives if scan(c.text))
    print(f"hard negatives with any finding: {flagged}/{len(negatives)}")
    timing(args.seed)


if __name__ == "__main__":
    main()
