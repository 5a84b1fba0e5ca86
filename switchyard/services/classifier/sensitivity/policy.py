"""What a finding is and what it means: the classification each type maps to, and which type wins
when two detectors claim the same text."""

from __future__ import annotations

from collections.abc import Iterable
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
PRIORITY: tuple[str, ...] = (
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
RANK = {name: i for i, name in enumerate(PRIORITY)}


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
