"""Sensitivity detection: exact spans, checksum validation, classification and hard negatives."""

from __future__ import annotations

import random
import re

import pytest

from switchyard.services.classifier import sensitivity
from switchyard.services.classifier.sensitivity import Finding, classify, network, scan


def found(text: str) -> list[tuple[str, str]]:
    """Returns (type, matched text) for every finding in text."""
    return [(f.type, text[f.start : f.end]) for f in scan(text)]


def test_luhn_valid_card_is_found_with_its_exact_span() -> None:
    text = "Please charge 4111 1111 1111 1111 for the order."
    start = text.index("4111")
    assert scan(text) == [Finding("payment_card", start, start + len("4111 1111 1111 1111"))]
    assert classify(scan(text)) == "restricted"


def test_luhn_invalid_sixteen_digits_are_not_a_card() -> None:
    assert found("Please charge 4111 1111 1111 1112 for the order.") == []
    assert found("reference 4111111111111112") == []


def test_iban_with_valid_check_digits_is_found_and_wrong_check_is_not() -> None:
    assert found("Wire it to DE89 3704 0044 0532 0130 00 today.") == [("iban", "DE89 3704 0044 0532 0130 00")]
    assert found("Wire it to DE88 3704 0044 0532 0130 00 today.") == []
    assert classify(scan("GB82WEST12345698765432")) == "confidential"


def test_aws_key_id_is_restricted() -> None:
    findings = scan("aws_access_key_id = AKIAIOSFODNN7EXAMPLE")
    assert [(f.type, f.start, f.end) for f in findings] == [("api_key", 20, 40)]
    assert classify(findings) == "restricted"


def test_pem_private_key_is_restricted() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq98s3XJ2v1\nq8w9ZK3bL0==\n-----END RSA PRIVATE KEY-----"
    text = f"Here is my key:\n{pem}\nWhy does ssh reject it?"
    findings = scan(text)
    assert [(f.type, text[f.start : f.end]) for f in findings] == [("private_key", pem)]
    assert classify(findings) == "restricted"


def test_public_key_is_not_a_private_key() -> None:
    assert (
        found("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----")
        == []
    )


def test_email_is_confidential_and_reserved_domains_are_not_flagged() -> None:
    text = "Send the invoice to maria.garcia@acme-corp.de please."
    assert found(text) == [("email", "maria.garcia@acme-corp.de")]
    assert classify(scan(text)) == "confidential"
    assert found("e.g. someone@example.com or git clone git@github.com:org/repo.git") == []


def test_plain_prompt_is_public() -> None:
    text = "Explain the difference between TCP and UDP, with an example of when to use each."
    assert scan(text) == []
    assert classify(scan(text)) == "public"


@pytest.mark.parametrize(
    "text",
    [
        "request_id=123e4567-e89b-12d3-a456-426614174000 status=ok",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (HEAD -> main)",
        "Upgrade from 10.0.0.1.2 to v1.2.3.4",
        "Started at 2024-01-15 10:30:00, ts=2024-01-15T10:30:00.123Z, epoch_ms=1705314600000",
        "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
        "Forgot your password? Click the reset link.",
        'password = os.environ["DB_PASSWORD"]',
        "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ],
)
def test_hard_negatives_are_not_flagged(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("call me on +44 20 7946 0958", "phone", "+44 20 7946 0958"),
        ("office: (415) 555-2671", "phone", "(415) 555-2671"),
        ("SSN 536-22-1234 on file", "us_ssn", "536-22-1234"),
        ("NI number AB 12 34 56 C", "uk_nino", "AB 12 34 56 C"),
        ("DNI 12345678Z", "es_dni", "12345678Z"),
        ("NIR 1 85 05 78 006 084 91", "fr_nir", "1 85 05 78 006 084 91"),
        ("the server at 10.2.3.4 is down", "ip_address", "10.2.3.4"),
        ("ping fe80::1ff:fe23:4567:890a", "ip_address", "fe80::1ff:fe23:4567:890a"),
        ("connect to db-01.prod.internal:5432", "hostname", "db-01.prod.internal"),
        ('password = "hunter2!"', "password", "hunter2!"),
        ("postgres://app:s3cr3t@db.host.net/prod", "password", "s3cr3t"),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "api_key", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    ],
)
def test_each_type_is_found_with_its_span(text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(text)


def test_jwt_needs_a_json_header() -> None:
    token = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
    assert found(f"Bearer {token}") == [("jwt", token)]
    assert found("eyJnotjsonatall123.eyJabc.def") == []


def test_ssn_invalid_ranges_are_excluded() -> None:
    assert found("ids 000-12-3456, 666-12-3456, 912-12-3456, 123-00-4567, 123-45-0000") == []


def test_ip_classifies_internal_and_most_sensitive_finding_wins() -> None:
    assert classify(scan("the replica is 192.168.1.20")) == "internal"
    assert classify(scan("the replica is 192.168.1.20, owner anna@acme.io, key AKIAIOSFODNN7EXAMPLE")) == "restricted"


def test_code_with_a_plus_before_a_group_is_scanned_without_error() -> None:
    # A phone candidate trimmed to a lone "+" once crashed the scan, and with it every Analyze call.
    assert scan("pages = (len(text) + 3) // 4") == []
    assert scan("(x + 3) // 4 and (y + 12) // 7") == []


def test_a_detector_skipped_for_too_few_digits_would_have_found_nothing() -> None:
    # scan() skips a detector when the text has fewer digits (in all, or in one run) than any finding
    # of it holds: on digit-heavy text of every shape, each skipped detector finds nothing anyway.
    rng = random.Random(7)
    alphabet = "0123456789" * 4 + " -./()+:@AXYZGBFRabc\nssn SSN phone IBAN card "
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 60)))
        runs = [len(run) for run in re.findall(r"\d+", text)]
        digits, longest = sum(runs), max(runs, default=0)
        for detect, (least, run) in sensitivity._DIGITS_NEEDED.items():
            if digits < least or longest < run:
                assert not list(detect(text)), (detect.__name__, text)


def test_the_ipv4_pattern_finds_what_three_digits_at_most_per_part_find() -> None:
    # The pattern spells its first digit on its own so that a search skips to digits: the same matches.
    rng = random.Random(3)
    plain = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
    for _ in range(20_000):
        text = "".join(rng.choice("0123456789....  a") for _ in range(rng.randint(5, 40)))
        assert [m.span() for m in network._IPV4.finditer(text)] == [m.span() for m in plain.finditer(text)], text
