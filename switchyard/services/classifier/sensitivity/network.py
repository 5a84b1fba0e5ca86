"""Detectors of network details that reveal the internal network: IP addresses and internal host names."""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterator

from switchyard.services.classifier.sensitivity.policy import Finding

# The first digit is spelled on its own (\d\d{0,2} is \d{1,3}): a pattern that starts with one character class
# is searched by skipping to that class's characters, instead of being tried at every position.
_IPV4 = re.compile(r"\d\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_VERSION_CONTEXT = re.compile(r"(?i)(?:\b(?:version|ver\.?|release|build)|\bv)\s*[:=]?\s*\Z")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:|\d{1,3}(?:\.\d{1,3}){3})(?![\w:.])")


def ips(text: str) -> Iterator[Finding]:
    """Yields the IPv4 and IPv6 addresses of text that name a host (not versions, loopback or netmasks)."""
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


def hostnames(text: str) -> Iterator[Finding]:
    """Yields the internal host names of text (*.internal, *.corp, *.lan, *.intranet, *.intra, *.local)."""
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
